# loom_prefork with LoomParkConnections On: a connection waits in its
# child's poller between requests, so idle, slow and trickling clients hold
# no process. One server of 2 processes (MaxRequestWorkers 4), then:
#  - 5,000 idle keep-alive connections (each served once): all held (a
#    second request on every one of them is answered), mod_status counts
#    them (ConnsAsyncKeepAlive, and per process in its table, which shows
#    each child), only the status request is busy, and 20 new clients in a
#    row are each served within 1 s while they are held;
#  - a graceful restart with 200 idle keep-alive clients: the old children
#    hand them to the new ones and leave, and every client's next request
#    is answered on its connection (stock closes them);
#  - 1,000 clients trickling their request heads (LoomWaitForHead): counted
#    in LoomConnsHeadWait, new clients served within 1 s meanwhile, and
#    every trickled request answered once its head is whole;
#  - a client that reads nothing of an 8 MB response: its connection waits
#    in write completion (ConnsAsyncWriting), no process is busy with it,
#    and new clients are served (EnableSendfile On, as t/event/slow_reader.t:
#    without it httpd's core maps the file into memory and writes it
#    blocking, under any MPM);
# then, on an HTTPS port: 300 clients stalled inside their ClientHello are
# counted in LoomConnsHandshake while 10 HTTPS requests in a row are each
# served within 1 s, and 100 TLS clients whose handshake is done and whose
# request head trickles are all answered once it is whole;
# then MaxConnectionsPerChild 20 under keep-alive load (wrk, 8 connections,
# and one new connection per request beside it): the first children retire
# and no request fails (their keep-alive clients are handed over); then
# LoomConnectionsPerProcess 40 on a server that starts 1 process: 100
# idle connections are all served, no child holds more than 40, so the
# server grew to hold them; and with LoomParkConnections Off two idle
# keep-alive clients hold both processes of a 2-process server (a third is
# not served within 1 s: the classic model, for the admin who asks for it).
# Bad values of the two directives fail `apache2 -t` naming the directive
# and its range.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::HTTP qw(get_raw read_response);
use Loom::Slow qw(connect_many get_all status_counts wait_counts fmt_counts conns_by_pid);
use Loom::Hostile qw(ensure_nofile good_clients);
use Loom::Proc qw(tcp_conns);
use Loom::Fault qw(running_kids);
use Loom::Wrk qw(wrk_start wrk_stop);
use Loom::Load qw(request_loop);
use Loom::TLS qw(self_signed https_conf tls_modules client_hello);
use File::Temp qw(tempdir);
use IO::Socket::SSL;

my $mpm = Loom::Server::mpm_or_skip('wrk');
plan skip_all => "LOOM_MPM=$mpm: LoomParkConnections is loom_prefork's"
    unless $mpm eq 'prefork';
$SIG{PIPE} = 'IGNORE';

my $N = 5000;
my $nofile = ensure_nofile($N + 300);
BAIL_OUT("descriptor limit $nofile: this test needs " . ($N + 300))
    if $nofile < $N + 300;

plan tests => 26;

my $sizing = "StartServers 2\nMinSpareServers 1\nMaxSpareServers 2\n"
           . "ServerLimit 4\nMaxRequestWorkers 4\n";
my $s = Loom::Server->new(modules => ['status'], conf => $sizing . <<'CONF')->start;
LoomParkConnections On
ExtendedStatus On
KeepAlive On
KeepAliveTimeout 60
MaxKeepAliveRequests 0
Timeout 60
EnableSendfile On
CONF
$s->wait_until(sub { running_kids($s) == 2 }, 10);
open my $fh, '>', $s->dir . '/htdocs/big.bin' or die $!;
print $fh 'x' x (8 << 20);
close $fh;

# -- 5,000 idle keep-alive connections ------------------------------------
my @idle = connect_many($s->port, $N);
my $t0 = time;
my $ok1 = grep { ($_ // 0) == 200 } get_all(\@idle, timeout => 30);
note sprintf 'first request answered on %d of %d in %.1f s', $ok1, $N, time - $t0;
is $ok1, $N, "first request: 200 on all $N connections (2 processes)";

my ($held, $counted) = wait_counts($s, sub { $_[0]{ConnsAsyncKeepAlive} >= $N }, 10);
note 'held: ' . fmt_counts($held);
ok $counted, "mod_status counts all $N in keep-alive";
is $held && $held->{BusyWorkers}, 1, 'no process is busy with them: only the status request';
my $by = conns_by_pid($s);
my $sum = 0;
$sum += $_ for values %$by;
note 'per process: ' . join(' ', map { "$_:$by->{$_}" } sort keys %$by);
ok keys(%$by) >= 2 && $sum >= $N,
   "mod_status's table of processes shows each child's connections ($sum in all)";

my $good = good_clients($s->port, 20, timeout => 5);
note sprintf 'new clients while held: %d served, slowest %.3f s', $good->{ok}, $good->{max_s};
ok $good->{ok} == 20 && $good->{max_s} < 1,
   sprintf '20 new clients each served within 1 s while they are held (slowest %.3f s)',
   $good->{max_s};

$t0 = time;
my $ok2 = grep { ($_ // 0) == 200 } get_all(\@idle, timeout => 30);
note sprintf 'second request answered on %d of %d in %.1f s', $ok2, $N, time - $t0;
is $ok2, $N, "second request after idling: 200 on all $N (none was dropped)";
close $_ for @idle;
@idle = ();
ok scalar(wait_counts($s, sub { $_[0]{ConnsTotal} <= 1 }, 10)),
   'once they close, the counts go back to the status request alone';

# -- a graceful restart hands idle keep-alive clients over ------------------
{
    my @ka = connect_many($s->port, 200);
    my $ok = grep { ($_ // 0) == 200 } get_all(\@ka, timeout => 10);
    my @old = running_kids($s);
    my $gen = ($s->status_auto(3) // {})->{ParentServerMPMGeneration} // -1;
    $s->signal('graceful');
    my $gone = $s->wait_until(sub {
        ((($s->status_auto(2) // {})->{ParentServerMPMGeneration}) // -1) > $gen
            && !grep { Loom::Proc::running($_) } @old }, 15);
    my $again = grep { ($_ // 0) == 200 } get_all(\@ka, timeout => 10);
    note "restart: $ok answered before; old children gone: " . ($gone ? 'yes' : 'no')
         . "; $again answered after";
    ok $ok == 200 && $gone && $again == 200,
       "a graceful restart hands 200 idle keep-alive clients to the new children: "
       . "the old ones left and all 200 are answered again on their connection ($again)";
    close $_ for @ka;
}

# -- 1,000 trickled heads ---------------------------------------------------
my $M = 1000;
my @slow = connect_many($s->port, $M);
syswrite $_, "GET / HTTP/1.1\r\nHost: localhost\r\n" for @slow;
my $heads_ok = $s->wait_until(sub {
    (($s->status_auto(2) // {})->{LoomConnsHeadWait} // 0) >= $M }, 10);
ok $heads_ok, "LoomConnsHeadWait counts the $M trickling heads";
for my $round (1 .. 3) {
    syswrite $_, "X-Slow-$round: 1\r\n" for @slow;
    sleep 0.3;
}
$good = good_clients($s->port, 10, timeout => 5);
ok $good->{ok} == 10 && $good->{max_s} < 1,
   sprintf '10 new clients each served within 1 s meanwhile (slowest %.3f s)', $good->{max_s};
my $ok3 = 0;
{
    syswrite $_, "Connection: close\r\n\r\n" for @slow;
    my %buf;
    my $end = time + 20;
    my $sel = IO::Select->new(@slow);
    while ($sel->count && time < $end) {
        for my $c ($sel->can_read(0.2)) {
            my $n = sysread($c, my $chunk, 65536);
            $buf{fileno $c} .= $chunk if $n;
            next if $n;
            $ok3++ if ($buf{fileno $c} // '') =~ m{^HTTP/1\.1 200 };
            $sel->remove($c);
        }
    }
}
is $ok3, $M, "every trickled request is answered once its head is whole ($ok3 of $M)";
close $_ for @slow;

# -- a slow reader of a large response --------------------------------------
my $reader = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $!";
setsockopt($reader, SOL_SOCKET, SO_RCVBUF, 4096);
connect($reader, Socket::pack_sockaddr_in($s->port, Socket::inet_aton('127.0.0.1')))
    or die "connect: $!";
syswrite $reader, "GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n";
my ($w, $writing) = wait_counts($s, sub {
    $_[0]{ConnsAsyncWriting} >= 1 && $_[0]{BusyWorkers} == 1 }, 10);
note 'slow reader: ' . fmt_counts($w);
ok $writing, 'a reader that reads nothing waits in write completion, no process busy with it';
$good = good_clients($s->port, 10, timeout => 5);
ok $good->{ok} == 10 && $good->{max_s} < 1,
   sprintf '10 new clients each served within 1 s meanwhile (slowest %.3f s)', $good->{max_s};
close $reader;
is_deeply [$s->crashes], [], 'no child crashed';
$s->stop;

# -- TLS: stalled handshakes, trickled heads ----------------------------------
{
    my $tls_port = Loom::Server::free_port();
    my $tlsdir = tempdir('loom-tls-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $tlsdir;
    my ($cert, $key) = self_signed($tlsdir);
    my $t = Loom::Server->new(modules => [tls_modules(), 'status'],
        conf => $sizing . "LoomParkConnections On\nKeepAlive On\nTimeout 60\n"
              . https_conf(port => $tls_port, cert => $cert, key => $key))->start;
    my $hello = substr(client_hello(), 0, 43);
    my @stalled = connect_many($tls_port, 300);
    syswrite $_, $hello for @stalled;
    ok $t->wait_until(sub { (($t->status_auto(2) // {})->{LoomConnsHandshake} // 0) >= 300 }, 10),
       'TLS: LoomConnsHandshake counts 300 clients stalled inside their ClientHello';
    my ($served, $slowest) = (0, 0);
    for (1 .. 10) {
        my $t0 = time;
        my $c = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $tls_port,
                                     SSL_verify_mode => SSL_VERIFY_NONE, Timeout => 5) or next;
        print $c "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        my $r = read_response($c, 5);
        $served++ if $r && $r->{status} == 200;
        my $dt = time - $t0;
        $slowest = $dt if $dt > $slowest;
        close $c;
    }
    ok $served == 10 && $slowest < 1,
       sprintf 'TLS: meanwhile 10 HTTPS requests in a row each served within 1 s (slowest %.3f s)', $slowest;
    close $_ for @stalled;
    my @trickle;
    for (1 .. 100) {
        my $c = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $tls_port,
                                     SSL_verify_mode => SSL_VERIFY_NONE, Timeout => 5) or last;
        print $c "GET / HTTP/1.1\r\nHost: localhost\r\n";
        push @trickle, $c;
    }
    sleep 0.5;
    print $_ "X-Slow: 1\r\n" for @trickle;
    sleep 0.5;
    print $_ "Connection: close\r\n\r\n" for @trickle;
    my $answered = grep { my $r = read_response($_, 10); $r && $r->{status} == 200 } @trickle;
    is $answered, 100, "TLS: 100 trickled heads over finished handshakes, all answered ($answered)";
    close $_ for @trickle;
    $t->stop;
}

# -- MaxConnectionsPerChild under keep-alive load -----------------------------
{
    my $mc = Loom::Server->new(conf => <<'CONF')->start;
StartServers 3
MinSpareServers 2
MaxSpareServers 4
ServerLimit 16
MaxRequestWorkers 16
MaxConnectionsPerChild 20
KeepAlive On
KeepAliveTimeout 30
MaxKeepAliveRequests 0
CONF
    $mc->wait_until(sub { running_kids($mc) == 3 }, 10);
    my %first = map { $_ => 1 } running_kids($mc);
    my $wrk = wrk_start(url => $mc->url('/'), conns => 8);
    my $lr = request_loop(port => $mc->port, seconds => 3);
    my $r = wrk_stop($wrk);
    my $failed = ($r->{errors} // 0) + ($r->{non2xx} // 0) + $lr->{failed};
    my $left = grep { $first{$_} } running_kids($mc);
    note "MaxConnectionsPerChild 20: wrk $r->{requests} requests, "
         . "$lr->{ok} new connections, $failed failed; first children still there: $left";
    ok $r->{requests} > 1000 && $lr->{ok} > 60 && $failed == 0 && $left == 0,
       "MaxConnectionsPerChild 20 under keep-alive load: children retire "
       . "($left of the first 3 left) and no request fails ($failed)";
    is_deeply [$mc->crashes], [], 'no child crashed while retiring';
    $mc->stop;
}

# -- LoomConnectionsPerProcess ------------------------------------------------
my $per = Loom::Server->new(modules => ['status'], conf => <<'CONF')->start;
LoomParkConnections On
LoomConnectionsPerProcess 40
StartServers 1
MinSpareServers 1
MaxSpareServers 1
ServerLimit 8
MaxRequestWorkers 8
KeepAlive On
KeepAliveTimeout 60
MaxKeepAliveRequests 0
CONF
my @many;
my $served = 0;
for my $batch (1 .. 5) {       # in steps, as idle maintenance adds processes
    my @b = connect_many($per->port, 20);
    $served += grep { ($_ // 0) == 200 } get_all(\@b, timeout => 10);
    push @many, @b;
}
my %per_kid = map { $_ => tcp_conns($_, $per->port) } running_kids($per);
note 'connections per child: ' . join(' ', map { "$_:$per_kid{$_}" } sort keys %per_kid);
is $served, 100, '100 idle connections, all served';
my ($most) = sort { $b <=> $a } values %per_kid;
ok defined $most && $most <= 40, 'no child holds more than LoomConnectionsPerProcess 40 ('
   . ($most // 'none') . ')';
ok keys(%per_kid) >= 3, 'so the server grew to hold them (' . scalar(keys %per_kid) . ' children)';
close $_ for @many;
$per->stop;

# -- LoomParkConnections Off: the classic model --------------------------------
my $classic = Loom::Server->new(conf => <<'CONF')->start;
LoomParkConnections Off
StartServers 2
MinSpareServers 1
MaxSpareServers 2
ServerLimit 2
MaxRequestWorkers 2
KeepAlive On
KeepAliveTimeout 30
CONF
my @two = connect_many($classic->port, 2);
is scalar(grep { ($_ // 0) == 200 } get_all(\@two, timeout => 5)), 2,
   'Off: two keep-alive clients served';
my $third = good_clients($classic->port, 1, timeout => 1);
is $third->{ok}, 0, 'Off: they hold both processes; a third client waits (classic prefork)';
close $_ for @two;
$third = good_clients($classic->port, 1, timeout => 5);
is $third->{ok}, 1, 'Off: served once they leave';
$classic->stop;

# -- bad values --------------------------------------------------------------
my @bad = (['LoomConnectionsPerProcess -1', qr/LoomConnectionsPerProcess must be a whole number from 0 to \d+, not '-1'/],
           ['LoomConnectionsPerProcess lots', qr/LoomConnectionsPerProcess must be a whole number from 0 to \d+, not 'lots'/],
           ['LoomParkConnections maybe', qr/LoomParkConnections must be On or Off/]);
my $refused = 0;
for my $b (@bad) {
    my ($rc, $out) = Loom::Server::config_test(conf => "$b->[0]\n");
    $refused++ if $rc != 0 && $out =~ $b->[1];
    note "$b->[0]: $out" unless $rc != 0 && $out =~ $b->[1];
}
is $refused, scalar(@bad), 'bad values fail apache2 -t, naming the directive and what it takes';
