package Loom::Bench::Scenario::TlsStall;
# 4b: N clients stalled inside their TLS ClientHello (43 bytes, then a
# byte every 5 s) while the TLS keep-alive load runs: what the real TLS
# clients get. Event only: it is loom_event's handshake without a thread
# that this measures (issue 12); stock event reads a handshake on a thread.
use v5.36;
use Loom::Bench::Util qw(note fmt_num);
use Loom::Bench::Runner qw(start_servers stop_servers measure_load interleave summarize);
use Loom::Bench::Helper qw(conns_start conns_cmd conns_stop);
use Loom::Bench::Proc qw(server_pids);
use Loom::Proc qw(pss_kb);
use Loom::TLS qw(client_hello);

our @MPMS = qw(event);

sub cases ($ctx) {
    my $n = $ctx->{opts}{slow};
    return ({ id => 'tls-stall', title => "tls-stall: $n stalled TLS handshakes during the TLS keep-alive load",
              what => "A helper opens $n connections to the TLS port that send the first 43 bytes of a "
                    . 'real ClientHello, then one more byte every 5 s, never finishing the handshake; '
                    . 'meanwhile wrk runs the tls-h1 load (https://, 50 keep-alive connections). '
                    . '"without": the same load just before. failed = socket errors + non-2xx/3xx of the '
                    . 'real clients. Memory: PSS of the whole server with the stalled clients, less before.',
              show => [qw(rps rps_base rps_vs_base p99 cpu_us_req failed stall_held kb_per_stall)],
              ratio => [qw(rps p99)], mpms => \@MPMS });
}

sub one ($ctx, $srv, $round) {
    my $o = $ctx->{opts};
    my %load = (path => '/small.html', conns => 50, duration => $o->{duration});
    my $base = measure_load($ctx, $srv, %load);
    my $pss0 = pss_kb(@{ server_pids($srv->pid) });
    my $h = conns_start(port => $srv->port, mode => 'tlsstall', nofile => $ctx->{nofile},
                        limit => $o->{open_limit}, stall => $o->{stall}, dir => $ctx->{tmp},
                        hello => $ctx->{hello}, interval => 5);
    my $a = conns_cmd($h, "open $o->{slow}");
    my $pss1 = pss_kb(@{ server_pids($srv->pid) });
    my $m = measure_load($ctx, $srv, %load);
    my $chk = conns_cmd($h, 'check');
    conns_stop($h);
    $m->{rps_base} = $base->{rps};
    $m->{rps_vs_base} = $base->{rps} ? 100 * $m->{rps} / $base->{rps} : undef;
    $m->{stall_held} = $chk->{held};
    $m->{kb_per_stall} = defined $pss0 && defined $pss1 && $chk->{held}
        ? ($pss1 - $pss0) / $chk->{held} : undef;
    push @{ $m->{notes} }, "only $a->{connected} of $o->{slow} stalled clients were accepted by the kernel"
        if $a->{connected} < $o->{slow};
    push @{ $m->{notes} }, "without them: $base->{failed} failed requests" if $base->{failed};
    note sprintf "  tls-stall round %d %-14s %9s req/s (without: %s), %d failed, %d held",
        $round, $srv->name, fmt_num($m->{rps}), fmt_num($base->{rps}), $m->{failed},
        $chk->{held} // 0;
    return $m;
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
