# mod_status: ?auto names the MPM under test, shows a busy worker while a
# slow request is in flight, and a scoreboard as large as the MPM says.
use strict;
use warnings;
use Apache::Test;
use Apache::TestRequest qw(GET);
use Loom::Server;
use Time::HiRes qw(sleep);

plan tests => 7;

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
