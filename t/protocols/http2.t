# mod_http2 on the MPM under test. mod_http2 decides by the MPM module's
# name (mpm-contract.md 5.10): with a threaded MPM it must serve h2 over
# TLS (ALPN) and h2c (prior knowledge and the HTTP/1.1 Upgrade), many
# streams at once on one connection, run those streams on its own threads
# (the MPM's scoreboard shows the connection, not its streams), and carry
# large bodies both ways. With prefork it must stay off as with stock
# prefork: a warning at startup, ALPN and Upgrade stay HTTP/1.1.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Digest::MD5 qw(md5_hex);
use Time::HiRes qw(sleep time);
use POSIX ();
use Loom::Server;
use Loom::TLS qw(self_signed https_conf tls_modules);
use Loom::Slow qw(run_cmd);   # a command with a hard time limit

my $mpm = $ENV{LOOM_MPM} // 'prefork';
my $threaded = Loom::Server::threaded();
my $cgi = $threaded ? 'cgid' : 'cgi';
my $sizing = $threaded
    ? "StartServers 2\nThreadsPerChild 8\nMinSpareThreads 4\n"
      . "MaxSpareThreads 16\nServerLimit 4\nMaxRequestWorkers 32\n"
    : "StartServers 2\nMinSpareServers 2\nMaxSpareServers 6\n";

# (http version, status) as curl reports them, body saved to $file.
sub curl {
    my ($file, @args) = @_;
    my (undef, $out) = run_cmd(30, 'curl', '-s', '-k', '--max-time', '25',
        '-o', $file // '/dev/null', '-w', '%{http_version} %{http_code}',
        @args);
    return split ' ', $out;
}

my $tls_port = Loom::Server::free_port();
my $tlsdir = tempdir('loom-h2-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tlsdir;
my ($cert, $key) = self_signed($tlsdir);
my $s = Loom::Server->new(
    modules => [tls_modules(), 'http2', $cgi, 'status'],
    conf => $sizing . "ExtendedStatus On\nTimeout 20\n"
          . "Protocols h2c http/1.1\n"
          . https_conf(port => $tls_port, cert => $cert, key => $key,
                       extra => "    Protocols h2 http/1.1"));
$s->write_doc('sleep.cgi', "#!/bin/sh\nsleep \${QUERY_STRING:-2}\n"
              . "printf 'Content-Type: text/plain\\r\\n\\r\\nslept\\n'\n");
$s->write_doc('echo.cgi', <<'CGI');
#!/usr/bin/perl
binmode STDIN;
my ($body, $want) = ('', $ENV{CONTENT_LENGTH} // 0);
while (length($body) < $want) {
    read(STDIN, $body, $want - length($body), length($body)) or last;
}
print "Content-Type: text/plain\r\n\r\n";
print "protocol=$ENV{SERVER_PROTOCOL}\nlength=", length($body), "\n";
print "sum=", unpack('%32C*', $body), "\n";
CGI
my $big = join '', map { pack('N', $_ * 2654435761 % 4294967296) } 1 .. 512 * 1024;
$s->write_doc('big.bin', $big);
$s->start;
my $https = "https://127.0.0.1:$tls_port";
my $http = 'http://127.0.0.1:' . $s->port;

if (!$threaded) {
    # prefork: mod_http2 warns and leaves ALPN and Upgrade on HTTP/1.1.
    plan tests => 6;
    like $s->errlog, qr/AH10034: The mpm module \(prefork\.c\) is not supported by mod_http2/,
        'mod_http2 warns at startup that it is inactive with prefork';
    my ($v, $code) = curl(undef, '--http2', "$https/index.html");
    is "$v $code", '1.1 200', 'TLS: ALPN offers h2 but HTTP/1.1 is chosen';
    ($v, $code) = curl(undef, '--http2', "$http/index.html");
    is "$v $code", '1.1 200', 'h2c Upgrade is not performed: answered in HTTP/1.1';
    my (undef, $out) = run_cmd(20, 'nghttp', '-v', '-u', "$http/index.html");
    unlike $out, qr/101 Switching Protocols/, 'nghttp -u: no 101 Switching Protocols';
    # Stock prefork still answers a client that starts with the HTTP/2
    # preface (mod_http2's direct mode does not look at the MPM); the
    # same must happen here.
    ($v, $code) = curl(undef, '--http2-prior-knowledge', "$http/index.html");
    is "$v $code", '2 200', 'prior-knowledge h2c: answered as stock prefork does';
    is_deeply [$s->crashes], [], 'no child crashed';
    $s->stop;
    exit 0;
}

plan tests => 22;

# 1. h2 over TLS: 200 requests, 4 connections, 10 streams each at a time.
my ($rc, $out) = run_cmd(60, 'h2load', '-n', '200', '-c', '4', '-m', '10',
                         "$https/index.html");
like $out, qr/^Application protocol: h2$/m, 'TLS: ALPN chose h2';
like $out, qr/requests: 200 total, 200 started, 200 done, 200 succeeded, 0 failed/,
    'TLS h2: 200 requests succeeded' or diag $out;
like $out, qr/status codes: 200 2xx/, 'TLS h2: all 200';

# 2. h2c with prior knowledge on the plain port.
($rc, $out) = run_cmd(60, 'h2load', '-n', '200', '-c', '4', '-m', '10',
                      "$http/index.html");
like $out, qr/^Application protocol: h2c$/m, 'prior knowledge: h2c';
like $out, qr/requests: 200 total, 200 started, 200 done, 200 succeeded, 0 failed/,
    'h2c: 200 requests succeeded' or diag $out;
like $out, qr/status codes: 200 2xx/, 'h2c: all 200';

# 3. h2c through the HTTP/1.1 Upgrade.
($rc, $out) = run_cmd(20, 'nghttp', '-v', '-u', "$http/index.html");
like $out, qr/HTTP\/1\.1 101 Switching Protocols/, 'Upgrade: h2c gets 101';
like $out, qr/HTTP Upgrade success/, 'nghttp: upgrade succeeded';
like $out, qr/recv \(stream_id=1\) :status: 200/, 'the upgraded request is answered on stream 1';
my ($v, $code) = curl(undef, '--http2', "$http/index.html");
is "$v $code", '2 200', 'curl --http2 on plain HTTP ends in HTTP/2';

# 4. Six slow CGI streams on one connection run side by side on mod_http2's
#    threads; the MPM sees one connection, not six busy workers.
my $t0 = time;
my $pid = open(my $slow, '-|') // die "fork: $!";
if ($pid == 0) {
    { exec 'timeout', '-k', '2', '40', 'h2load', '-n', '6', '-c', '1', '-m', '6',
         "$https/sleep.cgi?2" }
    POSIX::_exit(127);
}
my $busy_seen = 99;
for (1 .. 30) {                      # up to 1.5 s in
    sleep 0.05;
    next if time - $t0 < 0.8;
    my $a = $s->status_auto or next;
    $busy_seen = $a->{BusyWorkers};
    last;
}
$out = do { local $/; <$slow> } // '';
close $slow;
my $took = time - $t0;
like $out, qr/requests: 6 total, 6 started, 6 done, 6 succeeded/,
    'six slow streams on one connection all succeeded' or diag $out;
like $out, qr/^Application protocol: h2$/m, 'and that connection was h2';
ok $took < 7, sprintf('they ran side by side (%.1f s for 6 x 2 s)', $took);
ok $busy_seen <= 2,
    "streams do not take MPM workers (BusyWorkers $busy_seen while 6 ran)";

# 5. Large bodies over h2 both ways.
my $file = "$tlsdir/big.out";
($v, $code) = curl($file, '--http2', "$https/big.bin");
is "$v $code", '2 200', 'a 2 MB body over h2: 200';
my $got = do { open my $fh, '<:raw', $file; local $/; <$fh> } // '';
is md5_hex($got), md5_hex($big), 'the 2 MB arrived intact';
my $post = join '', map { chr(($_ * 7) % 256) } 0 .. 1024 * 1024 - 1;
open my $pf, '>:raw', "$tlsdir/post.bin" or die $!;
print $pf $post;
close $pf;
($v, $code) = curl($file, '--http2', '--data-binary', "\@$tlsdir/post.bin",
                   '-H', 'Content-Type: application/octet-stream',
                   "$https/echo.cgi");
$got = do { open my $fh, '<', $file; local $/; <$fh> } // '';
is "$v $code", '2 200', 'a 1 MB POST over h2 through CGI: 200';
like $got, qr/^length=1048576$/m, 'the CGI read all of it';
my $sum = unpack('%32C*', $post);
like $got, qr/^sum=$sum$/m, 'intact';
like $got, qr{^protocol=HTTP/2\.0$}m, 'the CGI saw HTTP/2.0';

# 6. mod_status answers over h2 too.
($v, $code) = curl($file, '--http2', "$https/server-status?auto");
$got = do { open my $fh, '<', $file; local $/; <$fh> } // '';
my (undef, undef, $name) = Loom::Server::mpm_module($mpm);
ok "$v $code" eq '2 200' && $got =~ /^ServerMPM: \Q$name\E$/m,
    'server-status over h2 names the MPM';

is_deeply [$s->crashes], [], 'no child crashed';
$s->stop;
