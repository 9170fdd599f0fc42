package Loom::Bench::Scenario::Keepalive;
# 1: many small requests on 50 keep-alive connections.
use v5.36;
use Loom::Bench::Runner qw(start_servers stop_servers);
use Loom::Bench::Scenario::Throughput qw(throughput);

sub cases ($ctx) {
    return ({ id => 'keepalive', title => 'keepalive: 50 keep-alive connections, 100-byte file',
              what => 'wrk, 1 thread, 50 connections, GET /small.html (100 bytes).',
              show => [qw(rps p50 p99 cpu_us_req ctx_req socket_errors non2xx)],
              ratio => [qw(rps cpu_us_req ctx_req)] });
}

sub run ($ctx) {
    my $s = start_servers($ctx, scenario => 'keepalive');
    my $r = throughput($ctx, $s, 'keepalive', path => '/small.html', conns => 50);
    stop_servers($ctx, $s);
    return { keepalive => $r };
}

1;
