package Loom::Bench::Runner;
# What every scenario does the same way: start its servers, interleave them
# round by round, measure one load run with the server's CPU and context
# switches around it, and reduce the rounds to medians.
use v5.36;
use Exporter 'import';
use Time::HiRes qw(time sleep);
use Loom::Bench::Util qw(note fail free_port median);
use Loom::Bench::Server;
use Loom::Bench::Proc qw(sample delta);
use Loom::Bench::Load qw(wrk h2load);

our @EXPORT_OK = qw(start_servers stop_servers measure_load interleave summarize);

# Starts one server per lineup entry (filtered by `mpms` when given) with
# the scenario's options (tls, h2). All start at once, then each must answer.
sub start_servers ($ctx, %o) {
    my @specs = @{ $ctx->{lineup} };
    if ($o{mpms}) {
        my %ok = map { $_ => 1 } @{ $o{mpms} }, 'nginx';
        @specs = grep { $ok{ $_->{mpm} } } @specs;
    }
    my @s;
    for my $spec (@specs) {
        my $n = ++$ctx->{server_seq};
        my $srv = Loom::Bench::Server->new(
            %$spec, dir => "$ctx->{tmp}/$n-$spec->{name}-$o{scenario}",
            port => free_port($ctx->{ports}), docroot => $ctx->{docroot},
            user => $ctx->{user}, group => $ctx->{group}, nofile => $ctx->{nofile},
            tls => $o{tls} ? $ctx->{cert} : undef, h2 => $o{h2},
            extra => ($spec->{extra} // '') . ($o{extra} // ''));
        push @{ $ctx->{live} }, $srv;
        push @s, $srv->start;
    }
    $_->wait_ready for @s;
    sleep($o{settle} // $ctx->{opts}{settle});
    note "  servers up: ", join ', ', map { $_->name . ':' . $_->port } @s;
    return \@s;
}

sub stop_servers ($ctx, $servers) {
    $_->stop for @$servers;
    my %gone = map { $_ => 1 } @$servers;
    $ctx->{live} = [grep { !$gone{$_} } @{ $ctx->{live} }];
}

# One load run against `srv`: wrk (default) or h2load (tool => 'h2load'),
# with the server's CPU time and context switches per request. Fails the
# run if the server died.
sub measure_load ($ctx, $srv, %a) {
    my $tool = delete $a{tool} // 'wrk';
    my $before = sample($srv->pid);
    my $m = $tool eq 'h2load'
        ? h2load(dir => $ctx->{tmp}, url => $srv->url($a{path}), conns => $a{conns},
                 streams => $a{streams}, duration => $a{duration})
        : wrk(dir => $ctx->{tmp}, url => $srv->url($a{path}), conns => $a{conns},
              duration => $a{duration}, headers => $a{headers}, during => $a{during});
    my $after = sample($srv->pid);
    $srv->alive or fail $srv->name, " died during a load run:\n", $srv->log_tail;
    my $d = delta($before, $after, $m->{requests});
    @$m{keys %$d} = values %$d;
    $m->{nproc} = $after->{nproc};
    return $m;
}

# Calls $run->($srv, $round) for every server, round after round; odd rounds
# go in reverse so no server always runs first. Returns { name => [results] }.
sub interleave ($servers, $rounds, $run) {
    my %res;
    for my $r (1 .. $rounds) {
        my @order = $r % 2 ? @$servers : reverse @$servers;
        for my $srv (@order) {
            push @{ $res{ $srv->name } }, $run->($srv, $r);
        }
    }
    return \%res;
}

# Medians of `median` keys, sums of `sum` keys, min/max of the first median
# key, and every note, over the rounds of one server.
sub summarize ($runs, %k) {
    my %s = (rounds => scalar @$runs);
    for my $key (@{ $k{median} // [] }) {
        $s{$key} = median(map { $_->{$key} } @$runs);
    }
    for my $key (@{ $k{sum} // [] }) {
        my @v = grep { defined } map { $_->{$key} } @$runs;
        $s{$key} = @v ? eval { my $t = 0; $t += $_ for @v; $t } : undef;
    }
    if (my $main = $k{median}[0]) {
        my @v = sort { $a <=> $b } grep { defined } map { $_->{$main} } @$runs;
        @s{"${main}_min", "${main}_max", "${main}_all"} = ($v[0], $v[-1], [map { $_->{$main} } @$runs]) if @v;
    }
    my %seen;
    $s{notes} = [grep { !$seen{$_}++ } map { @{ $_->{notes} // [] } } @$runs];
    return \%s;
}

1;
