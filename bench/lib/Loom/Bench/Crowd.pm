package Loom::Bench::Crowd;
# The round that slow, tls-stall and tls-slowloris share: the keep-alive
# load alone, then a crowd of the `conns` helper's clients opened, then the
# same load beside them. What the real clients get with the crowd, against
# what they got without it, is the figure; how many of the crowd the
# server still held at the end, and (where asked) the server's memory per
# client held, go beside it.
use v5.36;
use Exporter 'import';
use Loom::Bench::Util qw(note fmt_num);
use Loom::Bench::Runner qw(measure_load);
use Loom::Bench::Helper qw(conns_start conns_cmd conns_stop);
use Loom::Bench::Proc qw(server_pids);
use Loom::Proc qw(pss_kb);

our @EXPORT_OK = qw(crowd_round);

=head1 Loom::Bench::Crowd

C<crowd_round($ctx, $srv, $round, %o)> runs one round against C<$srv> and
returns its metrics (measure_load's, plus C<rps_base> and C<rps_vs_base>).
C<%o>:

  id      the scenario's name, for the progress line
  mode    the helper's mode (slow, tlsstall, tlsslow)
  helper  more of conns_start's arguments (hello, interval)
  crowd   what the notes call the crowd ("stalled clients")
  opened  what a client short of the crowd failed to do ("were accepted
          by the kernel")
  held    the metric that counts the clients held at the end
  kb_per  the metric of memory per client held (PSS of the whole server
          with the crowd, less before, over the clients held when it was
          read); none: memory is not read

=cut

sub _pss ($srv) { pss_kb(@{ server_pids($srv->pid) }) }

sub crowd_round ($ctx, $srv, $round, %o) {
    my $opts = $ctx->{opts};
    my %load = (path => '/small.html', conns => 50, duration => $opts->{duration});
    my $base = measure_load($ctx, $srv, %load);
    my $pss0 = $o{kb_per} ? _pss($srv) : undef;
    my $h = conns_start(port => $srv->port, mode => $o{mode}, nofile => $ctx->{nofile},
                        limit => $opts->{open_limit}, stall => $opts->{stall},
                        dir => $ctx->{tmp}, %{ $o{helper} // {} });
    my $open = conns_cmd($h, "open $opts->{slow}");
    my ($kb_per, $held_then);
    if ($o{kb_per}) {
        my $pss1 = _pss($srv);
        # A server that takes the crowd slowly (stock, as it starts
        # children) still takes some of it during the load: the memory is
        # per client it held when its PSS was read.
        $held_then = conns_cmd($h, 'check')->{held};
        $kb_per = defined $pss0 && defined $pss1 && $held_then
            ? ($pss1 - $pss0) / $held_then : undef;
    }
    my $m = measure_load($ctx, $srv, %load);
    my $held = conns_cmd($h, 'check')->{held};
    conns_stop($h);
    $m->{rps_base} = $base->{rps};
    $m->{rps_vs_base} = $base->{rps} ? 100 * $m->{rps} / $base->{rps} : undef;
    $m->{$o{held}} = $held;
    $m->{$o{kb_per}} = $kb_per if $o{kb_per};
    push @{ $m->{notes} }, "only $open->{connected} of $opts->{slow} $o{crowd} $o{opened}"
        . (defined $held_then ? "; $held_then held then" : '')
        if $open->{connected} < $opts->{slow};
    push @{ $m->{notes} }, "without the $o{crowd}: $base->{failed} failed requests" if $base->{failed};
    note sprintf "  %-13s round %d %-14s %9s req/s (without: %s), %d failed, %d held",
        $o{id}, $round, $srv->name, fmt_num($m->{rps}), fmt_num($base->{rps}),
        $m->{failed}, $held // 0;
    return $m;
}

1;
