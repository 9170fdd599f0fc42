package Loom::Bench::Scenario::Files;
# 3: larger static files, 10 KB and 1 MB, on keep-alive connections.
use v5.36;
use Loom::Bench::Runner qw(start_servers stop_servers);
use Loom::Bench::Scenario::Throughput qw(throughput);

my @SIZES = (['files-10k', '/10k.bin', '10 KB'], ['files-1m', '/1m.bin', '1 MB']);

sub cases ($ctx) {
    return map { { id => $_->[0], title => "$_->[0]: $_->[2] static file, 50 keep-alive connections",
                   what => "wrk, 1 thread, 50 connections, GET $_->[1] ($_->[2]).",
                   show => [qw(rps mib_s p99 cpu_us_req ctx_req socket_errors non2xx)],
                   ratio => [qw(rps mib_s cpu_us_req)] } } @SIZES;
}

sub run ($ctx) {
    my $s = start_servers($ctx, scenario => 'files');
    my %r = map { $_->[0] => throughput($ctx, $s, $_->[0], path => $_->[1], conns => 50) } @SIZES;
    stop_servers($ctx, $s);
    return \%r;
}

1;
