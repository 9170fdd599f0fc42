# loom_event sizes its gate (the threads of a child that take events at
# once) from the CPUs it may use: the affinity mask, bounded by its
# cgroup's CPU quota, so that a container limited to 2 CPUs on a big host
# sizes for 2. Run as root (t/run-suite's root stage), on a real cgroup: a
# child group of the machine's cpu controller (cgroup v2's cpu.max where
# the v2 hierarchy has the controller, else v1's cpu.cfs_quota_us) with one
# CPU's quota. The test process joins it while it starts the server, whose
# processes stay in it.
#  - The server says at startup (LOOM1210) that it sizes for 1 CPU, and
#    which file set the quota; each child says the same (LOOM1211, debug).
#  - LoomCPUs 3 overrides the quota, and the log says so.
#  - Outside the cgroup, pinned to one CPU (taskset), it sizes for 1 with
#    no quota named; on the whole mask, for every CPU of it.
#  - LoomCPUs junk and -1 fail `apache2 -t`, naming the directive and
#    its range.
use v5.36;
use Test::More;
use Loom::Server;
use Loom::HTTP qw(get_raw);
use Loom::Cgroup qw(scratch_group);

plan skip_all => 'needs root, to make a cgroup (t/run-suite runs it as root)'
    unless $> == 0;
$ENV{LOOM_MPM} = 'event';
Loom::Server::mpm_or_skip();

my ($g, $why) = scratch_group('cpu');
plan skip_all => $why unless $g;
my $quota_file = $g->version == 2 ? $g->dir . '/cpu.max' : $g->dir . '/cpu.cfs_quota_us';
my $set = $g->version == 2 ? $g->set('cpu.max', '100000 100000')
                           : $g->set('cpu.cfs_period_us', '100000')
                             && $g->set('cpu.cfs_quota_us', '100000');
unless ($set) {
    $g->remove;
    plan skip_all => "cannot set a CPU quota in " . $g->dir . ": $!";
}
plan tests => 8;
note 'cgroup v' . $g->version . ': ' . $g->dir;

my $conf = "LogLevel mpm_loom_event:debug\nStartServers 2\n";

# Starts a server from inside the group, where its processes stay.
sub start_in_group ($extra = '') {
    return $g->run(sub { Loom::Server->new(mpm => 'event', conf => $conf . $extra)->start });
}

sub said ($s, $tag) {
    return join "\n", grep { /$tag/ } split /\n/, $s->errlog;
}

{
    my $s = start_in_group();
    $s->wait_until(sub { (() = said($s, 'LOOM1211') =~ /LOOM1211/g) >= 2 }, 10);
    my $parent = said($s, 'LOOM1210');
    note $parent;
    like $parent, qr/up to 1 thread per child take events at once: 1 CPU \(affinity mask: \d+; cgroup CPU quota: 1, from \Q$quota_file\E\)/,
       'in a cgroup with one CPU\'s quota the server sizes for 1 CPU, naming the file';
    my @kids = grep { /LOOM1211/ } split /\n/, $s->errlog;
    ok @kids >= 2 && !grep({ !/up to 1 thread take events at once/ } @kids),
       sprintf 'and so does each child, probing at its start (%d said so)', scalar @kids;
    my $r = get_raw($s->port, "GET / HTTP/1.0\r\n\r\n", 5) // '';
    like $r, qr{^HTTP/1\.1 200}, 'and it serves';
    $s->stop;
}

{
    my $s = start_in_group("LoomCPUs 3\n");
    like said($s, 'LOOM1210'), qr/up to 3 threads per child take events at once: LoomCPUs 3/,
       'LoomCPUs 3 overrides the quota, and the log says so';
    $s->stop;
}

my $nproc = `nproc` + 0;
{
    my $s = Loom::Server->new(mpm => 'event', conf => $conf)->start;
    like said($s, 'LOOM1210'), qr/: $nproc CPUs? \(affinity mask: $nproc; no cgroup CPU quota\)/,
       "outside the cgroup, on the whole mask: $nproc, no quota named";
    $s->stop;
}
{
    local $Loom::Server::HTTPD = "taskset -c 0 $Loom::Server::HTTPD";
    my $s = Loom::Server->new(mpm => 'event', conf => $conf)->start;
    like said($s, 'LOOM1210'), qr/: 1 CPU \(affinity mask: 1; no cgroup CPU quota\)/,
       'pinned to one CPU (taskset -c 0): 1';
    $s->stop;
}

for my $bad ('two', '-1') {
    my ($rc, $out) = Loom::Server::config_test(mpm => 'event', conf => "LoomCPUs $bad\n");
    ok $rc != 0 && $out =~ /LoomCPUs must be a whole number from 0 to 2147483647, not '\Q$bad\E'/,
       "LoomCPUs $bad fails apache2 -t, naming the directive and its range"
        or diag $out;
}

$g->remove;
