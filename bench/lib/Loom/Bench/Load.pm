package Loom::Bench::Load;
# The load generators, pinned to CPU 1 and bounded by wall clock: wrk for
# HTTP/1.1 and h2load for HTTP/2. Rates are computed here over the wall time
# of the whole window (requests counted / seconds from start to exit).
use v5.36;
use Exporter 'import';
use Loom::Bench::Util qw(fail run_bounded);
use Loom::Wrk qw(wrk_cmd wrk_parse);

# Seconds a tool may run past its duration before `timeout` ends it.
sub grace ($duration) { 1 + $duration / 2 }

our @EXPORT_OK = qw(wrk h2load);
our $LOAD_CPU = 1;

my %UNIT_T = (us => 0.001, ms => 1, s => 1000, m => 60_000, h => 3_600_000);

sub _ms ($v, $u) { $v * $UNIT_T{$u} }

# %a: url, conns, duration, headers => [..], dir, during => sub ($pid, $t0).
sub wrk (%a) {
    my $g = grace($a{duration});
    # On SIGINT wrk stops and prints what it has: a run that overran its
    # window still counts what it got.
    my $r = run_bounded(limit => $a{duration} + $g, dir => $a{dir}, during => $a{during},
        signal => 'INT',
        cmd => [wrk_cmd(cpu => $LOAD_CPU, conns => $a{conns}, seconds => $a{duration},
                        timeout => '2s', headers => $a{headers}, url => $a{url})]);
    my %m = (tool => 'wrk', wall => $r->{wall}, requests => 0, bytes => 0,
             err_connect => 0, err_read => 0, err_write => 0, err_timeout => 0,
             non2xx => 0, notes => []);
    my $o = $r->{out};
    my $p = wrk_parse($o);
    if (defined $p->{elapsed_ms}) {
        $m{$_} = $p->{$_} for grep { defined $p->{$_} }
            qw(requests bytes p50 p75 p90 p99 err_connect err_read err_write
               err_timeout non2xx);
        $m{tool_rps} = $p->{requests} / ($p->{elapsed_ms} / 1000) if $p->{elapsed_ms} > 0;
        push @{ $m{notes} }, "wrk overran its $a{duration}+${g}s window and was interrupted; counted what it reported"
            if $r->{timed_out};
    } elsif ($r->{timed_out}) {
        push @{ $m{notes} }, "wrk did not finish in its $a{duration}+${g}s window"
            . ($o eq '' ? ' (its first connection never completed: a full listen queue?)' : '')
            . '; counted 0';
    } elsif ("$o$r->{err}" =~ /unable to connect[^\n]*/) {
        push @{ $m{notes} }, "wrk: $&";
        $m{err_connect} = $a{conns};
    } else {
        fail "wrk could not run (exit $r->{rc}): $r->{err}$o";
    }
    return _rates(\%m);
}

# HTTP/2 over TLS. %a: url, conns, streams, duration, dir.
sub h2load (%a) {
    my $g = grace($a{duration});
    my $r = run_bounded(limit => $a{duration} + $g, dir => $a{dir},
        cmd => ['taskset', '-c', $LOAD_CPU, 'h2load', '-t1', "-c$a{conns}",
                "-m$a{streams}", '-D', $a{duration}, $a{url}]);
    my %m = (tool => 'h2load', wall => $r->{wall}, requests => 0, bytes => 0,
             err_connect => 0, err_read => 0, err_write => 0, err_timeout => 0,
             non2xx => 0, notes => []);
    my $o = $r->{out};
    if ($o =~ /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/) {
        my ($done, $failed, $errored, $timeout) = ($3, $5, $6, $7);
        # Answered requests only, as wrk counts them: a stream that ended in
        # an error or a timeout is "done" to h2load but got no response.
        $m{requests} = $done - $errored - $timeout;
        $m{err_read} = $errored;
        $m{err_timeout} = $timeout;
        $m{non2xx} = $1 + $2 if $o =~ /status codes: \d+ 2xx, \d+ 3xx, (\d+) 4xx, (\d+) 5xx/;
        my $other = $failed - $errored - $timeout - $m{non2xx};
        $m{h2_failed} = $other > 0 ? $other : 0;
        $m{bytes} = $1 if $o =~ /traffic: .*?\((\d+)\) total/;
        if ($o =~ /time for request:\s+([\d.]+)(\w+)\s+([\d.]+)(\w+)\s+([\d.]+)(\w+)/) {
            $m{lat_max} = _ms($3, $4);
            $m{lat_mean} = _ms($5, $6);
        }
        # From the start of a connect to the end of its TLS handshake (h2load
        # takes the time when the handshake is done); the slowest of them.
        $m{connect_max} = _ms($1, $2) if $o =~ /time for connect:\s+[\d.]+\w+\s+([\d.]+)(\w+)/;
        $m{err_connect} = $1 if $o =~ /(\d+) connection\(s\) failed/ ;
        push @{ $m{notes} }, 'h2load: no protocol negotiated' if $o =~ /No protocol negotiated/;
    } elsif ($r->{timed_out}) {
        push @{ $m{notes} }, "h2load did not finish in its $a{duration}+${g}s window; counted 0";
    } else {
        fail "h2load could not run (exit $r->{rc}): $r->{err}$o";
    }
    return _rates(\%m);
}

sub _rates ($m) {
    $m->{rps} = $m->{wall} > 0 ? $m->{requests} / $m->{wall} : 0;
    $m->{bytes_s} = $m->{wall} > 0 ? $m->{bytes} / $m->{wall} : 0;
    $m->{mib_s} = $m->{bytes_s} / 1024 / 1024;
    # No answer, no latency: wrk prints zeros then. Requests that never
    # complete are no error to wrk either, so say it.
    # h2load prints zeros for connect times when no connection got through.
    unless ($m->{requests}) {
        delete @$m{qw(p50 p75 p90 p99 lat_mean lat_max connect_max)};
        push @{ $m->{notes} }, "no request was answered in the window (requests never answered are not counted as errors)"
            unless @{ $m->{notes} };
    }
    $m->{socket_errors} = $m->{err_connect} + $m->{err_read} + $m->{err_write} + $m->{err_timeout};
    $m->{failed} = $m->{socket_errors} + $m->{non2xx} + ($m->{h2_failed} // 0);
    return $m;
}

1;
