# loom_event only: the gate (docs/architecture.md) and HTTP/2. The main
# connection of an HTTP/2 session is served by code that mostly waits on
# its own: mod_http2 sleeps in its poll while the streams run on its own
# threads. A thread that takes such a connection steps aside at once (it
# stops counting against the gate's budget and another thread is called to
# watch the poller), instead of holding the child's one budget slot until
# the housekeeper sees it asleep (up to 2 ms later, each time, which held
# HTTP/2 throughput clearly below that of the same build without a gate).
#
# How it is seen: the server runs pinned to one CPU (taskset), so the
# budget is 1, with the housekeeper's findings logged (LOOM1203, at
# trace2). First an HTTP/1.1 request to a CGI that sleeps 50 ms: its
# thread is found asleep, which shows that the check below can fail. Then
# one h2c connection sends ten requests to that CGI one after another, with
# a pause after each, so that mod_http2 hands the idle connection back to
# the MPM and each request comes in as a new event. The first event is the
# connection's preface, while the connection is still HTTP/1.1 to the MPM:
# that one may be found asleep. No later one may be.
use v5.36;
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Slow qw(event_kind figures);

my $kind = event_kind();
plan skip_all => 'the gate is loom_event\'s; stock event has none'
    unless $kind eq 'loom';
plan skip_all => 'taskset missing'
    unless Loom::Server::have_tool('taskset');
plan skip_all => 'Protocol::HTTP2 missing (libprotocol-http2-perl)'
    unless eval { require Protocol::HTTP2::Client; 1 };

my $REQUESTS = 10;

my $s = Loom::Server->new(modules => ['http2', 'cgid'],
                          loglevel => 'info mpm_loom_event:trace2',
                          conf => <<CONF);
StartServers 1
ServerLimit 1
ThreadLimit 8
ThreadsPerChild 8
MaxRequestWorkers 8
MinSpareThreads 1
MaxSpareThreads 8
KeepAliveTimeout 30
Timeout 30
Protocols h2c http/1.1
CONF
$s->write_doc('sleep.cgi', "#!/bin/sh\nsleep 0.05\n"
              . "printf 'Content-Type: text/plain\\r\\n\\r\\nslept\\n'\n");
{
    local $Loom::Server::HTTPD = "taskset -c 0 $Loom::Server::HTTPD";
    $s->start;
}

plan tests => 3;

# First, that the check below can fail at all: the log level reaches the
# housekeeper's messages, and an HTTP/1.1 request waiting on a CGI is
# found asleep (with the server fresh, one thread waits in the poller and
# the others at the gate).
sub found_asleep () {
    my $n = 0;
    $n += $1 for $s->errlog =~ /LOOM1203: gate: (\d+) serving thread/g;
    return $n;
}
my $get = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port,
                                Timeout => 10);
print $get "GET /sleep.cgi HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
my $resp = do { local $/; <$get> } // '';
close $get;
my $before = found_asleep();
ok $resp =~ m{^HTTP/1.1 200} && $before >= 1,
    'an HTTP/1.1 request waiting on a CGI is found asleep by the housekeeper'
    or diag "response: $resp\n", grep { /LOOM12/ } split /^/, $s->errlog;
sleep 0.2;

# One HTTP/2 connection with prior knowledge; requests one at a time.
my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port,
                                 Timeout => 10)
    or BAIL_OUT("cannot connect: $!");
my $client = Protocol::HTTP2::Client->new(keepalive => 1);
my ($ok, $slowest) = (0, 0);

sub one_request () {
    my $done;
    my $t0 = time;
    $client->request(':scheme' => 'http', ':authority' => '127.0.0.1:' . $s->port,
                     ':path' => '/sleep.cgi', ':method' => 'GET',
                     on_done => sub ($headers, $body) {
                         $done = 1;
                         $ok++ if $body =~ /^slept/;
                     });
    my $deadline = time + 10;
    while (!$done && time < $deadline) {
        while (my $frame = $client->next_frame) {
            syswrite $sock, $frame or return;
        }
        last if $done;
        my $rin = '';
        vec($rin, fileno $sock, 1) = 1;
        next unless select(my $rout = $rin, undef, undef, 0.5);
        sysread $sock, my $data, 65536 or return;
        $client->feed($data);
    }
    my $took = time - $t0;
    $slowest = $took if $took > $slowest;
}

for (1 .. $REQUESTS) {
    one_request();
    sleep 0.3;        # idle: mod_http2 gives the connection back to the MPM
}
close $sock;

is $ok, $REQUESTS, "$REQUESTS requests over one h2c connection answered"
    or diag $s->errlog;

my $found = found_asleep() - $before;
figures($kind, sprintf '%d requests, slowest %.0f ms; the housekeeper '
        . 'found %d serving thread(s) asleep', $ok, $slowest * 1000, $found);
cmp_ok $found, '<=', 1,
    'the threads that took the HTTP/2 connection stepped aside: at most the '
    . 'preface\'s was found asleep by the housekeeper';

