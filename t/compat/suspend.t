# Event only: a connection the MPM suspended (handed away from its
# thread: parked for keep-alive) is resumed before it goes, as stock
# event resumes it in its pool's cleanup. A module that keeps state
# between the two hooks (t/compat/suspendmod/mod_loom_suspend.c, built
# here with `apxs -c`, counts them and logs the balance when the
# connection's pool goes) must never see a suspend left open:
#  - a keep-alive connection that idles out (KeepAliveTimeout 1);
#  - one whose client closes while it is parked;
#  - one closed by the client after a request with Connection: close.
# Stock event is held to the same checks.
use v5.36;
use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep);
use Loom::Server;
use Loom::Hostile qw(raw_connect);
use Loom::HTTP qw(read_response read_all);
use Loom::Slow qw(event_kind figures);

my $kind = event_kind();
plan skip_all => 'apxs is not installed' unless Loom::Server::have_tool('apxs');

my $src = Loom::Server::top() . '/t/compat/suspendmod/mod_loom_suspend.c';
my $build = tempdir('loom-suspendmod-XXXXXX', TMPDIR => 1, CLEANUP => 1);
system('cp', $src, $build) == 0 or die "cp $src: $!";
my $out = `cd $build && apxs -c mod_loom_suspend.c 2>&1`;
my $mod = "$build/.libs/mod_loom_suspend.so";
plan tests => 5;
ok($? == 0 && -f $mod, 'the counting module builds') or diag($out);
chmod 0755, $build, "$build/.libs";

my $s = Loom::Server->new(conf => "LoadModule loom_suspend_module $mod\n"
                                  . "KeepAlive On\nKeepAliveTimeout 1\n");
$s->start;
my $GET = "GET /index.html HTTP/1.1\r\nHost: localhost\r\n";

my $idle = raw_connect($s->port);
print $idle "$GET\r\n";
read_response($idle, 5);
my $gone = raw_connect($s->port);
print $gone "$GET\r\n";
read_response($gone, 5);
sleep 0.3;                       # parked by now
close $gone;
my $last = raw_connect($s->port);
print $last "${GET}Connection: close\r\n\r\n";
read_response($last, 5);
my (undef, $end) = read_all($idle, 4);   # KeepAliveTimeout ends it

my @lines;
$s->wait_until(sub { @lines = $s->errlog =~ /loom-suspend: (\d+) suspends, (-?\d+) not resumed/g;
                     @lines >= 4 }, 5);
my @open = grep { $lines[2 * $_ + 1] != 0 } 0 .. $#lines / 2;
figures($kind, sprintf '%d connections suspended; left open: %s', @lines / 2,
        join(', ', map { "$lines[2 * $_ + 1] of $lines[2 * $_]" } @open) || 'none');
is $end, 'eof', 'the idle keep-alive connection ended at KeepAliveTimeout';
ok @lines >= 4, 'two connections were suspended (parked for keep-alive), and their '
   . 'pools went (' . @lines / 2 . ' said so)';
ok !@open, 'every suspend had its resume before the connection went';
ok $s->alive && !$s->crashes, 'no child crashed';
$s->stop;
