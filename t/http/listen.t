# Several Listen addresses: every one is served, without an accept mutex:
# even with `Mutex sysvsem mpm-accept`, which makes stock prefork and
# worker create a SysV semaphore for several listeners, Loom creates none.
# Two listener buckets (ListenCoresBucketsRatio) serve too.
use strict;
use warnings;
use Test::More;
use Loom::Server;
use Loom::Load qw(request_loop);

my $loom = ($ENV{LOOM_MPM} // 'prefork') !~ /^stock-/;
plan tests => 6;

sub semaphores { scalar grep { /^0x/ } split /\n/, `ipcs -s 2>/dev/null` }

my $second = Loom::Server::free_port();
my $before = semaphores();
my $mutex = ($ENV{LOOM_MPM} // 'prefork') =~ /event/ ? ''
          : "Mutex sysvsem mpm-accept\n";
my $s = Loom::Server->new(modules => ['status'],
    conf => "Listen 127.0.0.1:$second\nStartServers 2\n$mutex")->start;
my $a = request_loop(port => $s->port, seconds => 0.7);
my $b = request_loop(port => $second, seconds => 0.7);
ok $a->{ok} > 0 && $a->{failed} == 0, 'the first address serves';
ok $b->{ok} > 0 && $b->{failed} == 0, 'the second address serves';
if ($loom || !$mutex) {
    is semaphores(), $before, 'no SysV semaphore was created';
}
else {
    ok semaphores() > $before, 'stock takes its SysV accept mutex (the check can fail)';
}
$s->stop;

# Two SO_REUSEPORT buckets (this machine has 2 cores: ratio 1 gives 2).
my $b2 = Loom::Server->new(modules => ['status'],
                           conf => "ListenCoresBucketsRatio 1\nStartServers 2\n")->start;
my $r = request_loop(port => $b2->port, seconds => 1);
ok $r->{ok} > 0 && $r->{failed} == 0, 'two buckets serve';
my @kids = $b2->child_pids;
ok @kids >= 2, 'a child per bucket at least';
$b2->stop;
ok !$b2->alive, 'stopped';
