# A child killed by SIGSEGV or SIGKILL is replaced within a second and
# logged once; a crash loop (children killed as soon as they appear) does
# not become a fork storm, is logged once as a loop, and the server comes
# back when it stops.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Load qw(request_loop);

my $loom = ($ENV{LOOM_MPM} // 'prefork') !~ /^stock-/;
plan tests => 10;
my $conf = Loom::Server::threaded()
    ? "StartServers 2\nThreadsPerChild 4\nMinSpareThreads 4\nMaxSpareThreads 16\n"
    : "StartServers 3\nMinSpareServers 2\nMaxSpareServers 6\n";
my $s = Loom::Server->new(modules => ['status'], conf => $conf)->start;

for my $sig (qw(SEGV KILL)) {
    my @kids = $s->child_pids;
    my $n = @kids;
    kill $sig, $kids[0];
    my $t0 = time;
    ok $s->wait_until(sub { my @now = $s->child_pids;
                            @now >= $n && !grep { $_ == $kids[0] } @now }, 1.5),
       sprintf('SIG%s: replaced (%.2f s)', $sig, time - $t0);
}
my $r = request_loop(port => $s->port, seconds => 0.5);
ok $r->{ok} > 0 && $r->{failed} == 0, 'serving after the crashes';
ok $s->alive, 'the parent is alive';
SKIP: {
    skip "the log lines are Loom's", 1 unless $loom;
    my $log = $s->errlog;
    my @segv = $log =~ /LOOM0401: .*signal 11 \(Segmentation fault\)/g;
    my @kill = $log =~ /LOOM0401: .*signal 9 /g;
    ok @segv == 1 && @kill == 1, 'each crash logged once with its signal';
}

# A crash loop: kill every child as soon as it appears, for 3 seconds.
my %seen;
my $end = time + 3;
while (time < $end) {
    for my $pid ($s->child_pids) {
        $seen{$pid} = 1;
        kill 'SEGV', $pid;
    }
    sleep 0.02;
}
my $forks = keys %seen;
ok $forks < 200, "no fork storm: $forks children in 3 s";
ok $s->alive, 'the parent survived the loop';
SKIP: {
    skip "the log lines are Loom's", 1 unless $loom;
    my @loops = $s->errlog =~ /LOOM0403: children are crashing in a loop/g;
    is scalar(@loops), 1, 'the loop is logged once';
}
ok $s->wait_until(sub { (my @k = $s->child_pids) >= 1 && request_loop(port => $s->port, seconds => 0.3)->{ok} > 0 }, 8),
   'serving again once the loop stops';
ok $s->wait_until(sub { my $a = $s->status_auto; $a && $a->{BusyWorkers} >= 1 }, 5),
   'mod_status answers';
$s->stop;
