package Loom::Bench::Scenario::Throughput;
# The shared shape of the throughput scenarios: every server, interleaved
# round by round, one load run each time, medians per server.
use v5.36;
use Exporter 'import';
use Loom::Bench::Util qw(note fmt_num);
use Loom::Bench::Runner qw(measure_load interleave summarize);

our @EXPORT_OK = qw(throughput);

our @MEDIAN = qw(rps p50 p75 p90 p99 lat_mean lat_max connect_max mib_s cpu_us_req ctx_req requests);
our @SUM    = qw(socket_errors non2xx failed);

# %load: path, conns, headers, tool, streams; duration/rounds from ctx.
sub throughput ($ctx, $servers, $label, %load) {
    my $o = $ctx->{opts};
    if (my $skip = delete $load{skip}) { $servers = [grep { !$skip->($_) } @$servers] }
    my $res = interleave($servers, $o->{rounds}, sub ($srv, $round) {
        my $m = measure_load($ctx, $srv, duration => $o->{duration}, %load);
        # The slowest connect and the p99 move by half from round to
        # round: each round's is in the log, so that runs can be pooled.
        note sprintf "  %-9s round %d %-14s %9s req/s  %s errors%s%s",
            $label, $round, $srv->name, fmt_num($m->{rps}), $m->{failed},
            defined $m->{p99} ? sprintf(', p99 %.1f ms', $m->{p99}) : '',
            defined $m->{connect_max} ? sprintf(', slowest connect %.1f ms', $m->{connect_max}) : '';
        return $m;
    });
    return { map { $_ => summarize($res->{$_}, median => \@MEDIAN, sum => \@SUM) } keys %$res };
}

1;
