package Loom::Wrk;
# The one wrapper of wrk for the tests and the benchmark: its command line,
# the parsing of what it prints, and two ways to run it (for a fixed time,
# bounded by wall clock; or from start to stop while a test does
# something to the server).
use v5.36;
use Exporter 'import';

our @EXPORT_OK = qw(wrk wrk_start wrk_stop wrk_cmd wrk_parse);

=head1 Loom::Wrk

C<wrk_cmd(url => ..., conns => N, seconds => S, headers => [...],
cpu => C, timeout => '2s')>: the command line of one wrk thread with
--latency (on CPU C only, through taskset, when C<cpu> is given; with
wrk's own --timeout when C<timeout> is).

C<wrk_parse($output)>: { raw, requests, rps (wrk's Requests/sec),
elapsed_ms and bytes (when wrk printed its "N requests in T, B read"
line), p50, p75, p90, p99 (latency percentiles, ms), err_connect,
err_read, err_write, err_timeout, errors (their sum), non2xx }.

C<wrk(url => ..., conns => 20, seconds => 3, headers => [...], cpu => N)>
runs wrk for that long (killed 10 s past it) and returns C<wrk_parse>'s
hash. C<wrk_start(url => ..., conns => 8, headers => [...])> starts wrk for
as long as it takes (at most 300 s); C<wrk_stop($h)> interrupts it (SIGINT:
wrk then prints its figures) and returns C<wrk_parse>'s hash.

=cut

my %UNIT_T = (us => 0.001, ms => 1, s => 1000, m => 60_000, h => 3_600_000);
my %UNIT_B = (B => 1, KB => 1024, MB => 1024**2, GB => 1024**3, TB => 1024**4);

sub _ms ($v, $u) { $v * ($UNIT_T{$u} // 1) }

sub wrk_cmd (%a) {
    my @h = map { ('-H', $_) } @{ $a{headers} // [] };
    my @pin = defined $a{cpu} ? ('taskset', '-c', $a{cpu}) : ();
    my @timeout = defined $a{timeout} ? ('--timeout', $a{timeout}) : ();
    return (@pin, 'wrk', '-t1', "-c$a{conns}", "-d$a{seconds}s", @timeout,
            '--latency', @h, $a{url});
}

sub wrk_parse ($out) {
    my %r = (raw => $out, errors => 0, non2xx => 0, err_connect => 0,
             err_read => 0, err_write => 0, err_timeout => 0);
    ($r{requests}) = $out =~ /(\d+) requests in/;
    ($r{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    if ($out =~ /(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w+) read/) {
        $r{elapsed_ms} = _ms($2, $3);
        $r{bytes} = $4 * ($UNIT_B{$5} // 1);
    }
    while ($out =~ /^\s+(50|75|90|99)%\s+([\d.]+)(\w+)/mg) {
        $r{"p$1"} = _ms($2, $3);
    }
    if ($out =~ /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/) {
        @r{qw(err_connect err_read err_write err_timeout)} = ($1, $2, $3, $4);
        $r{errors} = $1 + $2 + $3 + $4;
    }
    $r{non2xx} = $1 if $out =~ /Non-2xx or 3xx responses: (\d+)/;
    return \%r;
}

sub wrk (%a) {
    my $secs = $a{seconds} // 3;
    my @cmd = ('timeout', '-k', '2', $secs + 10,
               wrk_cmd(%a, seconds => $secs, conns => $a{conns} // 20));
    open my $fh, '-|', @cmd or die "wrk: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return wrk_parse($out);
}

my %STARTED;     # wrk processes started here and not stopped yet

sub wrk_start (%a) {
    my @cmd = wrk_cmd(url => $a{url}, conns => $a{conns} // 8,
                      seconds => 300, headers => $a{headers});
    my $pid = open(my $fh, '-|', @cmd) // die "wrk: $!";
    $STARTED{$pid} = 1;
    return { pid => $pid, fh => $fh };
}

sub wrk_stop ($h) {
    kill 'INT', $h->{pid};
    my $fh = $h->{fh};
    local $/;
    my $out = <$fh> // '';
    close $fh;
    delete $STARTED{$h->{pid}};
    return wrk_parse($out);
}

END {
    kill 'KILL', $_ for keys %STARTED;
}

1;
