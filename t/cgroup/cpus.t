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
use File::Temp qw(tempdir);
use Loom::Server;
use Loom::HTTP qw(get_raw);

plan skip_all => 'needs root, to make a cgroup (t/run-suite runs it as root)'
    unless $> == 0;
$ENV{LOOM_MPM} = 'event';
Loom::Server::mpm_or_skip();

# The cpu controller's hierarchy: [version, directory of our own group].
sub cpu_hierarchy () {
    my (%mount, %group);
    open my $mi, '<', '/proc/self/mountinfo' or die $!;
    while (<$mi>) {
        my ($pre, $post) = split / - /;
        my (undef, undef, undef, $root, $dir) = split ' ', $pre;
        my ($fs, undef, $opts) = split ' ', $post;
        $mount{2} = [$dir, $root] if $fs eq 'cgroup2';
        $mount{1} = [$dir, $root] if $fs eq 'cgroup' && ",$opts," =~ /,cpu,/;
    }
    open my $cg, '<', '/proc/self/cgroup' or die $!;
    while (<$cg>) {
        chomp;
        my ($id, $ctl, $path) = split /:/, $_, 3;
        $group{2} = $path if $id eq '0' && $ctl eq '';
        $group{1} = $path if ",$ctl," =~ /,cpu,/;
    }
    for my $v (2, 1) {
        next unless $mount{$v} && defined $group{$v};
        my ($dir, $root) = @{ $mount{$v} };
        my $rel = $root eq '/' ? $group{$v} : substr($group{$v}, length $root);
        my $own = "$dir$rel" =~ s{/$}{}r;
        if ($v == 2) {
            open my $c, '<', "$own/cgroup.controllers" or next;
            next unless <$c> =~ /\bcpu\b/;
        }
        return [$v, $own];
    }
    return undef;
}

sub write_file ($path, $text) {
    open my $fh, '>', $path or return 0;
    my $ok = print $fh $text;
    return close($fh) && $ok;
}

my $h = cpu_hierarchy()
    or plan skip_all => 'this machine has no cgroup cpu controller to test with';
my ($v, $own) = @$h;
my $grp = "$own/loom-test-$$";
mkdir $grp or plan skip_all => "mkdir $grp: $! (no cgroup can be made here)";
my $quota_file = $v == 2 ? "$grp/cpu.max" : "$grp/cpu.cfs_quota_us";
# v2: the parent must hand the controller down (it may have already).
write_file("$own/cgroup.subtree_control", "+cpu") if $v == 2;
my $set = $v == 2 ? write_file($quota_file, "100000 100000")
                  : write_file("$grp/cpu.cfs_period_us", "100000")
                    && write_file($quota_file, "100000");
unless ($set) {
    rmdir $grp;
    plan skip_all => "cannot set a CPU quota in $grp: $!";
}
plan tests => 8;
note "cgroup v$v: $grp";

my $conf = "LogLevel mpm_loom_event:debug\nStartServers 2\n";

# Starts a server from inside $grp; the test process goes back after.
sub start_in_group ($extra = '') {
    write_file("$grp/cgroup.procs", $$) or die "joining $grp: $!";
    my $s = eval { Loom::Server->new(mpm => 'event', conf => $conf . $extra)->start };
    my $err = $@;
    write_file("$own/cgroup.procs", $$) or die "leaving $grp: $!";
    die $err if $err;
    return $s;
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

rmdir $grp or diag "rmdir $grp: $!";
