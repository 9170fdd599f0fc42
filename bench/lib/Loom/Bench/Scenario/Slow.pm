package Loom::Bench::Scenario::Slow;
# 6: N slowloris connections (one more header line every 2 s, never
# finishing) while the keep-alive load runs: what the real clients get.
use v5.36;
use Loom::Bench::Util qw(note fmt_num);
use Loom::Bench::Runner qw(start_servers stop_servers measure_load interleave summarize);
use Loom::Bench::Helper qw(conns_start conns_cmd conns_stop);

sub cases ($ctx) {
    my $n = $ctx->{opts}{slow};
    return ({ id => 'slow', title => "slow: $n slowloris connections during the keep-alive load",
              what => "A helper opens $n connections that send a request line and one header, then "
                    . 'one more header line every 2 s, never ending the request; meanwhile wrk runs '
                    . 'the keepalive load (50 connections). "without": the same load just before. '
                    . 'failed = socket errors + non-2xx/3xx of the real clients.',
              show => [qw(rps rps_base rps_vs_base p99 cpu_us_req ctx_req failed slow_held)],
              ratio => [qw(rps p99)] });
}

sub one ($ctx, $srv, $round) {
    my $o = $ctx->{opts};
    my %load = (path => '/small.html', conns => 50, duration => $o->{duration});
    my $base = measure_load($ctx, $srv, %load);
    my $h = conns_start(port => $srv->port, mode => 'slow', nofile => $ctx->{nofile},
                        limit => $o->{open_limit}, stall => $o->{stall}, dir => $ctx->{tmp});
    my $a = conns_cmd($h, "open $o->{slow}");
    my $m = measure_load($ctx, $srv, %load);
    my $chk = conns_cmd($h, 'check');
    conns_stop($h);
    $m->{rps_base} = $base->{rps};
    $m->{rps_vs_base} = $base->{rps} ? 100 * $m->{rps} / $base->{rps} : undef;
    $m->{slow_held} = $chk->{held};
    push @{ $m->{notes} }, "only $a->{connected} of $o->{slow} slowloris connections were accepted by the kernel"
        if $a->{connected} < $o->{slow};
    push @{ $m->{notes} }, "without slowloris: $base->{failed} failed requests" if $base->{failed};
    note sprintf "  slow      round %d %-14s %9s req/s (without: %s), %d failed",
        $round, $srv->name, fmt_num($m->{rps}), fmt_num($base->{rps}), $m->{failed};
    return $m;
}

sub run ($ctx) {
    my $s = start_servers($ctx, scenario => 'slow');
    my $res = interleave($s, $ctx->{opts}{rounds_other}, sub { one($ctx, @_) });
    stop_servers($ctx, $s);
    return { slow => { map { $_ => summarize($res->{$_},
        median => [qw(rps rps_base rps_vs_base p99 cpu_us_req ctx_req slow_held)],
        sum => [qw(socket_errors non2xx failed)]) } keys %$res } };
}

1;
