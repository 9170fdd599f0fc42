# What it proves: a threaded child's threads can all leave at once without
# corrupting the child's memory. Each thread's exit destroys a pool made
# from the child's pool, and when a child stops its idle threads leave
# together; the child's allocator must guard its free lists and the
# child's list of pools against that (it did not, and a child now and then
# died of SIGSEGV in apr_allocator_destroy on its way out).
# Three children of 64 threads each, 25 graceful restarts (each waits until
# mod_status shows the new generation), then 5 restarts (SIGHUP), with a
# light request loop between them so that some threads are busy: no child
# crashed (error log), the generation went up by 30, every child of an old
# generation is gone, and the parent still serves.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Fault qw(running_kids);
use Loom::Load qw(request_loop);

my $mpm = Loom::Server::mpm_or_skip();
plan skip_all => 'prefork children have one thread' unless Loom::Server::threaded();

my ($GRACEFUL, $HARD) = (25, 5);
my $s = Loom::Server->new(modules => ['status'], conf => <<'CONF')->start;
StartServers 3
ServerLimit 8
ThreadLimit 64
ThreadsPerChild 64
MinSpareThreads 64
MaxSpareThreads 512
MaxRequestWorkers 512
CONF
plan tests => 5;

sub generation { my $a = $s->status_auto(3) or return -1;
                 return $a->{ParentServerMPMGeneration} // -1 }

$s->wait_until(sub { (() = running_kids($s)) >= 3 }, 10);
my $gen0 = generation();
my (%old, $done);
my $t0 = time;
for my $i (1 .. $GRACEFUL + $HARD) {
    $old{$_} = 1 for running_kids($s);
    $s->signal($i <= $GRACEFUL ? 'graceful' : 'restart');
    last unless $s->wait_until(sub { generation() >= $gen0 + $i }, 10);
    $done++;
    request_loop(port => $s->port, seconds => 0.1);
}
note sprintf '%d restarts in %.1f s', $done // 0, time - $t0;
is generation(), $gen0 + $GRACEFUL + $HARD,
   "the generation went up by " . ($GRACEFUL + $HARD) . " ($GRACEFUL graceful, $HARD hard)";
my %now = map { $_ => 1 } running_kids($s);
delete @old{keys %now};
ok $s->wait_until(sub { !grep { Loom::Proc::running($_) } keys %old }, 10),
   'every child of an old generation exited within 10 s ('
   . scalar(keys %old) . ' children of 64 threads each)';
my @crashes = $s->crashes;
is_deeply \@crashes, [], 'no child crashed (error log)';
my $lr = request_loop(port => $s->port, seconds => 0.5);
ok $lr->{ok} > 0 && $lr->{failed} == 0, "serving after the restarts ($lr->{ok} requests)";
ok Loom::Proc::running($s->pid), 'the parent is alive';
$s->stop;
