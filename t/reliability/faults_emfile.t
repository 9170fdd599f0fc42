# What it proves: a child that runs out of file descriptors stops accepting
# for a while instead of spinning on accept(), keeps its connections, and
# serves again as soon as descriptors are free.
# How: once the server runs, each child's soft RLIMIT_NOFILE is lowered
# with `prlimit --pid` so that only a few descriptor numbers are free
# (threaded MPMs: 4 per child; the children cannot grow beyond ServerLimit
# 2, so no fresh child with a normal limit takes over). Then:
#  - threaded (worker, event): 20 keep-alive clients, more than fit, each
#    send one request and keep the connection open; the children serve
#    what fits and hold those connections (KeepAliveTimeout 30), accept()
#    fails with EMFILE for the rest, which wait in the backlog;
#  - prefork: a prefork child holds one connection at a time and never
#    accepts while busy, so clients alone cannot exhaust its descriptors;
#    its limit is set with no descriptor free at all, as a descriptor leak
#    in a module would leave it, and "descriptors free up" is the limit
#    raised back.
# While out of descriptors:
#  - a request on a fresh connection is not answered (it waits in the
#    backlog: the state is real);
#  - the children use less than 30% of one core over 2 s (Loom: accept is
#    paused 250 ms at a time, the listeners out of the poller);
#  - (Loom) each child says so once: LOOM0204, and no child exits.
# Then the clients close (prefork: the limit is raised back):
#  - the waiting request is answered within 2 s, and (limits restored)
#    fresh requests are served without failure.
# Stock children exit on EMFILE (ap_unixd_accept: "it's foolish for us to
# continue"); seen here: stock event's parent then found its scoreboard
# full of exiting children and exited itself ("A resource shortage ...
# httpd is exiting!"). For stock the figures are printed, not asserted.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Fault qw(prlimit_get prlimit_set running_kids log_lines);
use Loom::Proc qw(cpu_ticks clk_tck fds);
use Loom::Load qw(request_loop);
use Loom::HTTP qw(get_raw);

my $mpm = Loom::Server::mpm_or_skip('prlimit');
my $loom = $mpm !~ /^stock-/;
my $threaded = Loom::Server::threaded();
my $conf = ($threaded
    ? "StartServers 2\nServerLimit 2\nThreadsPerChild 25\nMaxRequestWorkers 50\n"
      . "MinSpareThreads 1\nMaxSpareThreads 50\n"
    : "StartServers 2\nServerLimit 2\nMaxRequestWorkers 2\nMinSpareServers 1\n"
      . "MaxSpareServers 2\n")
    . "KeepAlive On\nKeepAliveTimeout 30\n"
    . "<Directory />\n  AllowOverride None\n</Directory>\n";
# The requests ask for mod_status's page, which opens no file: with a few
# descriptors free, opening a file (or looking for .htaccess) could fail
# on its own right after an accept, which is not what is tested here.
my $path = '/server-status?auto';
my $s = Loom::Server->new(modules => ['status'], conf => $conf, loglevel => 'info')->start;
my $parent = $s->pid;
my $free = $threaded ? 4 : 0;       # descriptor numbers left free per child
my $clients = $threaded ? 20 : 0;

plan tests => 9;

ok $s->wait_until(sub { running_kids($s) == 2 }, 10), 'two children to start with';
sleep 0.5;
my @kids = running_kids($s);

# The soft limit that leaves exactly $n descriptor numbers free below it.
sub limit_leaving {
    my ($pid, $n) = @_;
    my $used = fds($pid);
    my ($fd, $left) = (0, $n);
    while (1) {
        if (!exists $used->{$fd}) {
            last if $left == 0;
            $left--;
        }
        $fd++;
    }
    return $fd;
}

my (%orig, %lim);
for my $pid (@kids) {
    ($orig{$pid}) = prlimit_get($pid, 'nofile');
    $lim{$pid} = limit_leaving($pid, $free);
    prlimit_set($pid, 'nofile', $lim{$pid});
}
ok !grep({ (prlimit_get($_, 'nofile'))[0] ne $lim{$_} } @kids),
   'children limited to ' . join(', ', map { "$_: $lim{$_} (was $orig{$_})" } @kids);

# More clients than fit: each sends a request and keeps its connection.
my @held;
for (1 .. $clients) {
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port, Timeout => 5)
        or last;
    $c->autoflush(1);
    print $c "GET $path HTTP/1.1\r\nHost: localhost\r\n\r\n";
    push @held, $c;
}
sleep 1 if $clients;
my $answered = grep { IO::Select->new($_)->can_read(0) } @held;
my $pending = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port, Timeout => 5)
    or die "connect: $!";
$pending->autoflush(1);
print $pending "GET $path HTTP/1.0\r\n\r\n";
my $sel = IO::Select->new($pending);
my $stuck = !$sel->can_read(1);
my %c0 = map { $_ => cpu_ticks($_) // 0 } @kids;
my $w0 = time;
sleep 2;
my $cpu = 0;
$cpu += ((cpu_ticks($_) // $c0{$_}) - $c0{$_}) for @kids;
$cpu = $cpu / clk_tck() / (time - $w0);
my @exited = grep { !Loom::Proc::running($_) } @kids;
my $fig = sprintf('%d keep-alive clients (%d served, the rest waiting), a fresh request waited: %s, '
                  . 'children CPU %.1f%% of a core, %d of 2 children exited',
                  scalar(@held), $answered, $stuck ? 'yes' : 'no (answered)', 100 * $cpu,
                  scalar(@exited));
note $fig;
SKIP: {
    skip "stock children exit on EMFILE; figures printed", 4 unless $loom;
    ok $stuck, 'out of descriptors: a request on a fresh connection waits (not answered within 1 s)';
    ok $cpu < 0.30, sprintf('accept backs off: children used %.1f%% of a core over 2 s', 100 * $cpu);
    ok !@exited, 'no child exited' or diag "exited: @exited";
    my @lines = log_lines($s, qr/LOOM0204/);
    ok @lines >= 1 && @lines <= @kids, scalar(@lines) . ' LOOM0204 line(s), at most one per child'
        or diag join("\n", @lines);
}

# Descriptors free up.
my $t0 = time;
close $_ for @held;
@held = ();
prlimit_set($_, 'nofile', $orig{$_}) for grep { !$threaded && Loom::Proc::running($_) } @kids;
my $resp = '';
while (time < $t0 + 5 && $sel->can_read($t0 + 5 - time)) {
    my $n = sysread($pending, my $buf, 65536);
    last unless $n;
    $resp .= $buf;
}
my $took = time - $t0;
my $ok_resp = $resp =~ m{^HTTP/1\.\d 200 } ? 1 : 0;
prlimit_set($_, 'nofile', $orig{$_}) for grep { Loom::Proc::running($_) } @kids;
my $r = request_loop(port => $s->port, seconds => 1);
my $alive = Loom::Proc::running($parent);
my $after = sprintf('the waiting request %s after %.2f s; then %d requests ok, %d failed; parent %s',
                    $ok_resp ? 'answered 200' : 'failed (' . (($resp =~ /^(HTTP\S+ \d+)/)[0] // 'no answer') . ')',
                    $took, $r->{ok}, $r->{failed}, $alive ? 'alive' : 'gone');
note $after;
SKIP: {
    skip "stock children exit on EMFILE; figures printed", 3 unless $loom;
    ok $ok_resp && $took <= 2,
       sprintf('the waiting request is answered once descriptors are free (%.2f s)', $took)
        or diag "response: $resp";
    ok $r->{ok} > 0 && $r->{failed} == 0, "serving again: $r->{ok} requests, $r->{failed} failed";
    ok $alive, 'the parent lives';
}
diag "figures ($mpm): $fig; $after";
$s->stop;
