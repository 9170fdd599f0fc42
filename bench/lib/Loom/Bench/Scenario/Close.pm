package Loom::Bench::Scenario::Close;
# 2: one connection per request (the client asks the server to close).
use v5.36;
use Loom::Bench::Runner qw(start_servers stop_servers);
use Loom::Bench::Scenario::Throughput qw(throughput);

sub cases ($ctx) {
    return ({ id => 'close', title => 'close: one connection per request',
              what => 'wrk, 1 thread, 50 connections, header `Connection: close`, GET /small.html.',
              show => [qw(rps p99 cpu_us_req ctx_req socket_errors non2xx)],
              ratio => [qw(rps cpu_us_req)] });
}

sub run ($ctx) {
    my $s = start_servers($ctx, scenario => 'close');
    my $r = throughput($ctx, $s, 'close', path => '/small.html', conns => 50,
                       headers => ['Connection: close']);
    stop_servers($ctx, $s);
    return { close => $r };
}

1;
