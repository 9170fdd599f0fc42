package Loom::Bench::Report;
# Writes benchmarks.md: the machine, the command, then one table per
# scenario case with a row per MPM pair (Loom, stock, ratio, target) and
# nginx as a reference row, every error printed beside its figure.
use v5.36;
use Exporter 'import';
use POSIX qw(strftime);
use Loom::Bench::Util qw(fmt_num spurt);
use Loom::Bench::Metrics qw(show_metric metric_label);
use Loom::Bench::Targets qw(targets_for);

our @EXPORT_OK = qw(write_report);

sub _cell ($case, $s) {
    return 'not built' unless $s;
    my @lines;
    for my $k (@{ $case->{show} }) {
        my $line = show_metric($k, $s->{$k});
        if ($k eq $case->{show}[0] && ($s->{rounds} // 1) > 1 && defined $s->{"${k}_min"}) {
            $line .= sprintf ' (%s–%s)', fmt_num($s->{"${k}_min"}, 0), fmt_num($s->{"${k}_max"}, 0);
        }
        push @lines, $line;
    }
    push @lines, map { "*$_*" } @{ $s->{notes} // [] };
    return join '<br>', @lines;
}

sub _ratios ($case, $l, $s) {
    return '—' unless $l && $s;
    my @r;
    for my $k (@{ $case->{ratio} }) {
        my ($a, $b) = ($l->{$k}, $s->{$k});
        my $label = metric_label($k);
        push @r, (defined $a && defined $b && $b != 0)
            ? sprintf('%s %.2fx', $label, $a / $b) : "$label n/a";
    }
    return join '<br>', @r;
}

# Returns the target cell text and a list of [text, verdict] for the summary.
sub _targets ($case, $mpm, $l, $s, $o) {
    my $t = targets_for($case->{id}, $mpm);
    return ('no target set', []) unless @$t;
    my (@cell, @v);
    for my $x (@$t) {
        my ($text, $test) = @$x;
        $text =~ s/\{(\w+)\}/$o->{$1}/g;
        my $ok = ($l && $s) ? $test->($l, $s, {}) : undef;
        my $verdict = !defined $ok ? 'not measured' : $ok ? 'met' : '**NOT met**';
        push @cell, "$text: $verdict";
        push @v, [$text, $verdict];
    }
    return (join('<br>', @cell), \@v);
}

sub write_report (%a) {
    my ($ctx, $results, $file) = @a{qw(ctx results file)};
    my $o = $ctx->{opts};
    my $f = $ctx->{facts};
    my @mpms = do { my %seen; grep { $_ ne 'nginx' && !$seen{$_}++ } map { $_->{mpm} } @{ $ctx->{lineup} } };
    my (%summary, @body);

    for my $res (@$results) {
        my $case = $res->{case};
        push @body, "### $case->{title}", '', $case->{what}, '';
        if ($res->{skipped}) { push @body, "Not run: $res->{skipped}", ''; next }
        push @body, '| MPM | Loom | stock | Loom / stock | target |', '|---|---|---|---|---|';
        my $sv = $res->{servers};
        for my $m (@mpms) {
            next if $case->{mpms} && !grep { $_ eq $m } @{ $case->{mpms} };
            my ($l, $s) = ($sv->{"loom-$m"}, $sv->{"stock-$m"});
            my ($tcell, $verdicts) = _targets($case, $m, $l, $s, $o);
            push @body, join(' | ', "| $m", _cell($case, $l), _cell($case, $s),
                             _ratios($case, $l, $s), "$tcell |");
            push @{ $summary{$m} }, map { "| $m | $case->{id} | $_->[0] | $_->[1] |" } @$verdicts;
        }
        if (my $n = $sv->{nginx}) {
            push @body, join(' | ', '| nginx (reference)', _cell($case, $n), '—', '—', '— |');
        }
        push @body, '';
    }

    my $when = strftime('%Y-%m-%d %H:%M:%S %Z', localtime $ctx->{started});
    my @head = (
        '# Loom benchmarks', '',
        "Written by `bench/run` on $when. How to run it and how every figure is",
        'computed: [benchmarking.md](benchmarking.md).', '',
    );
    push @head, '**Quick mode** (`--quick`): short runs, one round, fewer connections: '
              . 'a smoke test of the benchmark, not figures to quote.', '' if $o->{quick};
    push @head, '## Machine and run', '',
        "- CPUs: $f->{nproc} ($f->{cpu}), memory $f->{mem}, kernel $f->{kernel}",
        "- Servers: $f->{apache} (stock MPMs from Debian), $f->{nginx} as an outside reference",
        "- Load generators: $f->{wrk}, $f->{h2load}",
        "- Machine load average (1 min) at the start: $f->{load_start}, at the end: $f->{load_end} "
          . '(other work on the machine skews every figure; Loom and stock alike, as they are interleaved)',
        "- Command: `$ctx->{command}`",
        sprintf('- Took %d s. Throughput runs: %s s each, %d round%s interleaved, medians shown '
              . '(range over rounds in brackets); errors are summed over rounds.',
              $ctx->{runtime}, $o->{duration}, $o->{rounds}, $o->{rounds} == 1 ? '' : 's'),
        '- Every server pinned to CPU 0, every load generator and helper to CPU 1 (`taskset`); '
          . 'all on 127.0.0.1; Debian\'s MPM sizing for stock and Loom alike; '
          . 'KeepAliveTimeout 60, MaxKeepAliveRequests 100 everywhere.',
        '- CPU/req and context switches/req count the server\'s live processes and threads '
          . '(CPU also counts children that exited and were reaped by the parent; '
          . 'context switches of threads or children that ended during a run are lost).';
    push @head, map { "- Note: $_" } @{ $ctx->{notes} };
    push @head, '';
    my @summary = map { @{ $summary{$_} // [] } } @mpms;
    if (@summary) {
        push @head, '## Targets', '', '| MPM | scenario | target | verdict |', '|---|---|---|---|',
            @summary, '';
    }
    my @img = grep { -f "$ctx->{out}/img/$_->[0]" } (
        ['rps.png', 'Throughput per scenario and server'],
        ['latency.png', 'Latency percentiles, keepalive scenario'],
        ['memory-idle.png', 'Memory (PSS) against idle connections held']);
    my @plots = @img ? ('## Plots', '', (map { ("![$_->[1]](img/$_->[0])", '') } @img)) : ();
    spurt($file, join("\n", @head, '## Scenarios', '', @body, @plots) . "\n");
}

1;
