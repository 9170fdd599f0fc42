package Loom::Bench::Scenario::Idle;
# 5: N idle keep-alive connections (each had one answer) held open while the
# keep-alive load runs: throughput against the same load without them, how
# many the server still holds at the end, and what they cost in memory.
use v5.36;
use Time::HiRes qw(time);
use Loom::Bench::Util qw(note fmt_num);
use Loom::Bench::Runner qw(start_servers stop_servers measure_load interleave summarize);
use Loom::Bench::Helper qw(conns_start conns_cmd conns_stop);
use Loom::Bench::Proc qw(server_pids);
use Loom::Proc qw(pss_kb);

sub cases ($ctx) {
    my $n = $ctx->{opts}{idle};
    return ({ id => 'idle', title => "idle: $n idle keep-alive connections held during the keep-alive load",
              what => "A helper opens $n connections in $ctx->{opts}{idle_steps} steps, sends one GET on each, "
                    . 'reads the answer and holds the socket; then the keepalive load runs (wrk, 50 '
                    . 'connections). "without": the same load just before, on the same server. '
                    . '"held at end": idle sockets the server had not closed after the load. '
                    . 'Memory: PSS of all server processes (smaps_rollup), growth per idle '
                    . 'connection the server still held once all were opened (a server that '
                    . 'closed some is not credited with their memory).',
              show => [qw(rps rps_base rps_vs_base p99 cpu_us_req ctx_req socket_errors non2xx held_opened held asked
                          pss_base_mb pss_mb kb_per_conn)],
              ratio => [qw(rps held kb_per_conn)] });
}

sub pss_mb ($srv) { pss_kb(@{ server_pids($srv->pid) }) / 1024 }

sub one ($ctx, $srv, $round) {
    my $o = $ctx->{opts};
    my %load = (path => '/small.html', conns => 50, duration => $o->{duration});
    my $base = measure_load($ctx, $srv, %load);
    my $pss0 = pss_mb($srv);
    my @curve = ([0, $pss0]);
    my $h = conns_start(port => $srv->port, mode => 'idle', nofile => $ctx->{nofile},
                        limit => $o->{open_limit}, stall => $o->{stall}, dir => $ctx->{tmp});
    my $step = int($o->{idle} / $o->{idle_steps});
    my $a;
    my $budget_end = time + $o->{open_budget};    # for all the steps together
    for my $i (1 .. $o->{idle_steps}) {
        my $k = $i == $o->{idle_steps} ? $o->{idle} - $step * ($i - 1) : $step;
        my $limit = $budget_end - time;
        $limit = $o->{open_limit} if $limit > $o->{open_limit};
        $limit = 0.5 if $limit < 0.5;
        $a = conns_cmd($h, sprintf 'open %d %.1f', $k, $limit);
        push @curve, [$a->{answered}, pss_mb($srv)];
    }
    my $opened = conns_cmd($h, 'check');
    my $m = measure_load($ctx, $srv, %load);
    my $chk = conns_cmd($h, 'check');
    conns_stop($h);
    my $pss = $curve[-1][1];
    $m->{rps_base} = $base->{rps};
    $m->{rps_vs_base} = $base->{rps} ? 100 * $m->{rps} / $base->{rps} : undef;
    $m->{held} = $chk->{held};
    $m->{asked} = $o->{idle};
    $m->{pss_base_mb} = $pss0;
    $m->{pss_mb} = $pss;
    $m->{held_opened} = $opened->{held};
    $m->{kb_per_conn} = $opened->{held} ? 1024 * ($pss - $pss0) / $opened->{held} : undef;
    $m->{curve} = \@curve;
    push @{ $m->{notes} }, "only $a->{answered} of $o->{idle} idle connections got an answer"
        if $a->{answered} < $o->{idle};
    push @{ $m->{notes} }, "without idle connections: $base->{failed} failed requests" if $base->{failed};
    note sprintf "  idle      round %d %-14s %9s req/s (without: %s), held %d/%d, %.1f MB",
        $round, $srv->name, fmt_num($m->{rps}), fmt_num($base->{rps}), $chk->{held}, $o->{idle}, $pss;
    return $m;
}

sub run ($ctx) {
    my $s = start_servers($ctx, scenario => 'idle');
    my $res = interleave($s, $ctx->{opts}{rounds_other}, sub { one($ctx, @_) });
    stop_servers($ctx, $s);
    my %sum = map {
        my $runs = $res->{$_};
        my $x = summarize($runs, median => [qw(rps rps_base rps_vs_base p99 cpu_us_req ctx_req held_opened held asked
                                               pss_base_mb pss_mb kb_per_conn)],
                                 sum => [qw(socket_errors non2xx failed)]);
        $x->{curve} = $runs->[-1]{curve};
        ($_ => $x);
    } keys %$res;
    return { idle => \%sum };
}

1;
