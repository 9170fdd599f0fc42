package Loom::Bench::Scenario::TlsSlowloris;
# 4c: N TLS clients that finish their handshake, then trickle their request
# head (one more header line every 2 s, never ending it) while the TLS
# keep-alive load runs: what the real TLS clients get. Event only, as
# tls-stall: it is loom_event's TLS head read without a thread that this
# measures (issue 12); stock event reads a TLS head on a thread.
use v5.36;
use Loom::Bench::Util qw(note fmt_num);
use Loom::Bench::Runner qw(start_servers stop_servers measure_load interleave summarize);
use Loom::Bench::Helper qw(conns_start conns_cmd conns_stop);
use Loom::Bench::Proc qw(server_pids);
use Loom::Proc qw(pss_kb);

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
    my $o = $ctx->{opts};
    my %load = (path => '/small.html', conns => 50, duration => $o->{duration});
    my $base = measure_load($ctx, $srv, %load);
    my $pss0 = pss_kb(@{ server_pids($srv->pid) });
    my $h = conns_start(port => $srv->port, mode => 'tlsslow', nofile => $ctx->{nofile},
                        limit => $o->{open_limit}, stall => $o->{stall}, dir => $ctx->{tmp},
                        interval => $INTERVAL);
    my $a = conns_cmd($h, "open $o->{slow}");
    my $pss1 = pss_kb(@{ server_pids($srv->pid) });
    # Memory per client the server held when its PSS was read: a server
    # that takes the crowd slowly (stock, as it starts children) still
    # finishes handshakes during the load.
    my $opened = conns_cmd($h, 'check');
    my $m = measure_load($ctx, $srv, %load);
    my $chk = conns_cmd($h, 'check');
    conns_stop($h);
    $m->{rps_base} = $base->{rps};
    $m->{rps_vs_base} = $base->{rps} ? 100 * $m->{rps} / $base->{rps} : undef;
    $m->{tls_slow_held} = $chk->{held};
    $m->{kb_per_tls_slow} = defined $pss0 && defined $pss1 && $opened->{held}
        ? ($pss1 - $pss0) / $opened->{held} : undef;
    # A server that stops taking connections leaves the rest of the crowd
    # in its listen queue, inside their handshake.
    push @{ $m->{notes} }, "only $a->{connected} of $o->{slow} slow TLS clients had got through their "
        . "handshake when opening them ended; $opened->{held} held then" if $a->{connected} < $o->{slow};
    push @{ $m->{notes} }, "without them: $base->{failed} failed requests" if $base->{failed};
    note sprintf "  tls-slowloris round %d %-14s %9s req/s (without: %s), %d failed, %d held",
        $round, $srv->name, fmt_num($m->{rps}), fmt_num($base->{rps}), $m->{failed},
        $chk->{held} // 0;
    return $m;
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
