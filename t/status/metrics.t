# The loom-metrics handler, read by the real tools: promtool accepts its
# text output; a real Prometheus scrapes it (in OpenMetrics, which it asks
# for first) and its queries count a crowd of idle keep-alive connections;
# requests are counted without mod_status; a crashed child counts by its
# signal; the counters go on across a graceful restart (Prometheus sees no
# reset) and a hard one.
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

# No mod_status: Loom counts requests itself.
my $s = Loom::Server->new(conf => <<'CONF');
KeepAlive On
KeepAliveTimeout 60
MaxKeepAliveRequests 0
Timeout 60
<Location /metrics>
    SetHandler loom-metrics
</Location>
CONF
$s->start;

sub ask ($method, $accept = undef) {
    my $r = Loom::HTTP::get_raw($s->port, "$method /metrics HTTP/1.0\r\nHost: localhost\r\n"
        . ($accept ? "Accept: $accept\r\n" : '') . "\r\n", 5) // '';
    my ($head, $body) = split /\r\n\r\n/, $r, 2;
    return ($head // '', $body // '');
}
sub scrape ($accept = undef) { ask('GET', $accept) }
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
my ($head_head, $head_body) = ask('HEAD');
ok $head_head =~ m{^HTTP/1\.1 200 } && $head_body eq '', 'HEAD: 200, no body';
like((ask('POST'))[0], qr{^HTTP/1\.1 405 .*^Allow: [^\r]*GET}ms, 'POST: 405, Allow names GET');

# A real Prometheus, scraping every other second.
my $pport = Loom::Server::free_port();
open $fh, '>', "$dir/prometheus.yml" or die $!;
printf $fh <<'YML', $s->port;
global:
  scrape_interval: 2s
  scrape_timeout: 2s
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
my $req0 = value((scrape())[1], 'loom_requests_total');
my @c = connect_many($s->port, $N);
my $served = grep { ($_ // 0) == 200 } get_all(\@c, timeout => 10);
is $served, $N, "$N connections served once, now idle";
my $req1 = value((scrape())[1], 'loom_requests_total');
# The scrape before may not be counted yet: a request counts once logged,
# which may be after its client has read the answer.
ok $req1 - $req0 >= $N && $req1 - $req0 <= $N + 20,
    "loom_requests_total counts them ($req0 -> $req1; and scrapes)";
# Prometheus's own scrape connection idles in keep-alive between scrapes.
my $ka = query_until('loom_connections{state="keepalive"}', sub { $_[0] >= $N }, 15);
ok defined $ka && $ka >= $N && $ka <= $N + 1,
    "Prometheus counts them in keep-alive: $N (+1 for its own): got " . ($ka // 'none');
my $diff = query_until('loom_connections{state="keepalive"} - scalar(sum('
                       . 'loom_process_connections{state="keepalive"}))', sub { $_[0] == 0 }, 10);
is $diff, 0, 'the processes\' counts add up to the total (in one scrape)';
close $_ for @c;
my $gone = query_until('loom_connections{state="keepalive"}', sub { $_[0] <= 1 }, 15);
ok defined $gone && $gone <= 1, 'and stops counting them once they close';

# A crash, counted by its signal.
my (undef, $now) = scrape();
my $crashes0 = value($now, 'loom_child_crashes_total{cause="SIGSEGV"}');
my $exits0 = value($now, 'loom_child_exits_total');
my ($victim) = $now =~ /^loom_process_connections\{slot="\d+",pid="(\d+)"/m;
defined $victim or BAIL_OUT('no child process in the scrape');
ok kill('SEGV', $victim), "SIGSEGV sent to child $victim";
$s->wait_until(sub { (undef, $now) = scrape();
    (value($now, 'loom_child_crashes_total{cause="SIGSEGV"}') // 0) > $crashes0 }, 10);
is value($now, 'loom_child_crashes_total{cause="SIGSEGV"}'), $crashes0 + 1,
    'a child killed by SIGSEGV counts once under cause="SIGSEGV"'
    or diag join "\n", grep { /crash|exits/ } split /\n/, $now;
ok value($now, 'loom_child_exits_total') > $exits0, 'and as an exit';

# A graceful restart, once Prometheus has the crash: no counter goes back.
query_until('loom_child_crashes_total{cause="SIGSEGV"}', sub { $_[0] >= 1 }, 10);
sub restart_keeps_counting ($how, $sig) {
    my (undef, $before) = scrape();
    my ($r0, $starts0, $gen0) = map { value($before, $_) }
        qw(loom_requests_total loom_child_starts_total loom_generation);
    $s->signal($sig);
    my $after;
    $s->wait_until(sub { (undef, $after) = scrape();
        (value($after, 'loom_generation') // 0) > $gen0
            && (value($after, 'loom_child_starts_total') // 0) > $starts0 }, 15);
    ok value($after, 'loom_generation') > $gen0, "$how restart: the generation moved on";
    ok value($after, 'loom_requests_total') > $r0
        && value($after, 'loom_child_starts_total') > $starts0,
        "$how restart: requests and child starts went on from where they were";
    is value($after, "loom_restarts_total{kind=\"$how\"}"), 1, "$how restart: counted";
    is value($after, 'loom_child_crashes_total{cause="SIGSEGV"}'), 1,
        "$how restart: the crash is still counted";
    return $gen0;
}
my $gen0 = restart_keeps_counting('graceful', 'graceful');
my $seen = query_until('loom_generation', sub { $_[0] > $gen0 }, 15);
ok defined $seen && $seen > $gen0, 'Prometheus scraped the new generation';
my @series = (qw(loom_requests_total loom_child_starts_total loom_child_exits_total),
              'loom_child_crashes_total{cause="SIGSEGV"}');
my $resets = query(join ' + ', map { "sum(resets($_\[2m]))" } @series);
my @each = map { my $r = query(sprintf 'sum(resets(%s[2m]))', $_) // 'none'; "$_: $r" } @series;
is $resets, 0, 'Prometheus saw no counter reset across the restart'
    or diag "resets: @each";

restart_keeps_counting('hard', 'restart');

$s->stop;
done_testing;
