# Event only: a TLS client's request head waits for it without a thread,
# as a plain one's does (docs/architecture.md, "TLS request heads"): the
# decrypted bytes are read ahead of httpd through mod_ssl until the head
# is whole. On a child of 10 threads:
#  - $N TLS clients finish their handshake, send half a request head and
#    then one header line every second; TLS clients that come meanwhile
#    are served at once, mod_status shows the $N heads waiting, and no
#    thread is held (BusyWorkers);
#  - with `RequestReadTimeout header=3` they are closed after 3 s, each
#    with a LOOM1204 line, and none gets a response, as a plain head
#    waiting without a thread is closed;
#  - a TLS keep-alive connection that served a request and then sends its
#    next head slowly holds no thread either, and gets its answer.
# Stock event reads TLS heads on a thread: printed, not asserted.
use v5.36;
use Test::More;
use IO::Select;
use IO::Socket::SSL;
use File::Temp qw(tempdir);
use Time::HiRes qw(time sleep);
use Loom::Server;
use Loom::TLS qw(self_signed https_conf tls_modules);
use Loom::Hostile qw(ensure_nofile);
use Loom::HTTP qw(read_response);
use Loom::Slow qw(event_kind figures);

my $kind = event_kind();
my $N = 300;
my $STAGE = 3;

plan skip_all => "needs $N + 200 descriptors"
    if ensure_nofile($N + 200) < $N + 200;

my $dir = tempdir('loom-tlsslow-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
my ($cert, $key) = self_signed($dir);
my $tls_port = Loom::Server::free_port();
my $s = Loom::Server->new(modules => [tls_modules(), 'reqtimeout', 'status'],
    conf => <<"CONF" . https_conf(port => $tls_port, cert => $cert, key => $key));
StartServers 1
ServerLimit 1
ThreadLimit 10
ThreadsPerChild 10
MaxRequestWorkers 10
MinSpareThreads 1
MaxSpareThreads 10
Timeout 20
KeepAliveTimeout 30
LogLevel info
RequestReadTimeout header=$STAGE body=10
CONF
$s->start;

plan tests => 7;

sub tls_connect () {
    return IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $tls_port,
        Timeout => 5, SSL_verify_mode => SSL_VERIFY_PEER, SSL_ca_file => $cert,
        SSL_verifycn_name => 'localhost', SSL_verifycn_scheme => 'http',
        SSL_alpn_protocols => ['http/1.1']);
}

sub tls_get () {
    my $c = tls_connect() or return 0;
    print $c "GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    my $r = read_response($c, 3);
    return $r && $r->{status} == 200;
}

# The slow crowd: each has finished its handshake and sent half a head.
my $t0 = time;
my @slow = grep { defined } map { tls_connect() } 1 .. $N;
print $_ "GET /index.html HTTP/1.1\r\nHost: localhost\r\n" for @slow;
my $opened = time - $t0;

my ($ok, $worst) = (0, 0);
for (1 .. 10) {
    my $t = time;
    $ok++ if tls_get();
    $worst = time - $t if time - $t > $worst;
    print $_ "X-Slow: 1\r\n" for @slow;         # one line a second, or so
}
my $st = $s->status_auto // {};
figures($kind, sprintf "%d slow TLS heads (opened in %.1f s): %d of 10 TLS "
        . "requests served meanwhile, the slowest in %.3f s; BusyWorkers %s, "
        . "LoomConnsHeadWait %s", scalar @slow, $opened, $ok, $worst,
        $st->{BusyWorkers} // '?', $st->{LoomConnsHeadWait} // '-');
SKIP: {
    skip 'stock event reads TLS heads on a thread', 3 if $kind eq 'stock';
    is scalar @slow, $N, "$N TLS clients finished their handshake";
    ok $ok == 10 && $worst < 1, "TLS clients are served meanwhile ($ok of 10, "
       . sprintf('the slowest in %.3f s)', $worst);
    ok(($st->{BusyWorkers} // 99) <= 1 && ($st->{LoomConnsHeadWait} // 0) >= $N * 0.9,
       'no thread holds the slow heads; mod_status shows them waiting ('
       . "BusyWorkers $st->{BusyWorkers}, LoomConnsHeadWait "
       . ($st->{LoomConnsHeadWait} // '-') . ')');
}

# Their end: the header stage.
my (%end, %answered);
my $sel = IO::Select->new(@slow);
while ($sel->count && time - $t0 < $STAGE + 15) {
    for my $c ($sel->can_read(0.2)) {
        my $n = sysread $c, my $buf, 4096;
        $answered{$c} = 1 if $n;
        next if $n;
        $end{$c} = time - $t0;
        $sel->remove($c);
    }
}
my @ends = sort { $a <=> $b } values %end;
figures($kind, sprintf "%d of %d closed, between %.2f and %.2f s after the "
        . "first connected; %d got a response", scalar @ends, scalar @slow,
        $ends[0] // -1, $ends[-1] // -1, scalar keys %answered);
SKIP: {
    skip 'stock event: printed only', 2 if $kind eq 'stock';
    ok @ends == @slow && !%answered && $ends[0] >= $STAGE - 0.2
       && $ends[-1] < $STAGE + $opened + 3,
       "all closed without a response at the header stage ($STAGE s)";
    my $said = 0;
    $s->wait_until(sub { $said = () = $s->errlog =~ /LOOM1204: request head/g;
                         $said >= @slow }, 10);
    is $said, scalar @slow, 'each with a LOOM1204 line';
}
close $_ for @slow;

# Keep-alive: a request, then the next head slowly.
my $c = tls_connect();
print $c "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n";
my $first = read_response($c, 3);
print $c "GET /index.html HTTP/1.1\r\n";
sleep 1;
my $busy = ($s->status_auto // {})->{BusyWorkers};
print $c "Host: localhost\r\n\r\n";
my $second = read_response($c, 3);
SKIP: {
    skip 'stock event: printed only', 1 if $kind eq 'stock';
    ok $first && $first->{status} == 200 && $second && $second->{status} == 200
       && ($busy // 99) <= 1,
       "a TLS keep-alive connection's slow next head holds no thread "
       . "(BusyWorkers $busy while it waited) and is answered";
}
ok !$s->crashes, 'no child crashed';
