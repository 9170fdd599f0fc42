package Loom::Proc;
# What the kernel says about a process, read from /proc: the one reader of
# /proc/<pid>/stat and /proc/<pid>/status for the tests and the benchmark.
use v5.36;
use Exporter 'import';
use POSIX ();

our @EXPORT_OK = qw(proc_stat proc_status running cpu_ticks clk_tck fds
                    fd_count thread_count thread_states tcp_conns pss_kb);

=head1 Loom::Proc

C<proc_stat($pid)>: { pid, comm, state, ppid, utime, stime, cutime,
cstime } from F</proc/$pid/stat> (times in clock ticks, C<clk_tck> per
second), or undef once the process is gone. C<$pid> may also be
C<"$pid/task/$tid">, for one thread. C<proc_status($pid)>: the fields of
F</proc/$pid/status> as { name => text } (C<"$pid/task/$tid"> works too).

C<running($pid)>: the process exists and is not a zombie. kill 0 is not
enough: a daemonized parent that exited stays a zombie until PID 1 reaps
it, and on some machines PID 1 reaps only every second or so.

C<cpu_ticks(@pids)>: utime + stime of those processes (all their
threads), in clock ticks; the processes that are gone count nothing, and
undef comes back when none of them could be read.

C<fds($pid)>: { fd => link target }. C<fd_count($pid)>,
C<thread_count($pid)>: how many descriptors and threads it has (undef once
gone). C<thread_states($pid)>: the state letter of each of its threads.
C<tcp_conns($pid, $port)>: its established TCP connections whose local
port is $port. C<pss_kb(@pids)>: their proportional set size, in kB.

=cut

sub clk_tck { POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100 }

# Fields after the command name, which may hold spaces and parentheses:
# (3)state (4)ppid ... (14)utime (15)stime (16)cutime (17)cstime.
sub proc_stat ($pid) {
    open my $fh, '<', "/proc/$pid/stat" or return undef;
    my $line = <$fh> // return undef;
    my ($id, $comm, $rest) = $line =~ /^(\d+) \((.*)\) (.*)$/s or return undef;
    my @f = split ' ', $rest;          # $f[0] is field 3
    return { pid => $id, comm => $comm, state => $f[0], ppid => $f[1],
             utime => $f[11], stime => $f[12],
             cutime => $f[13], cstime => $f[14] };
}

sub proc_status ($pid) {
    open my $fh, '<', "/proc/$pid/status" or return undef;
    my %f = map { /^([^:]+):\s*(.*?)\s*$/ ? ($1 => $2) : () } <$fh>;
    return \%f;
}

sub running ($pid) {
    return 0 unless $pid;
    my $st = proc_stat($pid) or return 0;
    return $st->{state} ne 'Z' && $st->{state} ne 'X';
}

sub cpu_ticks (@pids) {
    my $t;
    for my $pid (@pids) {
        my $st = proc_stat($pid) or next;
        $t += $st->{utime} + $st->{stime};
    }
    return $t;
}

sub _entries ($dir) {
    opendir(my $dh, $dir) or return;
    return grep { /^\d+$/ } readdir $dh;
}

sub fds ($pid) {
    return { map { $_ => readlink("/proc/$pid/fd/$_") // '?' }
             _entries("/proc/$pid/fd") };
}

sub _count ($dir) {
    opendir(my $dh, $dir) or return undef;
    return scalar grep { /^\d+$/ } readdir $dh;
}

sub fd_count ($pid) { _count("/proc/$pid/fd") }
sub thread_count ($pid) { _count("/proc/$pid/task") }

sub thread_states ($pid) {
    return map { $_->{state} } grep { defined }
           map { proc_stat("$pid/task/$_") } _entries("/proc/$pid/task");
}

# Socket inodes of established IPv4/IPv6 TCP connections on local $port.
sub _conn_inodes ($pid, $port) {
    my %ino;
    for my $f ("/proc/$pid/net/tcp", "/proc/$pid/net/tcp6") {
        open my $fh, '<', $f or next;
        <$fh>;
        while (my $l = <$fh>) {
            my @c = split ' ', $l;
            my ($lport) = $c[1] =~ /:([0-9A-F]{4})$/ or next;
            next unless hex($lport) == $port && $c[3] eq '01';
            $ino{$c[9]} = 1;
        }
    }
    return \%ino;
}

sub tcp_conns ($pid, $port) {
    my $ino = _conn_inodes($pid, $port);
    my $f = fds($pid);
    return scalar grep { /^socket:\[(\d+)\]$/ && $ino->{$1} } values %$f;
}

sub pss_kb (@pids) {
    my $kb = 0;
    for my $pid (@pids) {
        open my $fh, '<', "/proc/$pid/smaps_rollup" or next;
        while (my $l = <$fh>) { if ($l =~ /^Pss:\s+(\d+)/) { $kb += $1; last } }
    }
    return $kb;
}

1;
