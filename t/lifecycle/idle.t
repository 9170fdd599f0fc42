# What it proves: idle maintenance converges, with the 1 s ticks of stock.
#  prefork: StartServers 1, MinSpareServers 2, MaxSpareServers 4;
#  worker/event: StartServers 1, ThreadsPerChild 4, MinSpareThreads 6,
#  MaxSpareThreads 12 (threads instead of processes).
#  - from one child the server grows to at least MinSpare idle workers;
#  - 10 slow requests at once (a CGI sleeping 8 s): more children are
#    spawned until all 10 run at the same time AND MinSpare workers are
#    idle beside them (busy + idle >= 10 + MinSpare), within 4.5 s for
#    prefork: the spawn rate doubles per tick while the shortage lasts,
#    as stock's does (1, 2, 4, 8 children per tick);
#  - every slow request is answered;
#  - once the load is over (the slow connections closed, so that no thread
#    lingers on them), the idle count comes back down to between MinSpare
#    and MaxSpare within 15 s, and stays there.
# Idle = idle workers ('_' in the Scoreboard of mod_status, IdleWorkers for
# threaded MPMs) plus the one answering mod_status, idle but for that look.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(sleep time);
use Loom::Server;

my $mpm = Loom::Server::mpm_or_skip();
my $threaded = Loom::Server::threaded();
my ($min, $max) = $threaded ? (6, 12) : (2, 4);
my $conf = $threaded
    ? "StartServers 1\nThreadsPerChild 4\nMinSpareThreads $min\nMaxSpareThreads $max\n"
      . "ServerLimit 12\nMaxRequestWorkers 48\n"
    : "StartServers 1\nMinSpareServers $min\nMaxSpareServers $max\n"
      . "ServerLimit 30\nMaxRequestWorkers 30\n";
my $slow = 10;

my $s = Loom::Server->new(modules => [$threaded ? 'cgid' : 'cgi', 'status'], conf => $conf);
$s->write_doc('sleep.cgi', "#!/bin/sh\nsleep 8\nprintf 'Content-Type: text/plain\\r\\n\\r\\nok\\n'\n");
$s->start;

plan tests => 7;

# (idle, busy) as defined above; busy excludes the status request itself.
sub counts {
    my $a = $s->status_auto or return (-1, -1);
    my $sb = $a->{Scoreboard} // '';
    my $idle = () = $sb =~ /_/g;
    my $busy = () = $sb =~ /[RWKDCL]/g;      # serving a connection
    ($idle, $busy) = ($a->{IdleWorkers}, $a->{BusyWorkers}) if $threaded;
    return ($idle + 1, $busy - 1);
}

my @trace;
sub look {
    my ($idle, $busy) = counts();
    my $now = "$idle/$busy";                # idle/busy, when it changes
    push @trace, sprintf('%.1fs:%s', time - $^T, $now)
        unless @trace && $trace[-1] =~ m{:\Q$now\E$};
    return ($idle, $busy);
}

ok $s->wait_until(sub { (look())[0] >= $min }, 6), "grows to $min idle workers"
    or diag "idle/busy over time: @trace";

@trace = ();
my $t0 = time;
my @conns = map {
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port,
                                  Timeout => 5) or die "connect: $!";
    $c->autoflush(1);
    print $c "GET /sleep.cgi HTTP/1.0\r\n\r\n";
    $c;
} 1 .. $slow;

# Capacity from the process list (mod_status cannot answer while every
# worker is busy): workers of the children, less cgid's daemon.
my ($cap_at, @caps);
sub capacity {
    my $kids = () = $s->child_pids;
    $kids-- if $threaded;
    return $kids * ($threaded ? 4 : 1);
}
my $want = $slow + $min;
while (time < $t0 + 7.5) {
    my $c = capacity();
    push @caps, sprintf('%.1fs:%d', time - $t0, $c) unless @caps && $caps[-1] =~ /:$c$/;
    if ($c >= $want) { $cap_at = time - $t0; last }
    sleep 0.05;
}
ok defined $cap_at, "spawns up to $want workers for $slow slow requests + $min spare"
    . (defined $cap_at ? sprintf(' (%.1f s)', $cap_at) : '') or diag "workers: @caps";
# Stock doubles its spawn rate on every tick that still lacks idle workers
# (1, 2, 4, 8 children per second), so from 3 children it has 12 after
# about 3 ticks; a fixed rate of MinSpare per tick needs 5 here.
ok defined $cap_at && $cap_at <= 4.5,
   'the spawn rate grows while the shortage lasts: there within 4.5 s'
    or diag "workers: @caps";
my $grew = $s->wait_until(sub {
    my ($idle, $busy) = look();
    return $busy >= $slow && $idle >= $min;
}, $t0 + 7.8 - time);
ok $grew, sprintf('mod_status: %d slow requests run at once with %d idle beside them',
                  $slow, $min)
    or diag "idle/busy over time: @trace";

my $served = 0;
my $end = time + 20;
for my $c (@conns) {
    my $sel = IO::Select->new($c);
    my $buf = '';
    while ($end > time && $sel->can_read($end - time)) {
        last unless sysread($c, my $chunk, 4096);
        $buf .= $chunk;
    }
    $served++ if $buf =~ m{^HTTP/1\.\d 200 .*^ok$}sm;
}
is $served, $slow, 'every slow request was answered';
# Closed, so that no thread stays in lingering close for them: a thread
# lingering counts as busy, and when it ends the idle count jumps by it.
close $_ for @conns;

@trace = ();
$t0 = time;
my $peak = 0;
ok $s->wait_until(sub {
    my ($idle, $busy) = look();
    $peak = $idle if $idle > $peak;
    return $busy <= 0 && $idle >= $min && $idle <= $max;
}, 15), sprintf('idle comes back to %d..%d, nothing busy, within 15 s (%.1f s, from %d)',
                $min, $max, time - $t0, $peak)
    or diag "idle/busy over time: @trace";
# ... and stays there for a few ticks.
my @after;
for (1 .. 3) { sleep 1; push @after, (look())[0] }
ok !grep({ $_ < $min || $_ > $max } @after), "stays within $min..$max: @after";
$s->stop;
