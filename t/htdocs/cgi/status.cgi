#!/bin/sh
# A CGI that sets its own status.
printf 'Status: 418 Teapot\r\nContent-Type: text/plain\r\n\r\nteapot\n'
