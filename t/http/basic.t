# GET, HEAD, POST with a body, a large static file, keep-alive and
# pipelining against the shared Apache::Test server and the MPM under test.
use strict;
use warnings;
use Apache::Test;
use Apache::TestRequest qw(GET HEAD POST);
use Apache::TestUtil qw(t_write_file);
use Digest::MD5 qw(md5_hex);
use IO::Socket::INET;
use Loom::HTTP qw(read_response);

plan tests => 14;

my $docroot = Apache::Test::vars('documentroot');
my ($host, $port) = split /:/, Apache::TestRequest::hostport();
$host = '127.0.0.1';

my $r = GET '/index.html';
ok $r->code == 200;
ok $r->content eq "hello\n";

$r = HEAD '/index.html';
ok $r->code == 200;
ok $r->content eq '' && $r->header('Content-Length') == 6;

my $body = join '', map { chr(($_ * 7) % 256) } 1 .. 100_000;
$r = POST '/cgi/echo.cgi', content => $body;
ok $r->code == 200;
my $sum = unpack('%32C*', $body);
ok $r->content =~ /^length=100000$/m && $r->content =~ /^sum=$sum$/m;

# A large static file, byte for byte.
my $big = join '', map { pack('N', $_ * 2654435761 % 4294967296) } 1 .. 1_048_576;
t_write_file("$docroot/big.bin", $big);
$r = GET '/big.bin';
ok $r->code == 200;
ok md5_hex($r->content) eq md5_hex($big);

# Keep-alive: three requests, one after the other, on one connection.
t_write_file("$docroot/p$_.txt", "page $_\n") for 1 .. 5;
my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => 10)
    or die "connect: $!";
my @got;
for my $i (1 .. 3) {
    print $s "GET /p$i.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";
    push @got, body_of($s);
}
ok @got == 3 && !grep { !defined } @got;
ok join('', map { $_ // '' } @got) eq "page 1\npage 2\npage 3\n";

# Pipelining: five requests written at once, five answers in order.
print $s join '', map { "GET /p$_.txt HTTP/1.1\r\nHost: localhost\r\n\r\n" } 1 .. 5;
@got = map { body_of($s) } 1 .. 5;
ok 5 == grep { defined } @got;
ok join('', map { $_ // '' } @got) eq join('', map { "page $_\n" } 1 .. 5);

# The last of a pipelined batch may ask to close; the server then does.
print $s "GET /p1.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
ok((body_of($s) // '') eq "page 1\n");
my $eof = sysread($s, my $rest, 1);
ok defined $eof && $eof == 0;

# Reads one response; returns its body if it is a 200 with a
# Content-Length, or undef.
sub body_of {
    my $r = read_response($_[0]) or return undef;
    return $r->{status} == 200 && defined $r->{headers}{'content-length'}
        ? $r->{body} : undef;
}
