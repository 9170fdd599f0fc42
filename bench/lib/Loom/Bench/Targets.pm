package Loom::Bench::Targets;
# The goals from the issues, per scenario case and MPM. Each test gets the
# Loom and stock summaries of one pair and answers 1 (met), 0 (not met) or
# undef (cannot tell: a figure is missing). {name} in a text is the option
# of that name (the report fills it in).
use v5.36;
use Exporter 'import';

our @EXPORT_OK = qw(targets_for);

sub _ratio ($l, $s, $k) {
    return undef unless defined $l->{$k} && defined $s->{$k} && $s->{$k} > 0;
    return $l->{$k} / $s->{$k};
}
sub at_least ($k, $x) { sub ($l, $s, $o) { my $r = _ratio($l, $s, $k); defined $r ? ($r >= $x ? 1 : 0) : undef } }
sub at_most  ($k, $x) { sub ($l, $s, $o) { my $r = _ratio($l, $s, $k); defined $r ? ($r <= $x ? 1 : 0) : undef } }
sub below    ($k)     { sub ($l, $s, $o) { my $r = _ratio($l, $s, $k); defined $r ? ($r < 1 ? 1 : 0) : undef } }
sub zero     ($k)     { sub ($l, $s, $o) { defined $l->{$k} ? ($l->{$k} == 0 ? 1 : 0) : undef } }
sub min_pct  ($k, $p) { sub ($l, $s, $o) { defined $l->{$k} ? ($l->{$k} >= $p ? 1 : 0) : undef } }
# Loom's figure no higher than stock's; not a ratio, since stock's may be 0.
sub not_above ($k)    { sub ($l, $s, $o) { defined $l->{$k} && defined $s->{$k}
                                               ? ($l->{$k} <= $s->{$k} ? 1 : 0) : undef } }

my %T = (
    prefork => {
        keepalive => [['rps >= 1.0x stock', at_least('rps', 1.0)],
                      ['p99 <= stock', not_above('p99')]],
        close     => [['rps >= 1.0x stock', at_least('rps', 1.0)]],
        idle      => [['all {idle} idle connections held', sub ($l, $s, $o) {
                            defined $l->{held} ? ($l->{held} >= $l->{asked} ? 1 : 0) : undef }],
                      ['rps >= 90% of no-idle rps', min_pct('rps_vs_base', 90)]],
        slow      => [['rps >= 80% of no-slow rps', min_pct('rps_vs_base', 80)],
                      ['0 failed requests', zero('failed')]],
        php       => [['rps without idle >= 1.0x stock', at_least('rps_base', 1.0)],
                      ['all idle connections held', sub ($l, $s, $o) {
                            defined $l->{held} ? ($l->{held} >= $l->{asked} ? 1 : 0) : undef }]],
    },
    worker => {
        keepalive => [['rps >= 1.15x stock', at_least('rps', 1.15)],
                      ['less CPU/req than stock', below('cpu_us_req')]],
        close     => [['rps >= 1.1x stock', at_least('rps', 1.1)]],
        restart   => [['0 failed requests', zero('failed')]],
    },
    event => {
        keepalive => [['rps >= 1.3x stock', at_least('rps', 1.3)],
                      ['ctx switches/req <= 0.5x stock', at_most('ctx_req', 0.5)],
                      ['0 socket errors', zero('socket_errors')]],
        close     => [['rps >= 1.15x stock', at_least('rps', 1.15)]],
        idle      => [['all {idle} idle connections held', sub ($l, $s, $o) {
                            defined $l->{held} ? ($l->{held} >= $l->{asked} ? 1 : 0) : undef }],
                      ['rps within 10% of no-idle figure', min_pct('rps_vs_base', 90)],
                      ['memory/idle conn <= stock', sub ($l, $s, $o) {
                            return undef unless defined $l->{kb_per_conn} && defined $s->{kb_per_conn};
                            $l->{kb_per_conn} <= $s->{kb_per_conn} ? 1 : 0 }]],
        slow      => [['rps >= 80% of no-slow rps', min_pct('rps_vs_base', 80)],
                      ['0 failed requests', zero('failed')]],
        restart   => [['0 failed requests', zero('failed')]],
        'tls-h1'  => [['rps >= 1.1x stock', at_least('rps', 1.1)]],
        'tls-h2'  => [['rps >= 1.0x stock', at_least('rps', 1.0)],
                      ['slowest connect of 50 <= stock', not_above('connect_max')]],
        'tls-stall' => [['rps >= 90% of no-stall rps', min_pct('rps_vs_base', 90)],
                        ['0 failed requests', zero('failed')]],
        'tls-slowloris' => [['rps >= 90% of no-slowloris rps', min_pct('rps_vs_base', 90)],
                            ['0 failed requests', zero('failed')]],
        metrics   => [['a scrape a second < 1% of one CPU', sub ($l, $s, $o) {
                            defined $l->{cpu_pct_1s} ? ($l->{cpu_pct_1s} < 1 ? 1 : 0) : undef }],
                      ['all {idle} idle connections held', sub ($l, $s, $o) {
                            defined $l->{held} ? ($l->{held} >= $l->{asked} ? 1 : 0) : undef }]],
    },
);

# [[text, test], ...] for one case and MPM; empty when the issues set none.
sub targets_for ($case, $mpm) { return $T{$mpm}{$case} // [] }

1;
