#!/bin/sh
# Answers after the number of seconds given as the query string (default 2).
s=${QUERY_STRING:-2}
sleep "$s"
printf 'Content-Type: text/plain\r\n\r\nslept %s\n' "$s"
