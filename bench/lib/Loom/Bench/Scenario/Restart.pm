package Loom::Bench::Scenario::Restart;
# 7: graceful restarts every 2 s (SIGUSR1 to Apache's parent, SIGHUP to
# nginx's master) while the keep-alive load runs, and a probe that opens a
# new connection every 250 ms to see whether the server kept answering.
use v5.36;
use Time::HiRes qw(time sleep);
use Loom::Bench::Util qw(note fmt_num);
use Loom::Bench::Runner qw(start_servers stop_servers measure_load interleave summarize);
use Loom::Bench::Helper qw(probe_start probe_finish);

our $EVERY = 2;       # seconds between graceful restarts
our $FIRST = 0.25;    # the first one, after the load started

sub cases ($ctx) {
    my $d = $ctx->{opts}{restart_duration};
    return ({ id => 'restart', title => "restart: graceful restart every ${EVERY} s during the keep-alive load",
              what => "wrk keepalive load for $d s; a graceful restart every $EVERY s from $FIRST s on "
                    . '(Apache: SIGUSR1 to the parent; nginx: SIGHUP). failed = socket errors + '
                    . 'non-2xx/3xx. A probe asks for a page on a new connection every 250 ms; '
                    . '"kept answering" means no probe failed and the server answered after the run.',
              show => [qw(rps cpu_us_req ctx_req failed socket_errors non2xx restarts probe_fail longest_gap_ms answering)],
              ratio => [qw(rps)] });
}

sub one ($ctx, $srv, $round) {
    my $d = $ctx->{opts}{restart_duration};
    my $restarts = 0;
    my $probe = probe_start(port => $srv->port, duration => $d, dir => $ctx->{tmp});
    my $m = measure_load($ctx, $srv, path => '/small.html', conns => 50, duration => $d,
        during => sub ($pid, $t0) {
            for (my $at = $t0 + $FIRST; $at < $t0 + $d - 0.2 && $restarts < 1000; $at += $EVERY) {
                my $wait = $at - time;
                sleep $wait if $wait > 0;
                $srv->graceful;
                $restarts++;
            }
        });
    my $p = probe_finish($probe);
    sleep 0.3;
    my $after = $srv->alive && $srv->probe(3);
    $m->{restarts} = $restarts;
    $m->{probe_fail} = $p->{fail};
    $m->{longest_gap_ms} = $p->{longest_gap_ms};
    $m->{answering} = ($after && !$p->{fail} && !$p->{error}) ? 'yes' : 'no';
    push @{ $m->{notes} }, 'did not answer after the restarts' unless $after;
    push @{ $m->{notes} }, "probe: $p->{error}" if $p->{error};
    note sprintf "  restart   round %d %-14s %9s req/s, %d failed, %d restarts, answering: %s",
        $round, $srv->name, fmt_num($m->{rps}), $m->{failed}, $restarts, $m->{answering};
    return $m;
}

sub run ($ctx) {
    my $s = start_servers($ctx, scenario => 'restart');
    my $res = interleave($s, $ctx->{opts}{rounds_other}, sub { one($ctx, @_) });
    stop_servers($ctx, $s);
    my %sum;
    for my $name (keys %$res) {
        my $runs = $res->{$name};
        $sum{$name} = summarize($runs, median => [qw(rps cpu_us_req ctx_req longest_gap_ms)],
                                sum => [qw(socket_errors non2xx failed restarts probe_fail)]);
        $sum{$name}{answering} = (grep { $_->{answering} ne 'yes' } @$runs) ? 'no' : 'yes';
    }
    return { restart => \%sum };
}

1;
