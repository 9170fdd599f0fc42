package Loom::Bench::Scenario::Tls;
# 4: HTTP/1.1 keep-alive over TLS (wrk) and HTTP/2 over TLS (h2load);
# worker and event only (mod_http2 does not run under prefork's model).
use v5.36;
use Loom::Bench::Runner qw(start_servers stop_servers);
use Loom::Bench::Scenario::Throughput qw(throughput);

our @MPMS = qw(worker event);

sub cases ($ctx) {
    my $h2 = "h2load, 1 thread, 50 connections x $ctx->{opts}{h2_streams} streams";
    return ({ id => 'tls-h1', title => 'tls-h1: HTTP/1.1 over TLS, 50 keep-alive connections',
              what => 'wrk on https://, 1 thread, 50 connections, GET /small.html; self-signed EC P-256 certificate.',
              show => [qw(rps p50 p99 cpu_us_req ctx_req socket_errors non2xx)],
              ratio => [qw(rps cpu_us_req)], mpms => \@MPMS },
            { id => 'tls-h2', title => 'tls-h2: HTTP/2 over TLS',
              what => "$h2, GET /small.html (h2load reports no percentiles: mean and max latency shown). "
                    . 'slowest connect: the maximum of h2load\'s "time for connect" over the 50 '
                    . 'connections opened at once, which runs to the end of the TLS handshake (h2load\'s '
                    . 'manual says "including TLS handshake"; its code takes the time when the handshake '
                    . 'completes). nginx is left out here: it ends an HTTP/2 connection after keepalive_requests (100) '
                    . 'streams and h2load does not reconnect, so its figure would count only 50 x 100 '
                    . 'requests; mod_http2 does not end h2 connections after MaxKeepAliveRequests.',
              show => [qw(rps lat_mean lat_max connect_max cpu_us_req ctx_req socket_errors non2xx failed)],
              ratio => [qw(rps cpu_us_req)], mpms => \@MPMS });
}

sub run ($ctx) {
    my $s = start_servers($ctx, scenario => 'tls', tls => 1, h2 => 1, mpms => \@MPMS);
    my %r;
    $r{'tls-h1'} = throughput($ctx, $s, 'tls-h1', path => '/small.html', conns => 50);
    $r{'tls-h2'} = throughput($ctx, $s, 'tls-h2', path => '/small.html', conns => 50,
                              tool => 'h2load', streams => $ctx->{opts}{h2_streams},
                              skip => sub ($srv) { $srv->kind eq 'nginx' });
    stop_servers($ctx, $s);
    return \%r;
}

1;
