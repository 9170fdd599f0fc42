#!/usr/bin/perl
# Echoes the request body's length and checksum, and a few CGI variables.
use strict;
my $body = '';
read(STDIN, $body, $ENV{CONTENT_LENGTH} // 0);
my $sum = unpack('%32C*', $body);
print "Content-Type: text/plain\r\n\r\n";
print "method=$ENV{REQUEST_METHOD}\n";
print "length=", length($body), "\n";
print "sum=$sum\n";
print "query=", ($ENV{QUERY_STRING} // ''), "\n";
print "gateway=$ENV{GATEWAY_INTERFACE}\n";
