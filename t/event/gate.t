# Event only: the gate in front of the poller (docs/architecture.md). The
# servers run pinned to one CPU (taskset), so Loom's budget is one serving
# thread per child: 16 threads in the child for the first two parts, 4 in
# a server of its own for the third.
#  - Under load (wrk, 32 keep-alive connections), the child's threads that
#    want a CPU (state R in /proc) stay few: at most 4 in any sample, where
#    every thread polling the one poller would put most of the 16 there.
#  - Threads that block do not stall the child: with 3 CGIs sleeping on 3
#    threads (each seen asleep and replaced within a few ms), a static
#    request and a 4th CGI are still served at once.
#  - Nor does a thread that computes for long: while one request deflates
#    a 24 MB file (most of a second of CPU), quick requests on another
#    connection of the same child wait under 100 ms each (the long one
#    stops counting after 20 ms; counted, they waited for all of it).
# Stock event runs the blocking part too (it has no gate to stall); its
# thread count under load is printed for comparison, not asserted.
use v5.36;
use Test::More;
use POSIX ();
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Slow qw(event_sizing event_kind connect_many get_all wait_counts figures);
use Loom::Fault qw(background collect);
use Loom::Wrk qw(wrk);

my $kind = event_kind();
my $THREADS = 16;

plan skip_all => 'taskset or wrk missing'
    unless Loom::Server::have_tool('taskset') && Loom::Server::have_tool('wrk');

my $s = Loom::Server->new(modules => ['status', 'cgid'],
    conf => event_sizing(start => 1, threads => $THREADS, min_spare => 1)
        . <<CONF);
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

plan tests => 8;

# The serving child: the one with threads (the other is mod_cgid's daemon).
sub ntasks ($pid) { Loom::Proc::thread_count($pid) // 0 }
my $child;
ok $s->wait_until(sub {
        ($child) = sort { ntasks($b) <=> ntasks($a) } $s->child_pids;
        $child && ntasks($child) > $THREADS }, 10),
   "one serving child, its threads started ($kind event)";

# Under load -------------------------------------------------------------------
sub runnable_threads ($pid) {
    return scalar grep { $_ eq 'R' } Loom::Proc::thread_states($pid);
}

my $load = background(sub { wrk(url => $s->url('/small.html'), conns => 32,
                                seconds => 4, cpu => 1) });
sleep 1;                                   # past wrk's start
my @samples;
my $until = time + 2;
while (time < $until) {
    push @samples, runnable_threads($child);
    sleep 0.02;
}
my $wrk = collect($load);
my $rps = $wrk->{rps};
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
        or diag $wrk->{raw} // $wrk->{error} // '';
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

# Blocked as they were, the three still complete.
my %answer;
my $sel = IO::Select->new(@cgi);
my $cgi_end = time + 10;
while ($sel->count && time < $cgi_end) {
    for my $c ($sel->can_read(0.5)) {
        my $n = sysread $c, $answer{$c}, 4096, length($answer{$c} // '');
        $sel->remove($c) if !$n || $answer{$c} =~ /slept/;
    }
}
is scalar(grep { ($answer{$_} // '') =~ /slept/ } @cgi), 3, 'the three CGIs answer in the end';

# A thread computing for long ---------------------------------------------------
# A server of its own, so that no thread left over from the parts above
# happens to be polling: only the long one's state decides.
$s->stop;
my $s2 = Loom::Server->new(modules => ['filter', 'deflate'], conf => <<'CONF');
StartServers 1
ServerLimit 1
ThreadLimit 4
ThreadsPerChild 4
MaxRequestWorkers 4
MinSpareThreads 1
MaxSpareThreads 4
KeepAlive On
MaxKeepAliveRequests 0
DeflateCompressionLevel 9
<Location /big.txt>
    SetOutputFilter DEFLATE
</Location>
CONF
$s2->write_doc('small.html', 'x' x 100);
# Hex of random bytes, each KB three times over: deflate works hard on it.
my $rand = join '', map { chr int rand 256 } 1 .. 4 * 1024 * 1024;
$s2->write_doc('big.txt',
               join '', map { unpack('H*', substr($rand, $_ * 1024, 1024)) x 3 } 0 .. 4095);
{
    local $Loom::Server::HTTPD = "taskset -c 0 $Loom::Server::HTTPD";
    $s2->start;
}
my ($quick) = connect_many($s2->port, 1);
get_all([$quick], path => '/small.html');
my $big = fork // die "fork: $!";
if ($big == 0) {
    my ($c) = connect_many($s2->port, 1);
    syswrite $c, "GET /big.txt HTTP/1.1\r\nHost: localhost\r\n"
               . "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n";
    1 while sysread $c, my $buf, 1 << 20;
    POSIX::_exit(0);
}
sleep 0.05;
my ($count, $worst, $failed) = (0, 0, 0);
$t0 = time;
while (waitpid($big, POSIX::WNOHANG()) == 0 && time - $t0 < 20) {
    my $t = time;
    my ($st) = get_all([$quick], path => '/small.html', timeout => 5);
    my $d = time - $t;
    $worst = $d if $d > $worst;
    $count++;
    $failed++ unless ($st // 0) == 200;
    last if $failed;
}
my $deflated = time - $t0;
figures($kind, sprintf 'beside a %.2f s deflate: %d quick requests, the slowest %.1f ms',
        $deflated, $count, $worst * 1000);
ok $deflated >= 0.2, sprintf 'the deflate kept a thread computing for %.2f s', $deflated;
ok !$failed && $count > 0 && $worst < 0.1,
   sprintf 'quick requests beside it waited under 100 ms (%d, the slowest %.1f ms%s)',
           $count, $worst * 1000, $failed ? ', one failed' : '';
