package Loom::Bench::Plot;
# PNG plots with gnuplot: throughput per scenario and server, keep-alive
# latency percentiles, and memory against idle connections held.
use v5.36;
use Exporter 'import';
use Loom::Bench::Util qw(fail spurt run_bounded);

our @EXPORT_OK = qw(write_plots);

my $TERM = "set terminal pngcairo size 1100,560 font 'sans,10'";

sub _gnuplot ($dir, $name, $script) {
    spurt("$dir/$name.gp", $script);
    my $r = run_bounded(limit => 60, dir => $dir, cmd => ['gnuplot', "$dir/$name.gp"]);
    fail "gnuplot failed on $name: $r->{err}" if $r->{rc} != 0;
}

# One colour per MPM: Loom dark, stock light (and dashed in line plots).
my %COLOUR = ('loom-prefork' => '#7b3294', 'stock-prefork' => '#c2a5cf',
              'loom-worker'  => '#0571b0', 'stock-worker'  => '#92c5de',
              'loom-event'   => '#008837', 'stock-event'   => '#a6dba0',
              'nginx'        => '#777777');
sub _bar ($name)  { sprintf "lc rgb '%s'", $COLOUR{$name} // '#000000' }
sub _line ($name) { sprintf "lc rgb '%s' dt %d", $COLOUR{$name} // '#000000', $name =~ /^stock/ ? 2 : 1 }

# Log scales: nothing (or zero) is a missing point.
sub _v ($x) { defined $x && $x > 0 ? sprintf('%.6g', $x) : '?' }


# %a: results (as for the report), names (server names in order), tmp, img.
sub write_plots (%a) {
    my ($results, $names, $tmp, $img) = @a{qw(results names tmp img)};
    mkdir $img unless -d $img;
    unlink map { "$img/$_" } qw(rps.png latency.png memory-idle.png);    # no stale plots
    my @made;

    # 1. Throughput: one cluster per scenario case, one bar per server.
    my @rows = grep { !$_->{skipped} && grep { $_ eq 'rps' } @{ $_->{case}{show} } } @$results;
    # gnuplot refuses a series without a single point: leave such servers out.
    my $all = $names;
    $names = [grep { my $n = $_; grep { _v($_->{servers}{$n} && $_->{servers}{$n}{rps}) ne '?' } @rows } @$all];
    my $dat = join '', map {
        my $sv = $_->{servers};
        join(' ', qq("$_->{case}{id}"), map { _v($sv->{$_} && $sv->{$_}{rps}) } @$names) . "\n"
    } @rows;
    if (@rows && @$names) {
        spurt("$tmp/rps.dat", $dat);
        my @plot = map { sprintf q('%s' using %d%s %s title '%s'), $_ ? '' : "$tmp/rps.dat",
                         $_ + 2, $_ ? '' : ':xtic(1)', _bar($names->[$_]), $names->[$_] } 0 .. $#$names;
        _gnuplot($tmp, 'rps', <<"END");
$TERM
set output '$img/rps.png'
set title 'Requests per second (median over rounds; log scale)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set yrange [1:*]
set ylabel 'requests/s'
set grid ytics
set key outside right top
set xtics rotate by -25
set datafile missing '?'
plot @{[ join ', ', @plot ]}
END
        push @made, 'rps.png';
    }

    # 2. Latency percentiles of the keepalive scenario.
    my ($ka) = grep { $_->{case}{id} eq 'keepalive' && !$_->{skipped} } @$results;
    my @p = qw(50 75 90 99);
    $names = [grep { $ka && $ka->{servers}{$_} && _v($ka->{servers}{$_}{p50}) ne '?' } @$all];
    my $lat = $ka && join '', map { my $p = $_;
        join(' ', map { _v($ka->{servers}{$_} && $ka->{servers}{$_}{"p$p"}) } @$names) . "\n" } @p;
    if ($ka && @$names) {
        my @l = split /\n/, $lat;
        my $dat = join '', map { "$p[$_] $l[$_]\n" } 0 .. $#p;
        spurt("$tmp/latency.dat", $dat);
        my @plot = map { sprintf q('%s' using 1:%d with linespoints lw 2 %s title '%s'),
                         $_ ? '' : "$tmp/latency.dat", $_ + 2, _line($names->[$_]), $names->[$_] } 0 .. $#$names;
        _gnuplot($tmp, 'latency', <<"END");
$TERM
set output '$img/latency.png'
set title 'keepalive: latency percentiles (wrk, 50 connections)'
set xlabel 'percentile'
set ylabel 'latency (ms)'
set logscale y
set grid
set key outside right top
set xtics ('p50' 50, 'p75' 75, 'p90' 90, 'p99' 99)
set xrange [45:104]
set datafile missing '?'
plot @{[ join ', ', @plot ]}
END
        push @made, 'latency.png';
    }

    # 3. Memory against idle connections held.
    my ($idle) = grep { $_->{case}{id} eq 'idle' && !$_->{skipped} } @$results;
    $names = $all;
    if ($idle) {
        my @plot;
        for my $i (0 .. $#$names) {
            my $c = $idle->{servers}{ $names->[$i] } && $idle->{servers}{ $names->[$i] }{curve} or next;
            spurt("$tmp/mem-$i.dat", join '', map { "$_->[0] $_->[1]\n" } @$c);
            push @plot, sprintf q('%s' using 1:2 with linespoints lw 2 %s title '%s'),
                "$tmp/mem-$i.dat", _line($names->[$i]), $names->[$i];
        }
        if (@plot) {
            _gnuplot($tmp, 'memory', <<"END");
$TERM
set output '$img/memory-idle.png'
set title 'idle: memory of all server processes (PSS) against idle connections answered'
set xlabel 'idle keep-alive connections answered (held or not: see the table)'
set ylabel 'PSS (MB)'
set grid
set key outside right top
plot @{[ join ', ', @plot ]}
END
            push @made, 'memory-idle.png';
        }
    }
    return \@made;
}

1;
