package Loom::Bench::Scenario::Ramp;
# 8: from idle to 200 concurrent keep-alive connections at once: how long
# until every connection had its first answer, and the latency meanwhile.
use v5.36;
use Time::HiRes qw(sleep);
use Loom::Bench::Util qw(note fmt_num);
use Loom::Bench::Runner qw(start_servers stop_servers interleave summarize);
use Loom::Bench::Helper qw(ramp_run);

our $CONNS = 200;

sub cases ($ctx) {
    my $o = $ctx->{opts};
    return ({ id => 'ramp', title => "ramp: idle to $CONNS keep-alive connections at once",
              what => "Each server was started for this scenario and left idle; a helper then opens $CONNS "
                    . 'connections at once, each sending GETs back to back (a closed one is replaced). '
                    . '"all answered after": time until every connection had its first response '
                    . "(n/a: not within $o->{ramp_limit} s). p50/p99 over the requests sent in the first "
                    . "$o->{ramp_window} s, measured by the helper (a Perl client, so they include its own delays).",
              show => [qw(all_first_ms answered p50 p99 requests errors)],
              ratio => [qw(all_first_ms p99)] });
}

sub one ($ctx, $srv, $round) {
    my $o = $ctx->{opts};
    my $r = ramp_run(port => $srv->port, conns => $CONNS, window => $o->{ramp_window},
                     limit => $o->{ramp_limit}, dir => $ctx->{tmp});
    $srv->alive or Loom::Bench::Util::fail($srv->name, " died during the ramp:\n", $srv->log_tail);
    my %m = (all_first_ms => $r->{all_first_ms} >= 0 ? $r->{all_first_ms} : undef,
             answered => $r->{answered}, p50 => $r->{p50_ms}, p99 => $r->{p99_ms},
             requests => $r->{requests}, errors => $r->{errors}, notes => []);
    push @{ $m{notes} }, "only $r->{answered} of $CONNS connections answered within $o->{ramp_limit} s"
        if $r->{answered} < $CONNS;
    note sprintf "  ramp      round %d %-14s all answered after %s ms, p99 %s ms",
        $round, $srv->name, fmt_num($m{all_first_ms}), fmt_num($m{p99});
    return \%m;
}

sub run ($ctx) {
    my $s = start_servers($ctx, scenario => 'ramp', settle => 1.5);
    # Each round needs servers that are idle again: one round only.
    my $res = interleave($s, 1, sub { one($ctx, @_) });
    stop_servers($ctx, $s);
    return { ramp => { map { $_ => summarize($res->{$_},
        median => [qw(all_first_ms answered p50 p99 requests)], sum => [qw(errors)]) } keys %$res } };
}

1;
