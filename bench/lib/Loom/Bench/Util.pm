package Loom::Bench::Util;
# Small shared pieces: logging, running a command bounded by wall clock,
# free ports, files, medians. Every child process started here is remembered
# so that the driver's cleanup can end it.
use v5.36;
use Exporter 'import';
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);
use IO::Socket::INET;

our @EXPORT_OK = qw(note fail run_bounded spawn reap_child kill_child
                    free_port slurp spurt median fmt_num live_children);

my %children;    # pid => what, for cleanup

sub note (@msg) {
    my @t = localtime;
    printf STDERR "[%02d:%02d:%02d] %s\n", @t[2, 1, 0], join '', @msg;
}

sub fail (@msg) { die join('', 'bench: ', @msg) . "\n" }

sub live_children () { return \%children }

# Forks and execs @cmd with stdin/stdout/stderr from/to files (a name, or a
# handle to dup; inherited when undef). `pgrp` puts the child in its own process group. Returns the pid.
sub spawn (%a) {
    my $pid = fork // fail "fork: $!";
    if ($pid == 0) {
        setpgrp(0, 0) if $a{pgrp};
        if (ref $a{stdin}) { open STDIN, '<&', $a{stdin} or POSIX::_exit(126) }
        elsif (defined $a{stdin}) { open STDIN, '<', $a{stdin} or POSIX::_exit(126) }
        if (ref $a{stdout}) { open STDOUT, '>&', $a{stdout} or POSIX::_exit(126) }
        elsif (defined $a{stdout}) { open STDOUT, '>', $a{stdout} or POSIX::_exit(126) }
        if (defined $a{stderr}) { open STDERR, '>', $a{stderr} or POSIX::_exit(126) }
        no warnings "exec";
        exec { $a{cmd}[0] } @{ $a{cmd} };
        POSIX::_exit(127);
    }
    $children{$pid} = $a{what} // $a{cmd}[0];
    return $pid;
}

# waitpid that forgets the child; returns the raw status or undef if the
# child is still running (with nohang).
sub reap_child ($pid, $nohang = 0) {
    my $r = waitpid($pid, $nohang ? WNOHANG : 0);
    return undef if $r == 0;
    delete $children{$pid};
    return $r == $pid ? $? : -1;
}

# TERM, then KILL after `grace` seconds; also the child's process group
# when it has its own.
sub kill_child ($pid, $grace = 5, $group = 0) {
    return unless $children{$pid};
    kill 'TERM', ($group ? -$pid : $pid);
    my $end = time + $grace;
    while (time < $end) {
        return if defined reap_child($pid, 1);
        sleep 0.05;
    }
    kill 'KILL', ($group ? -$pid : $pid);
    kill 'KILL', $pid;
    reap_child($pid);
}

# Runs @cmd under coreutils `timeout` (wall-clock bound `limit` seconds:
# then `signal`, default TERM, and KILL 1 s later), capturing its output. Returns { rc, timed_out, wall, out, err, start, end }.
sub run_bounded (%a) {
    my $dir = $a{dir} // '/tmp';
    state $n = 0;
    $n++;
    my ($out, $err) = ("$dir/run$n.out", "$dir/run$n.err");
    my @cmd = ('timeout', '-s', $a{signal} // 'TERM', '-k', '1', sprintf('%.1f', $a{limit}),
               @{ $a{cmd} });
    my $t0 = time;
    my $pid = spawn(cmd => \@cmd, stdout => $out, stderr => $err,
                    stdin => '/dev/null', what => $a{cmd}[0]);
    $a{during}->($pid, $t0) if $a{during};
    my $st = reap_child($pid);
    my $t1 = time;
    my $rc = $st == -1 ? -1 : ($st & 127) ? 128 + ($st & 127) : $st >> 8;
    my %r = (rc => $rc, timed_out => ($rc == 124 || $rc == 137), wall => $t1 - $t0,
             start => $t0, end => $t1, out => slurp($out) // '', err => slurp($err) // '');
    unlink $out, $err;
    return \%r;
}

# A port nobody listens on right now (the kernel picks it).
sub free_port ($taken = {}) {
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                      Proto => 'tcp', Listen => 1, ReuseAddr => 0)
            or fail "cannot bind a port on 127.0.0.1: $!";
        my $p = $s->sockport;
        close $s;
        next if $taken->{$p}++;
        return $p;
    }
    fail "no free port found";
}

sub slurp ($f) {
    open my $fh, '<', $f or return undef;
    local $/;
    return scalar <$fh>;
}

sub spurt ($f, $text, $mode = undef) {
    open my $fh, '>', $f or fail "cannot write $f: $!";
    print $fh $text;
    close $fh or fail "cannot write $f: $!";
    chmod $mode, $f if defined $mode;
}

# Median of the defined values, undef when there are none.
sub median (@v) {
    @v = sort { $a <=> $b } grep { defined } @v;
    return undef unless @v;
    my $m = int(@v / 2);
    return @v % 2 ? $v[$m] : ($v[$m - 1] + $v[$m]) / 2;
}

# Human-friendly number: 12345 -> "12,345", 0.1234 -> "0.123".
sub fmt_num ($v, $digits = undef) {
    return 'n/a' unless defined $v;
    return '0' if $v == 0;
    if (!defined $digits) {
        $digits = abs($v) >= 100 ? 0 : abs($v) >= 10 ? 1 : abs($v) >= 1 ? 2 : 3;
    }
    my $s = sprintf "%.${digits}f", $v;
    1 while $s =~ s/^(-?\d+)(\d{3})/$1,$2/;
    return $s;
}

1;
