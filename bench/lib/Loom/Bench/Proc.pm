package Loom::Bench::Proc;
# What a running server costs: the process tree under its parent, CPU
# time, context switches and proportional memory (PSS), from Loom::Proc's
# readings of /proc.
use v5.36;
use Exporter 'import';
use Loom::Proc qw(proc_stat proc_status clk_tck);

our @EXPORT_OK = qw(server_pids cpu_seconds ctx_switches sample delta);

my $HZ = clk_tck();

# The server's parent and every live descendant.
sub server_pids ($root) {
    my %kids;
    opendir my $d, '/proc' or return [$root];
    for my $p (grep { /^\d+$/ } readdir $d) {
        my $s = proc_stat($p) or next;
        push @{ $kids{ $s->{ppid} } }, $p;
    }
    my @all = ($root);
    my @todo = ($root);
    my $guard = 0;
    while (@todo && $guard++ < 100_000) {
        my $p = shift @todo;
        for my $k (@{ $kids{$p} // [] }) { push @all, $k; push @todo, $k }
    }
    return \@all;
}

# user+sys seconds of the live processes (all their threads), plus what the
# parent collected from children that exited and were waited for.
sub cpu_seconds ($root, $pids) {
    my $ticks = 0;
    for my $p (@$pids) {
        my $s = proc_stat($p) or next;
        $ticks += $s->{utime} + $s->{stime};
        $ticks += $s->{cutime} + $s->{cstime} if $p == $root;
    }
    return $ticks / $HZ;
}

# Voluntary + involuntary context switches of every thread of every live
# process (threads or processes that ended are not counted).
sub ctx_switches ($pids) {
    my $n = 0;
    for my $p (@$pids) {
        opendir my $d, "/proc/$p/task" or next;
        for my $t (grep { /^\d+$/ } readdir $d) {
            my $st = proc_status("$p/task/$t") or next;
            $n += ($st->{$_} // 0)
                for qw(voluntary_ctxt_switches nonvoluntary_ctxt_switches);
        }
    }
    return $n;
}

# One reading of a server's CPU and context switches.
sub sample ($root) {
    my $pids = server_pids($root);
    return { cpu => cpu_seconds($root, $pids), ctx => ctx_switches($pids),
             nproc => scalar @$pids };
}

# Per-request CPU (microseconds) and context switches between two samples.
sub delta ($before, $after, $requests) {
    my $cpu = $after->{cpu} - $before->{cpu};
    my $ctx = $after->{ctx} - $before->{ctx};
    $cpu = 0 if $cpu < 0;
    $ctx = 0 if $ctx < 0;    # threads that ended take their counts along
    return { cpu_s => $cpu, ctx => $ctx,
             cpu_us_req => $requests ? 1e6 * $cpu / $requests : undef,
             ctx_req    => $requests ? $ctx / $requests : undef };
}

1;
