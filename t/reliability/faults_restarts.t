# What it proves: 100 graceful restarts in a row, under steady load, lose
# nothing and leave nothing behind.
# wrk keeps 8 keep-alive connections busy on / while the parent gets
# SIGUSR1 100 times; each restart waits until mod_status shows the new
# generation (ParentServerMPMGeneration) and at least 0.2 s since the
# previous one. Then:
#  - the generation went up by exactly 100;
#  - wrk saw no failed request (socket errors + non-2xx): Loom closes a
#    keep-alive connection of an old child only right after a response
#    that says "Connection: close", so a client never races the close
#    (asserted for every Loom MPM; for stock the count is printed: stock
#    closes idle keep-alive connections of old children, which races);
#  - the error log never says "scoreboard is full" (nor, Loom, LOOM0405
#    "reached MaxRequestWorkers"): old children leave their slots in time;
#  - no child crashed (error log), on its way out or otherwise;
#  - once the load stops, every child of an old generation exits within
#    10 s, and the instance is the parent and its current children only;
#  - the parent holds as many descriptors as before the restarts (nothing
#    leaks per generation), and no SysV shared memory segment or semaphore
#    set that the instance created or used is left (Loom uses none).
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Proc qw(fds);
use Loom::Wrk qw(wrk_start wrk_stop);
use Loom::Fault qw(running_kids ipc_snapshot log_lines);
use Loom::Load qw(request_loop);

my $mpm = Loom::Server::mpm_or_skip('wrk');
my $loom = $mpm !~ /^stock-/;
my $threaded = Loom::Server::threaded();
my $RESTARTS = 100;
my $PACE = 0.2;
# (prefork) each of wrk's connections holds a child: StartServers leaves
# room for them and for the test's own status requests in every new
# generation, so a restart does not wait for idle maintenance.
my $conf = ($threaded
    ? "StartServers 2\nThreadsPerChild 8\nMinSpareThreads 8\nMaxSpareThreads 24\n"
      . "ServerLimit 8\nMaxRequestWorkers 32\n"
    : "StartServers 10\nMinSpareServers 2\nMaxSpareServers 10\nServerLimit 32\n"
      . "MaxRequestWorkers 16\n")
    . "KeepAlive On\nMaxKeepAliveRequests 0\n";
my $s = Loom::Server->new(modules => ['status'], conf => $conf, loglevel => 'info')->start;
my $parent = $s->pid;

plan tests => 10;

sub generation { my $a = $s->status_auto(3) or return -1;
                 return $a->{ParentServerMPMGeneration} // -1 }

sleep 1;
my $fd_before = fds($parent);
my $ipc_before = ipc_snapshot();
my $gen0 = generation();
my %ours = ($parent => 1);
$ours{$_} = 1 for running_kids($s);

my $wrk = wrk_start(url => $s->url('/'), conns => 8);
sleep 1;
my ($done, $slowest, $t_all, @last_gen_kids) = (0, 0, time);
for my $i (1 .. $RESTARTS) {
    my $t0 = time;
    @last_gen_kids = running_kids($s) if $i == $RESTARTS;
    $ours{$_} = 1 for running_kids($s);
    $s->signal('graceful');
    my $ok = $s->wait_until(sub { generation() >= $gen0 + $i }, 10);
    my $took = time - $t0;
    $slowest = $took if $took > $slowest;
    unless ($ok) {
        diag "restart $i: generation did not reach " . ($gen0 + $i) . ' within 10 s';
        last;
    }
    $done++;
    sleep $PACE - $took if $took < $PACE;
}
my $elapsed = time - $t_all;
sleep 0.5;
my $r = wrk_stop($wrk);
my $failed = $r->{errors} + $r->{non2xx};
my $fig = sprintf('%d graceful restarts in %.1f s (slowest %.2f s); wrk: %d requests, %d failed '
                  . '(%d socket errors, %d non-2xx)', $done, $elapsed, $slowest,
                  $r->{requests} // 0, $failed, $r->{errors}, $r->{non2xx});
note $fig;

ok Loom::Proc::running($parent) && generation() == $gen0 + $RESTARTS,
   "the generation went up by exactly $RESTARTS ($done restarts)";
SKIP: {
    skip "stock closes idle keep-alive connections on a restart; figures printed", 1
        unless $loom;
    ok(($r->{requests} // 0) > 1000 && $failed == 0,
       "no failed request under load: " . ($r->{requests} // 0) . " requests, $failed failed")
        or diag $r->{raw};
}
my @full = log_lines($s, qr/scoreboard is full|LOOM0405/i);
ok !@full, 'the scoreboard never ran full' or diag join("\n", @full[0 .. ($#full > 4 ? 4 : $#full)]);
my @crashes = $s->crashes;
ok !@crashes, 'no child crashed (error log)' or diag join("\n", @crashes[0 .. ($#crashes > 4 ? 4 : $#crashes)]);

# Old generations leave.
my $gone = $s->wait_until(sub { !grep { Loom::Proc::running($_) } @last_gen_kids }, 10);
ok $gone, 'every child of an old generation exited within 10 s'
    or diag 'still there: ' . join(' ', grep { Loom::Proc::running($_) } @last_gen_kids);
my @kids = running_kids($s);
my %current = map { $_ => 1 } $parent, @kids;
my @stray = grep { !$current{$_} && Loom::Proc::running($_) } $s->all_pids;
ok !@stray, 'the instance is the parent and its ' . scalar(@kids) . ' current children only'
    or diag "stray processes: @stray";

# Descriptors and SysV IPC.
my $fd_after = fds($parent);
my ($nb, $na) = (scalar(keys %$fd_before), scalar(keys %$fd_after));
ok $na == $nb, "the parent holds $na descriptors, as before the restarts ($nb)"
    or diag 'before: ' . join(' ', map { "$_=$fd_before->{$_}" } sort { $a <=> $b } keys %$fd_before)
          . "\nafter: " . join(' ', map { "$_=$fd_after->{$_}" } sort { $a <=> $b } keys %$fd_after);
$ours{$_} = 1 for @kids, $s->all_pids;
my $ipc_after = ipc_snapshot();
my @new_shm = grep { !exists $ipc_before->{shm}{$_} && $ours{ $ipc_after->{shm}{$_} } }
              keys %{ $ipc_after->{shm} };
my @new_sem = grep { my $id = $_; !exists $ipc_before->{sem}{$id}
                     && grep { $ours{$_} } @{ $ipc_after->{sem}{$id} } }
              keys %{ $ipc_after->{sem} };
ok !@new_shm && !@new_sem, 'no SysV shared memory or semaphore set of the instance left'
    . sprintf(' (%d shm, %d sem owned by this user in all)',
              scalar(keys %{ $ipc_after->{shm} }), scalar(keys %{ $ipc_after->{sem} }))
    or diag "shm: @new_shm; sem: @new_sem";
my $lr = request_loop(port => $s->port, seconds => 0.5);
ok $lr->{ok} > 0 && $lr->{failed} == 0, "serving normally after the restarts ($lr->{ok} requests)";
$s->stop;
ok !$s->all_pids, 'nothing of the instance is left after stop';
diag sprintf('figures (%s): %s; parent descriptors %d -> %d; %d stray processes; %d "scoreboard full" lines',
             $mpm, $fig, $nb, $na, scalar(@stray), scalar(@full));
