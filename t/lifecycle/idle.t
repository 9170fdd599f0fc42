# Idle maintenance converges: the server starts with one child and grows
# to the spare minimum, spawns more under a burst of slow requests, and
# retires the extra children once the burst is over.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use Loom::Server;

my $threaded = Loom::Server::threaded();
my $cgi = $threaded ? 'cgid' : 'cgi';
my $conf = $threaded
    ? "StartServers 1\nThreadsPerChild 4\nMinSpareThreads 6\nMaxSpareThreads 10\n"
      . "ServerLimit 10\nMaxRequestWorkers 40\n"
    : "StartServers 1\nMinSpareServers 2\nMaxSpareServers 4\nMaxRequestWorkers 30\n";
my ($min, $max) = $threaded ? (6, 10) : (2, 4);

plan tests => 4;
my $s = Loom::Server->new(modules => [$cgi, 'status'], conf => $conf);
$s->write_doc('sleep.cgi', "#!/bin/sh\nsleep 6\nprintf 'Content-Type: text/plain\\r\\n\\r\\nok\\n'\n");
$s->start;

# Idle workers of processes that are not stopping, as mod_status counts
# them; the one serving this status request is idle too between looks.
sub idle { my $a = $s->status_auto or return -1; return 1 + $a->{IdleWorkers} }
sub busy { my $a = $s->status_auto or return -1; return $a->{BusyWorkers} }

ok $s->wait_until(sub { idle() >= $min }, 8), "grows to $min idle workers";

my @slow = map {
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port)
        or die $!;
    print $c "GET /sleep.cgi HTTP/1.0\r\n\r\n";
    $c;
} 1 .. 10;
ok $s->wait_until(sub { busy() >= 11 }, 5.5),
   'spawns enough children to run 10 slow requests at once';
my $served = grep { my $c = $_; local $/; (<$c> // '') =~ /^ok$/m } @slow;
is $served, 10, 'every slow request was served';
ok $s->wait_until(sub { my $i = idle(); $i >= 0 && $i <= $max }, 15),
   "retires back to at most $max idle workers";
$s->stop;
