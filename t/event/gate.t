# Event only: the gate in front of the poller (docs/architecture.md). The
# server runs pinned to one CPU (taskset), so Loom's budget is one serving
# thread per child, with 16 threads in the child.
#  - Under load (wrk, 32 keep-alive connections), the child's threads that
#    want a CPU (state R in /proc) stay few: at most 4 in any sample, where
#    every thread polling the one poller would put most of the 16 there.
#  - Threads that block do not stall the child: with 3 CGIs sleeping on 3
#    threads (each seen asleep and replaced within a few ms), a static
#    request and a 4th CGI are still served at once.
# Stock event runs the blocking part too (it has no gate to stall); its
# thread count under load is printed for comparison, not asserted.
use v5.36;
use Test::More;
use POSIX ();
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Slow qw(event_kind connect_many get_all status_counts wait_counts
                  figures run_cmd);

my $kind = event_kind();
my $THREADS = 16;

plan skip_all => 'taskset or wrk missing'
    unless grep({ -x "$_/taskset" } split /:/, $ENV{PATH})
        && grep({ -x "$_/wrk" } split /:/, $ENV{PATH});

my $s = Loom::Server->new(modules => ['status', 'cgid'], conf => <<CONF);
ExtendedStatus On
StartServers 1
ServerLimit 1
ThreadLimit $THREADS
ThreadsPerChild $THREADS
MaxRequestWorkers $THREADS
MinSpareThreads 1
MaxSpareThreads $THREADS
KeepAlive On
KeepAliveTimeout 30
MaxKeepAliveRequests 0
CONF
$s->write_doc('small.html', 'x' x 100);
$s->write_doc('sleep.cgi', "#!/bin/sh\nsleep \${QUERY_STRING:-4}\n"
              . "printf 'Content-Type: text/plain\\r\\n\\r\\nslept\\n'\n");
{
    local $Loom::Server::HTTPD = "taskset -c 0 $Loom::Server::HTTPD";
    $s->start;
}

plan tests => 5;

# The serving child: the one with threads (the other is mod_cgid's daemon).
sub ntasks ($pid) { my @t = glob "/proc/$pid/task/*"; return scalar @t }
my ($child) = sort { ntasks($b) <=> ntasks($a) } $s->child_pids;
ok $child && ntasks($child) > $THREADS, "one serving child ($kind event)";

# Under load -------------------------------------------------------------------
sub runnable_threads ($pid) {
    my $n = 0;
    for my $stat (glob "/proc/$pid/task/*/stat") {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        $n++ if $line =~ /\) R /;
    }
    return $n;
}

my $wrk = open(my $wrk_out, '-|') // die "fork: $!";
if ($wrk == 0) {
    open STDERR, '>&', \*STDOUT;
    { exec 'taskset', '-c', '1', 'wrk', '-t1', '-c32', '-d4s', $s->url('/small.html') }
    POSIX::_exit(127);
}
sleep 1;                                   # past wrk's start
my @samples;
my $until = time + 2;
while (time < $until) {
    push @samples, runnable_threads($child);
    sleep 0.02;
}
my $wrk_text = do { local $/; <$wrk_out> // '' };
close $wrk_out;
my ($rps) = $wrk_text =~ /Requests\/sec:\s*([\d.]+)/;
my @sorted = sort { $a <=> $b } @samples;
my $max = $sorted[-1] // -1;
my $median = $sorted[@sorted / 2] // -1;
figures($kind, sprintf "under load: %d samples, runnable threads median %d, "
        . "max %d of %d; wrk %s req/s", scalar @samples, $median, $max,
        $THREADS + 2, $rps // '?');
SKIP: {
    skip 'stock event sets no such bound', 1 if $kind eq 'stock';
    ok $rps && $max <= 4, "under load at most 4 threads want the CPU (max $max, "
       . "median $median, over " . scalar(@samples) . ' samples)'
        or diag $wrk_text;
}

# Blocking threads -------------------------------------------------------------
my @cgi = connect_many($s->port, 3);
syswrite $_, "GET /sleep.cgi?4 HTTP/1.1\r\nHost: localhost\r\n\r\n" for @cgi;
my ($counts, $seen) = wait_counts($s, sub { $_[0]{BusyWorkers} >= 4 }, 5);
ok $seen, 'three CGIs asleep on three threads (BusyWorkers '
   . ($counts ? $counts->{BusyWorkers} : '?') . ', the status request included)';

my $t0 = time;
my ($fast) = connect_many($s->port, 1);
my ($st) = get_all([$fast], path => '/small.html', timeout => 3);
my $took = time - $t0;
ok(($st // 0) == 200 && $took < 1,
   sprintf 'a static request is served meanwhile (%s in %.3f s)', $st // 'no answer', $took);

my ($fourth) = connect_many($s->port, 1);
my ($st4) = get_all([$fourth], path => '/sleep.cgi?0', timeout => 3);
is $st4, 200, 'and so is a 4th CGI';
figures($kind, sprintf 'static request beside 3 sleeping CGIs: %.1f ms', $took * 1000);
