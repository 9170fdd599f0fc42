package Loom::Bench::Scenario::TlsStall;
# 4b: N clients stalled inside their TLS ClientHello (43 bytes, then a
# byte every 5 s) while the TLS keep-alive load runs: what the real TLS
# clients get. Event only: it is loom_event's handshake without a thread
# that this measures (issue 12); stock event reads a handshake on a thread.
use v5.36;
use Loom::Bench::Runner qw(start_servers stop_servers interleave summarize);
use Loom::Bench::Crowd qw(crowd_round);
use Loom::TLS qw(client_hello);

our @MPMS = qw(event);

sub cases ($ctx) {
    my $n = $ctx->{opts}{slow};
    return ({ id => 'tls-stall', title => "tls-stall: $n stalled TLS handshakes during the TLS keep-alive load",
              what => "A helper opens $n connections to the TLS port that send the first 43 bytes of a "
                    . 'real ClientHello, then one more byte every 5 s, never finishing the handshake; '
                    . 'meanwhile wrk runs the tls-h1 load (https://, 50 keep-alive connections). '
                    . '"without": the same load just before. failed = socket errors + non-2xx/3xx of the '
                    . 'real clients. Memory: PSS of the whole server with the stalled clients, less before, '
                    . 'per stalled client it held then.',
              show => [qw(rps rps_base rps_vs_base p99 cpu_us_req failed stall_held kb_per_stall)],
              ratio => [qw(rps p99)], mpms => \@MPMS });
}

sub one ($ctx, $srv, $round) {
    return crowd_round($ctx, $srv, $round, id => 'tls-stall', mode => 'tlsstall',
                       helper => { hello => $ctx->{hello}, interval => 5 },
                       crowd => 'stalled clients', opened => 'were accepted by the kernel',
                       held => 'stall_held', kb_per => 'kb_per_stall');
}

sub run ($ctx) {
    my $file = "$ctx->{tmp}/client_hello.bin";
    open my $fh, '>:raw', $file or die "$file: $!";
    print $fh client_hello();
    close $fh;
    $ctx->{hello} = $file;
    my $s = start_servers($ctx, scenario => 'tls-stall', tls => 1, mpms => \@MPMS);
    # A ratio of two throughput runs: as many rounds as the throughput
    # scenarios, since one round can be 20 % off on its own.
    my $res = interleave($s, $ctx->{opts}{rounds}, sub { one($ctx, @_) });
    stop_servers($ctx, $s);
    return { 'tls-stall' => { map { $_ => summarize($res->{$_},
        median => [qw(rps rps_base rps_vs_base p99 cpu_us_req stall_held kb_per_stall)],
        sum => [qw(socket_errors non2xx failed)]) } keys %$res } };
}

1;
