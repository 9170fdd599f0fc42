package Loom::Bench::Helper;
# Starts the small client programs in bench/helpers/ on the load CPU:
# `conns` (held idle or slowloris connections, driven over a pipe),
# `probe` (one request per new connection, in the background) and `ramp`.
use v5.36;
use Exporter 'import';
use FindBin;
use IO::Handle;
use IO::Select;
use Loom::Bench::Util qw(fail spawn kill_child reap_child run_bounded slurp);
use Loom::Bench::Load;

our @EXPORT_OK = qw(conns_start conns_cmd conns_stop probe_start probe_finish ramp_run);
our $DIR = "$FindBin::RealBin/helpers";

sub _on_load_cpu ($nofile, @cmd) {
    my $sh = ($> == 0 ? "ulimit -Hn $nofile 2>/dev/null; " : '')
           . "ulimit -Sn $nofile 2>/dev/null || ulimit -Sn \$(ulimit -Hn); exec \"\$@\"";
    return ['sh', '-c', $sh, 'sh', 'taskset', '-c', $Loom::Bench::Load::LOAD_CPU,
            $^X, @cmd];
}

# %a: port, mode (idle|slow|tlsstall|tlsslow), nofile, limit (seconds a
# batch may take), dir; hello (a ClientHello file) for tlsstall; interval
# for the trickling modes.
sub conns_start (%a) {
    pipe(my $to_r, my $to_w) or fail "pipe: $!";
    pipe(my $from_r, my $from_w) or fail "pipe: $!";
    my $pid = spawn(what => "conns-$a{mode}", stdin => $to_r, stdout => $from_w,
                    stderr => "$a{dir}/conns-$a{mode}.err",
                    cmd => _on_load_cpu($a{nofile}, "$DIR/conns", '--mode', $a{mode},
                                        '--port', $a{port}, '--limit', $a{limit}, '--stall', $a{stall} // 1,
                                        ($a{hello} ? ('--hello', $a{hello}) : ()),
                                        ($a{interval} ? ('--interval', $a{interval}) : ())));
    close $to_r;
    close $from_w;
    $to_w->autoflush(1);
    return { pid => $pid, to => $to_w, from => $from_r, limit => $a{limit},
             err => "$a{dir}/conns-$a{mode}.err", buf => '' };
}

# Sends one command and returns the parsed answer ({ word => number, ... }).
sub conns_cmd ($h, $cmd) {
    print { $h->{to} } "$cmd\n" or fail "conns helper went away: ", slurp($h->{err}) // '';
    my $sel = IO::Select->new($h->{from});
    my $end = time + $h->{limit} + 10;
    while ($h->{buf} !~ /\n/) {
        my $left = $end - time;
        fail "conns helper did not answer '$cmd' in time" if $left <= 0;
        next unless $sel->can_read($left);
        my $n = sysread $h->{from}, $h->{buf}, 4096, length $h->{buf};
        fail "conns helper ended: ", slurp($h->{err}) // '' unless $n;
    }
    $h->{buf} =~ s/^(.*?)\n//;
    my $line = $1;
    fail "conns helper: $line" if $line =~ /^error/;
    return { split ' ', $line };
}

sub conns_stop ($h) {
    print { $h->{to} } "quit\n";
    close $h->{to};
    my $end = time + 10;
    until (defined reap_child($h->{pid}, 1)) {
        if (time > $end) { kill_child($h->{pid}, 2); last }
        select undef, undef, undef, 0.05;
    }
    close $h->{from};
}

# %a: port, duration, dir. Runs in the background; probe_finish collects.
sub probe_start (%a) {
    my $out = "$a{dir}/probe.out";
    my $pid = spawn(what => 'probe', stdin => '/dev/null', stdout => $out,
                    stderr => "$a{dir}/probe.err",
                    cmd => _on_load_cpu(1024, "$DIR/probe", '--port', $a{port},
                                        '--duration', $a{duration}));
    return { pid => $pid, out => $out, limit => $a{duration} + 10 };
}

sub probe_finish ($h) {
    my $end = time + $h->{limit};
    until (defined reap_child($h->{pid}, 1)) {
        if (time > $end) { kill_child($h->{pid}, 2); last }
        select undef, undef, undef, 0.05;
    }
    my $line = slurp($h->{out}) // '';
    return $line =~ /^ok/ ? { split ' ', $line } : { ok => 0, fail => 0, error => 'probe gave no answer' };
}

# %a: port, conns, window, limit, dir. Returns the parsed summary line.
sub ramp_run (%a) {
    my $r = run_bounded(limit => $a{limit} + 10, dir => $a{dir},
        cmd => _on_load_cpu($a{conns} + 100, "$DIR/ramp", '--port', $a{port},
                            '--conns', $a{conns}, '--window', $a{window},
                            '--limit', $a{limit}));
    fail "ramp helper could not run (exit $r->{rc}): $r->{err}" unless $r->{out} =~ /^slots/;
    return { split ' ', $r->{out} };
}

1;
