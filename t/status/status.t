# mod_status: ?auto names the MPM under test, shows a busy worker while a
# slow request is in flight, and a scoreboard as large as the MPM says.
# Where connections wait without a thread (Loom's event and prefork, stock
# event), 3 idle keep-alive connections show in ?auto (ConnsAsyncKeepAlive)
# and in the HTML page's table of processes, each child with its
# connections; the other models have no such table.
use strict;
use warnings;
use Apache::Test;
use Apache::TestRequest qw(GET);
use Loom::Server;
use Time::HiRes qw(sleep);

plan tests => 9;

my (undef, undef, $name) = Loom::Server::mpm_module($ENV{LOOM_MPM} // 'prefork');

my %auto = map { /^([^:]+):\s*(.*)$/ ? ($1, $2) : () }
           split /\n/, GET('/server-status?auto')->content;
ok $auto{ServerMPM} eq $name;
ok defined $auto{Scoreboard} && length $auto{Scoreboard} > 0;
ok defined $auto{IdleWorkers} && $auto{BusyWorkers} >= 1;

# A slow request keeps one worker busy while we look.
my ($host, $port) = (Apache::TestRequest::hostport() =~ /^(.*):(\d+)$/);
my $slow = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
    or die $!;
print $slow "GET /cgi/sleep.cgi?2 HTTP/1.0\r\n\r\n";
sleep 0.7;
%auto = map { /^([^:]+):\s*(.*)$/ ? ($1, $2) : () }
        split /\n/, GET('/server-status?auto')->content;
ok $auto{BusyWorkers} >= 2;      # the slow request and this one
ok(($auto{Scoreboard} =~ tr/W//) >= 2);
my $html = GET('/server-status')->content;
ok $html =~ /Server MPM: \Q$name\E/;
my $done = join '', <$slow>;
ok $done =~ /slept 2/;

my $mpm = $ENV{LOOM_MPM} // 'prefork';
my $parks = $mpm =~ /^(event|prefork|stock-event)$/;
my @idle = map { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) or die $! } 1 .. 3;
for my $c (@idle) {
    print $c "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n";
    my $head = '';
    sysread($c, $head, 65536, length $head) until $head =~ /\r\n\r\n/;
}
sleep 0.3;
%auto = map { /^([^:]+):\s*(.*)$/ ? ($1, $2) : () }
        split /\n/, GET('/server-status?auto')->content;
$html = GET('/server-status')->content;
my %by;
while ($html =~ m{<tr><td>\d+</td><td>(\d+)</td><td>[^<]*</td><td>(\d+)</td>}g) {
    $by{$1} = $2;
}
my $sum = 0;
$sum += $_ for values %by;
# Apache::Test's ok() is Test.pm's: one condition, no name.
print '# ConnsAsyncKeepAlive: ' . ($auto{ConnsAsyncKeepAlive} // 'absent')
    . '; table of processes: ' . join(' ', map { "$_:$by{$_}" } sort keys %by) . "\n";
if ($parks) {
    ok(($auto{ConnsAsyncKeepAlive} // 0) >= 3);   # the 3 idle connections
    ok(keys(%by) >= 1 && $sum >= 3);              # ...each child's, in the table
}
else {
    ok(!defined $auto{ConnsAsyncKeepAlive});     # no async figures
    ok(!%by);                                    # no table of processes
}
close $_ for @idle;
