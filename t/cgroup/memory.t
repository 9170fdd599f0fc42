# LoomMemoryShare (loom_prefork): the parent starts no child that would
# take the server past that share of the memory it may use (its cgroup's
# limit, or the machine's), measured as the PSS of the parent and its
# children, so that the OOM killer is never the limit. Run as root, on a
# real cgroup of the machine's memory controller (v2 memory.max where the
# v2 hierarchy has it, else v1 memory.limit_in_bytes).
#  - Without the directive a server of StartServers 8 starts 8 children
#    (the PSS of all its processes measured).
#  - The group's limit is then set so that 1 % of it is 85 % of that; with
#    LoomMemoryShare 1 the same server grows past its first child but
#    stops short of 8, its PSS within 1 % and half a child, says why once
#    (LOOM0419, naming the cgroup file), and serves.
#  - LoomMemoryShare 150 and junk fail `apache2 -t` with the range.
use v5.36;
use Test::More;
use Loom::Server;
use Loom::HTTP qw(get_raw);
use Loom::Fault qw(running_kids);
use Loom::Cgroup qw(scratch_group);

plan skip_all => 'needs root, to make a cgroup (t/run-suite runs it as root)'
    unless $> == 0;
$ENV{LOOM_MPM} = 'prefork';
Loom::Server::mpm_or_skip();

my ($g, $why) = scratch_group('memory');
plan skip_all => $why unless $g;
my $limit_file = $g->version == 2 ? 'memory.max' : 'memory.limit_in_bytes';
unless ($g->set($limit_file, 1 << 30)) {
    $g->remove;
    plan skip_all => "cannot set a memory limit in " . $g->dir . ": $!";
}
plan tests => 7;
note 'cgroup v' . $g->version . ': ' . $g->dir;

my $sizing = "StartServers 8\nMinSpareServers 8\nMaxSpareServers 10\n"
           . "ServerLimit 20\nMaxRequestWorkers 20\n";

sub pss ($pid) {
    open my $fh, '<', "/proc/$pid/smaps_rollup" or return 0;
    while (<$fh>) { return $1 * 1024 if /^Pss:\s+(\d+) kB/ }
    return 0;
}

sub start_in_group ($extra) {
    return $g->run(sub { Loom::Server->new(mpm => 'prefork', conf => $sizing . $extra)->start });
}

my ($total, $child);
{
    my $s = start_in_group('');
    my $eight = $s->wait_until(sub { running_kids($s) == 8 }, 10);
    my @kids = running_kids($s);
    my $sum = 0;
    $sum += pss($_) for @kids;
    $child = @kids ? $sum / @kids : 0;
    $total = $sum + pss($s->pid);
    note sprintf 'without LoomMemoryShare: %d children, %.1f MB in all, %.1f MB a child',
        scalar @kids, $total / 2**20, $child / 2**20;
    ok $eight && $s->errlog !~ /LOOM0419/,
       'without LoomMemoryShare, StartServers 8 starts 8 children';
    $s->stop;
}

my $allowed = 0.85 * $total;
my $limit = int($allowed * 100 / 4096) * 4096;
ok $g->set($limit_file, $limit), sprintf 'the group\'s limit set to %.1f MB, so that 1 %% is %.1f MB',
    $limit / 2**20, $limit / 100 / 2**20;
{
    my $s = start_in_group("LoomMemoryShare 1\n");
    $s->wait_until(sub { $s->errlog =~ /LOOM0419/ }, 10);
    sleep 2;                                   # maintenance would grow it by now
    my @kids = running_kids($s);
    my $used = pss($s->pid);
    $used += pss($_) for @kids;
    note sprintf 'LoomMemoryShare 1: %d children, %.1f MB used', scalar @kids, $used / 2**20;
    ok @kids >= 2 && @kids < 8,
       sprintf 'with LoomMemoryShare 1 the server grows past one child but stops short of '
       . 'StartServers 8 (%d children)', scalar @kids;
    ok $used <= $limit / 100 + 0.5 * $child,
       sprintf 'and its PSS stays within 1 %% of the limit and half a child (%.1f MB)', $used / 2**20;
    my @said = grep { /LOOM0419/ } split /\n/, $s->errlog;
    note $_ for @said;
    ok @said == 1 && $said[0] =~ /LoomMemoryShare 1% allows of [\d.]+ MB \(\Q${\ $g->dir}\E\/\Q$limit_file\E\)/,
       'it says why once, naming the cgroup file';
    my $r = get_raw($s->port, "GET / HTTP/1.0\r\n\r\n", 5) // '';
    like $r, qr{^HTTP/1\.1 200}, 'and it serves';
    $s->stop;
}

my @bad = map { [Loom::Server::config_test(mpm => 'prefork', conf => "LoomMemoryShare $_\n")] } ('150', 'half');
ok !grep({ $_->[0] == 0 || $_->[1] !~ /LoomMemoryShare must be a whole number from 0 to 100/ } @bad),
   'LoomMemoryShare 150 and "half" fail apache2 -t, naming the directive and its range'
    or diag explain \@bad;

$g->remove;
