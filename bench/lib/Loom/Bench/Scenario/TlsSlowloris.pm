package Loom::Bench::Scenario::TlsSlowloris;
# 4c: N TLS clients that finish their handshake, then trickle their request
# head (one more header line every 2 s, never ending it) while the TLS
# keep-alive load runs: what the real TLS clients get. Event only, as
# tls-stall: it is loom_event's TLS head read without a thread that this
# measures (issue 12); stock event reads a TLS head on a thread.
use v5.36;
use Loom::Bench::Runner qw(start_servers stop_servers interleave summarize);
use Loom::Bench::Crowd qw(crowd_round);

our @MPMS = qw(event);

# Seconds between two header lines of a slow client: the pace of the plain
# slow scenario, so the two compare.
my $INTERVAL = 2;

sub cases ($ctx) {
    my $n = $ctx->{opts}{slow};
    return ({ id => 'tls-slowloris', title => "tls-slowloris: $n slow TLS request heads during the TLS keep-alive load",
              what => "A helper opens $n connections to the TLS port; each completes a full TLS "
                    . 'handshake (no session resumption), sends `GET /small.html HTTP/1.1` and a Host '
                    . "header through it, then one more header line every $INTERVAL s, never ending the "
                    . 'head; meanwhile wrk runs the tls-h1 load (https://, 50 keep-alive connections). '
                    . '"without": the same load just before. failed = socket errors + non-2xx/3xx of the '
                    . 'real clients. held: slow clients whose handshake finished and whose connection the '
                    . 'server had not closed at the end (read through TLS). Memory: PSS of the whole '
                    . 'server once the slow clients are opened, less before, per slow client it held '
                    . 'then.',
              show => [qw(rps rps_base rps_vs_base p99 cpu_us_req failed tls_slow_held kb_per_tls_slow)],
              ratio => [qw(rps p99)], mpms => \@MPMS });
}

sub one ($ctx, $srv, $round) {
    return crowd_round($ctx, $srv, $round, id => 'tls-slowloris', mode => 'tlsslow',
                       helper => { interval => $INTERVAL }, crowd => 'slow TLS clients',
                       opened => 'had got through their handshake when opening them ended',
                       held => 'tls_slow_held', kb_per => 'kb_per_tls_slow');
}

sub run ($ctx) {
    my $s = start_servers($ctx, scenario => 'tls-slowloris', tls => 1, mpms => \@MPMS);
    # A ratio of two throughput runs: as many rounds as the throughput
    # scenarios, as tls-stall.
    my $res = interleave($s, $ctx->{opts}{rounds}, sub { one($ctx, @_) });
    stop_servers($ctx, $s);
    return { 'tls-slowloris' => { map { $_ => summarize($res->{$_},
        median => [qw(rps rps_base rps_vs_base p99 cpu_us_req tls_slow_held kb_per_tls_slow)],
        sum => [qw(socket_errors non2xx failed)]) } keys %$res } };
}

1;
