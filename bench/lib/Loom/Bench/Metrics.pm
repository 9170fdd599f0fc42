package Loom::Bench::Metrics;
# How each measured figure is named and printed in the report.
use v5.36;
use Exporter 'import';
use Loom::Bench::Util qw(fmt_num);

our @EXPORT_OK = qw(show_metric metric_label is_error);

# key => [label, unit, digits (undef: automatic), kind]; kind 'error' is
# printed in bold when not zero.
my %M = (
    rps            => ['', 'req/s', 0],
    rps_base       => ['without', 'req/s', 0],
    rps_vs_base    => ['', '% of that', 1],
    p50            => ['p50', 'ms', undef],
    p99            => ['p99', 'ms', undef],
    lat_mean       => ['mean latency', 'ms', undef],
    lat_max        => ['max latency', 'ms', undef],
    connect_max    => ['slowest connect', 'ms', undef],
    mib_s          => ['', 'MiB/s', 1],
    cpu_us_req     => ['CPU', 'µs/req', 1],
    ctx_req        => ['ctx switches', '/req', 3],
    socket_errors  => ['socket errors', '', 0, 'error'],
    non2xx         => ['non-2xx/3xx', '', 0, 'error'],
    failed         => ['failed', '', 0, 'error'],
    held_opened    => ['held once opened', '', 0],
    held           => ['held at end', '', 0],
    asked          => ['of', 'opened', 0],
    pss_base_mb    => ['PSS before', 'MB', 1],
    pss_mb         => ['PSS with idle', 'MB', 1],
    kb_per_conn    => ['memory', 'kB/idle conn held', 2],
    slow_held      => ['slowloris conns held', '', 0],
    stall_held     => ['stalled handshakes held', '', 0],
    kb_per_stall   => ['memory', 'kB/stalled handshake held', 2],
    tls_slow_held  => ['slow TLS heads held', '', 0],
    kb_per_tls_slow => ['memory', 'kB/slow TLS head held', 2],
    us_scrape      => ['CPU', 'µs/scrape', 1],
    cpu_pct_1s     => ['', '% of a CPU at 1 scrape/s', 3],
    scrape_ms      => ['', 'ms/scrape', 2],
    scrape_kb      => ['', 'kB/scrape', 1],
    us_scrape_base => ['without the crowd', 'µs/scrape', 1],
    restarts       => ['graceful restarts', '', 0],
    probe_fail     => ['probe failures', '', 0, 'error'],
    longest_gap_ms => ['longest gap between answers', 'ms', 0],
    answering      => ['kept answering', '', 'text'],
    all_first_ms   => ['all 200 answered after', 'ms', 0],
    answered       => ['slots answered', '', 0],
    errors         => ['errors', '', 0, 'error'],
    requests       => ['', 'requests', 0],
);

sub metric_label ($key) { $M{$key} ? ($M{$key}[0] || $M{$key}[1]) : $key }
sub is_error ($key) { ($M{$key}[3] // '') eq 'error' }

# "label value unit", bold when an error count is not zero.
sub show_metric ($key, $v) {
    my ($label, $unit, $digits, $kind) = @{ $M{$key} // [$key, '', undef] };
    my $text = ($digits // '') eq 'text' ? ($v // 'n/a') : fmt_num($v, $digits);
    my $s = join ' ', grep { length } $label, $text, defined $v ? $unit : ();
    $s = "**$s**" if ($kind // '') eq 'error' && defined $v && $v > 0;
    return $s;
}

1;
