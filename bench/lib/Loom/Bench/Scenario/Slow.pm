package Loom::Bench::Scenario::Slow;
# 6: N slowloris connections (one more header line every 2 s, never
# finishing) while the keep-alive load runs: what the real clients get.
use v5.36;
use Loom::Bench::Runner qw(start_servers stop_servers interleave summarize);
use Loom::Bench::Crowd qw(crowd_round);

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
    return crowd_round($ctx, $srv, $round, id => 'slow', mode => 'slow',
                       crowd => 'slowloris connections', opened => 'were accepted by the kernel',
                       held => 'slow_held');
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
