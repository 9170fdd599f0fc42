# mod_ssl on the MPM under test (every MPM): a self-signed certificate made
# by the test, several requests on one kept-alive TLS connection, a 2 MB
# body read back whole over TLS, a 1 MB POST through CGI, TLS connections
# held open side by side, and TLS still served after a graceful restart.
# The TLS handshake runs on the connection's thread inside the first read
# of the process_connection hooks (mpm-contract.md 5.8).
use strict;
use warnings;
use Test::More;
use IO::Socket::SSL;
use Digest::MD5 qw(md5_hex);
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::TLS qw(self_signed https_conf tls_modules);
use Loom::HTTP qw(read_response);

my $threaded = Loom::Server::threaded();
my $cgi = $threaded ? 'cgid' : 'cgi';
my $sizing = $threaded
    ? "StartServers 2\nThreadsPerChild 8\nMinSpareThreads 4\nMaxSpareThreads 16\n"
    : "StartServers 4\nMinSpareServers 2\nMaxSpareServers 12\n";

plan tests => 21;

my $tls_port = Loom::Server::free_port();
my $tlsdir = tempdir('loom-tls-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tlsdir;
my ($cert, $key) = self_signed($tlsdir);
my $s = Loom::Server->new(modules => [tls_modules(), $cgi, 'status'],
    conf => $sizing . "KeepAlive On\nMaxKeepAliveRequests 100\n"
          . "KeepAliveTimeout 10\nTimeout 20\n"
          . https_conf(port => $tls_port, cert => $cert, key => $key));

# 2 MB that is not all one byte, so that a misplaced chunk shows.
my $big = join '', map { pack('N', $_ * 2654435761 % 4294967296) } 1 .. 512 * 1024;
$s->write_doc('big.bin', $big);
$s->write_doc('echo.cgi', <<'CGI');
#!/usr/bin/perl
binmode STDIN;
my $body = '';
my $want = $ENV{CONTENT_LENGTH} // 0;
while (length($body) < $want) {
    my $n = read(STDIN, $body, $want - length($body), length($body));
    last unless $n;
}
print "Content-Type: text/plain\r\n\r\n";
print "method=$ENV{REQUEST_METHOD}\n";
print "https=", ($ENV{HTTPS} // ''), "\n";
print "length=", length($body), "\n";
print "sum=", unpack('%32C*', $body), "\n";
CGI
$s->start;

sub tls_connect {
    return IO::Socket::SSL->new(
        PeerAddr => '127.0.0.1', PeerPort => $tls_port, Timeout => 10,
        SSL_verify_mode => SSL_VERIFY_PEER, SSL_ca_file => $cert,
        SSL_verifycn_name => 'localhost', SSL_verifycn_scheme => 'http',
        SSL_alpn_protocols => ['http/1.1']);
}

sub get_req { "GET $_[0] HTTP/1.1\r\nHost: localhost\r\n\r\n" }

# 1. Several requests on one TLS connection.
my $c = tls_connect();
ok $c, 'TLS handshake with the generated certificate'
    or diag "SSL error: $SSL_ERROR\n" . $s->errlog;
is eval { $c->peer_certificate('cn') }, 'localhost', 'the server presents our certificate';
my $served = 0;
for my $i (1 .. 5) {
    print $c get_req("/index.html?$i");
    my $r = read_response($c);
    $served++ if $r && $r->{status} == 200 && $r->{body} eq "hello\n"
                 && ($r->{headers}{connection} // '') !~ /close/i;
}
is $served, 5, 'five requests on one kept-alive TLS connection';

# 2. A large body over the same connection.
my $t0 = time;
print $c get_req('/big.bin');
my $r = read_response($c, 30);
is $r && $r->{status}, 200, 'large body: 200';
is length($r ? $r->{body} : ''), length($big), 'large body: every byte arrived';
is md5_hex($r ? $r->{body} : ''), md5_hex($big), 'large body: the bytes are right';
note sprintf 'large body in %.2f s', time - $t0;

# 3. A POST with a 1 MB body through CGI, still on the same connection.
my $post = join '', map { chr(($_ * 7) % 256) } 0 .. 1024 * 1024 - 1;
print $c "POST /echo.cgi HTTP/1.1\r\nHost: localhost\r\n"
       . "Content-Type: application/octet-stream\r\n"
       . "Content-Length: " . length($post) . "\r\n\r\n";
{
    # Write in pieces, as a client does, while the server reads.
    my $off = 0;
    while ($off < length $post) {
        my $n = syswrite($c, $post, 16384, $off);
        last unless defined $n && $n > 0;
        $off += $n;
    }
}
$r = read_response($c, 30);
is $r && $r->{status}, 200, 'POST over TLS: 200';
like $r ? $r->{body} : '', qr/^method=POST$/m, 'POST over TLS: the CGI saw a POST';
like $r ? $r->{body} : '', qr/^https=on$/m, 'POST over TLS: HTTPS=on for the CGI';
like $r ? $r->{body} : '', qr/^length=1048576$/m, 'POST over TLS: the whole body arrived';
my $sum = unpack('%32C*', $post);
like $r ? $r->{body} : '', qr/^sum=$sum$/m, 'POST over TLS: the body is intact';

# The connection is still usable after all that.
print $c get_req('/index.html');
$r = read_response($c);
ok $r && $r->{status} == 200, 'the same TLS connection still answers';
close $c;

# 4. Several TLS connections open side by side, each kept alive over two
#    requests (with a threaded MPM each holds a thread meanwhile).
my @conns = grep { defined } map { tls_connect() } 1 .. 6;
is scalar(@conns), 6, 'six TLS connections at once';
my $ok = 0;
for my $round (1 .. 2) {
    print $_ get_req("/index.html?r$round") for @conns;
    for (@conns) {
        my $x = read_response($_);
        $ok++ if $x && $x->{status} == 200;
    }
}
is $ok, 12, 'each answered twice on its own connection';
close $_ for @conns;

# 5. A TLS request still works across a graceful restart; plain HTTP too.
my $gen = ($s->status_auto // {})->{ParentServerMPMGeneration} // -1;
$s->signal('graceful');
ok $s->wait_until(sub {
        (($s->status_auto // {})->{ParentServerMPMGeneration} // -1) == $gen + 1
    }, 10), 'graceful restart: a new generation';
my $after = 0;
for (1 .. 3) {
    my $x = tls_connect() or next;
    print $x get_req('/index.html');
    my $y = read_response($x);
    $after++ if $y && $y->{status} == 200;
}
is $after, 3, 'graceful restart: TLS connections answered by the new generation';

# 6. Plain HTTP to the TLS port gets mod_ssl's 400, not a hang or a crash.
{
    my $p = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $tls_port,
                                  Timeout => 5);
    print $p "GET / HTTP/1.0\r\n\r\n" if $p;
    my $got = '';
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 10;
        while ($p && sysread($p, my $b, 4096)) { $got .= $b }
        alarm 0;
    };
    alarm 0;
    like $got, qr{^HTTP/1\.\d 400}, 'plain HTTP on the https port: 400';
}

# 7. An abandoned handshake does not stall the server: a client that opens
#    a TCP connection to the TLS port and says nothing, then a real one.
{
    my @mute = map { IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                           PeerPort => $tls_port) } 1 .. 3;
    my $t = time;
    my $x = tls_connect();
    print $x get_req('/index.html') if $x;
    my $y = $x ? read_response($x) : undef;
    ok $y && $y->{status} == 200, 'served while three clients sit mute in the handshake';
    ok time - $t < 5, sprintf('promptly (%.2f s)', time - $t);
    close $_ for grep { defined } @mute;
}

is_deeply [$s->crashes], [],
    'no child crashed';
ok $s->alive, 'the server is still up';
$s->stop;
