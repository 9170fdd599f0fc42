# The loom-metrics handler, read by the real tools: promtool accepts its
# text output; a real Prometheus scrapes it (in OpenMetrics, which it asks
# for first) and its queries count a crowd of idle keep-alive connections;
# the counters go on across a graceful restart (Prometheus sees no reset)
# and count a crashed child by its signal.
use v5.36;
use Test::More;
use Time::HiRes qw(sleep time);
use JSON::PP;
use URI::Escape qw(uri_escape);
use Loom::Server;
use Loom::HTTP;
use Loom::Slow qw(connect_many get_all);

my $mpm = Loom::Server::mpm_or_skip(qw(prometheus promtool));
plan skip_all => 'loom-metrics is a Loom handler' if $mpm =~ /^stock-/;
my $N = 40;

my $s = Loom::Server->new(modules => ['status'], conf => <<'CONF');
ExtendedStatus On
KeepAlive On
KeepAliveTimeout 60
MaxKeepAliveRequests 0
Timeout 60
<Location /metrics>
    SetHandler loom-metrics
</Location>
CONF
$s->start;

sub scrape ($accept = undef) {
    my $r = Loom::HTTP::get_raw($s->port, "GET /metrics HTTP/1.0\r\nHost: localhost\r\n"
        . ($accept ? "Accept: $accept\r\n" : '') . "\r\n", 5) // '';
    my ($head, $body) = split /\r\n\r\n/, $r, 2;
    return ($head // '', $body // '');
}
sub value ($body, $series) {
    return $body =~ /^\Q$series\E (\S+)$/m ? $1 : undef;
}

# promtool's lint reads Prometheus's older text format, which a scraper
# that does not ask for OpenMetrics gets.
my (undef, $text) = scrape();
my $dir = $s->dir;
open my $fh, '>', "$dir/metrics.txt" or die $!;
print $fh $text;
close $fh;
my $lint = `promtool check metrics < $dir/metrics.txt 2>&1`;
is $? >> 8, 0, 'promtool check metrics accepts the text format' or diag $lint;
is $lint, '', 'with no lint complaint';

my ($om_head, $om) = scrape('application/openmetrics-text;version=1.0.0');
like $om_head, qr{^Content-Type: application/openmetrics-text; version=1\.0\.0}mi,
    'OpenMetrics when asked for';
ok $om =~ /^# TYPE loom_requests counter$/m && $om =~ /^loom_requests_total \d+$/m
    && $om =~ /\n# EOF\n\z/, 'counter families named bare, samples with _total, # EOF last';

# A real Prometheus, scraping every second.
my $pport = Loom::Server::free_port();
open $fh, '>', "$dir/prometheus.yml" or die $!;
printf $fh <<'YML', $s->port;
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: loom
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:%d']
YML
close $fh;
my $prom = fork // die "fork: $!";
if ($prom == 0) {
    open STDOUT, '>', "$dir/prometheus.log";
    open STDERR, '>&', \*STDOUT;
    exec 'prometheus', "--config.file=$dir/prometheus.yml",
        "--storage.tsdb.path=$dir/tsdb", "--web.listen-address=127.0.0.1:$pport",
        '--log.level=warn';
    die "exec prometheus: $!";
}
END { kill 'TERM', $prom if $prom; waitpid $prom, 0 if $prom }

sub query ($q) {
    my $r = Loom::HTTP::get_raw($pport, 'GET /api/v1/query?query=' . uri_escape($q)
        . " HTTP/1.0\r\nHost: localhost\r\n\r\n", 5) // return undef;
    my (undef, $body) = split /\r\n\r\n/, $r, 2;
    my $j = eval { decode_json($body // '') } or return undef;
    my $res = $j->{data}{result} or return undef;
    return @$res ? $res->[0]{value}[1] : undef;
}
sub query_until ($q, $ok, $timeout = 20) {
    my ($v, $end) = (undef, time + $timeout);
    while (time < $end) {
        $v = query($q);
        return $v if defined $v && $ok->($v);
        sleep 0.5;
    }
    return $v;
}

my $up = query_until('up{job="loom"}', sub { $_[0] == 1 }, 30);
is $up, 1, 'Prometheus scrapes the endpoint (up == 1, in OpenMetrics)'
    or diag `tail -5 $dir/prometheus.log`;

# A crowd of idle keep-alive connections: served once, then left idle.
my @c = connect_many($s->port, $N);
my $served = grep { ($_ // 0) == 200 } get_all(\@c, timeout => 10);
is $served, $N, "$N connections served once, now idle";
# Prometheus's own scrape connection idles in keep-alive between scrapes.
my $ka = query_until('loom_connections{state="keepalive"}', sub { $_[0] >= $N }, 15);
ok defined $ka && $ka >= $N && $ka <= $N + 1,
    "Prometheus counts them in keep-alive: $N (+1 for its own): got " . ($ka // 'none');
my $sum = query('sum(loom_process_connections{state="keepalive"})');
is $sum, $ka, 'the processes\' counts add up to the total';
close $_ for @c;
my $gone = query_until('loom_connections{state="keepalive"}', sub { $_[0] <= 1 }, 15);
ok defined $gone && $gone <= 1, 'and stops counting them once they close';

# A crash, counted by its signal.
my (undef, $after) = scrape();
my $crashes0 = value($after, 'loom_child_crashes_total{cause="SIGSEGV"}');
my $exits0 = value($after, 'loom_child_exits_total');
my ($victim) = $after =~ /^loom_process_connections\{slot="\d+",pid="(\d+)"/m;
ok kill('SEGV', $victim), "SIGSEGV sent to child $victim";
my $crashed;
$s->wait_until(sub { (undef, $crashed) = scrape();
    (value($crashed, 'loom_child_crashes_total{cause="SIGSEGV"}') // 0) > $crashes0 }, 10);
is value($crashed, 'loom_child_crashes_total{cause="SIGSEGV"}'), $crashes0 + 1,
    'a child killed by SIGSEGV counts once under cause="SIGSEGV"'
    or diag join "\n", grep { /crash|exits/ } split /\n/, $crashed;
ok value($crashed, 'loom_child_exits_total') > $exits0, 'and as an exit';

# A graceful restart: no counter goes back, once Prometheus has the crash.
query_until('loom_child_crashes_total{cause="SIGSEGV"}', sub { $_[0] >= 1 }, 10);
my (undef, $before) = scrape();
my ($req0, $starts0, $gen0) = map { value($before, $_) }
    qw(loom_requests_total loom_child_starts_total loom_generation);
$s->signal('graceful');
$s->wait_until(sub { (undef, $after) = scrape();
    (value($after, 'loom_generation') // 0) > $gen0
        && (value($after, 'loom_child_starts_total') // 0) > $starts0 }, 15);
ok value($after, 'loom_generation') > $gen0, 'the generation moved on';
ok value($after, 'loom_requests_total') >= $req0
    && value($after, 'loom_child_starts_total') > $starts0,
    'requests and child starts went on from where they were';
is value($after, 'loom_restarts_total{kind="graceful"}'), 1, 'one graceful restart counted';
is value($after, 'loom_child_crashes_total{cause="SIGSEGV"}'), 1, 'the crash is still counted';
sleep 3;     # a few scrapes after the restart
my $resets = query(join ' + ', map { "sum(resets($_\[2m]))" }
    qw(loom_requests_total loom_child_starts_total loom_child_exits_total),
    'loom_child_crashes_total{cause="SIGSEGV"}');
my @each = map { my $r = query(sprintf 'resets(%s[2m])', $_) // 'none'; "$_: $r" }
    qw(loom_requests_total loom_child_starts_total loom_child_exits_total);
is $resets, 0, 'Prometheus saw no counter reset across the restart'
    or diag "resets: @each";

$s->stop;
done_testing;
