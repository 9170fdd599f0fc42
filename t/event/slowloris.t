# Event only: a slowloris crowd does not starve real clients. 400
# connections send part of a request head and then one byte a second (no
# mod_reqtimeout loaded), on a server of 2 children x 8 threads. With
# LoomWaitForHead On (the default) such a connection waits for the rest of
# its head without a thread, so meanwhile wrk (new connection per request)
# sees no failure and at least half of the rate it got without the crowd,
# measured just before in the same test; mod_status counts the crowd in
# ConnsTotal with no thread busy for it.
#
# With LoomWaitForHead Off, a connection gets a thread as soon as it is
# readable, as with stock event: the crowd then holds every thread (each
# byte restarts the read's Timeout). That is documented
# (docs/directives.md, checked here), so it is measured and printed, not
# asserted. Stock event is run the same way: its figures
# are printed and only what stock promises (the no-crowd rate) is asserted.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use Socket qw(MSG_DONTWAIT);
use POSIX ();
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Wrk qw(wrk);
use Loom::Slow qw(event_sizing event_kind status_counts fmt_counts figures);

my $kind = event_kind();
my $CROWD = 400;
my $SECS = 3;
my $TIMEOUT = 30;     # longer than the test: the crowd lives throughout
$SIG{PIPE} = 'IGNORE';

sub server {
    my ($extra) = @_;
    my $s = Loom::Server->new(modules => ['status'], conf => event_sizing(start => 2, threads => 8, min_spare => 8)
        . <<"CONF");
Timeout $TIMEOUT
ListenBacklog 1024
$extra
CONF
    return $s->start;
}

# A forked process holds the crowd: it opens $n connections, sends a
# partial head on each, says so on a pipe, then sends one byte per
# connection every second until it is killed (or after 30 s).
sub crowd {
    my ($port, $n) = @_;
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $r;
        my @c;
        for (1 .. $n) {
            my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $port, Timeout => 5)
                or last;
            syswrite $c, "GET /index.html HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
            push @c, $c;
        }
        syswrite $w, scalar(@c) . "\n";
        close $w;
        my $end = time + 30;
        while (time < $end) {
            sleep 1;
            for my $c (@c) {
                send($c, 'a', MSG_DONTWAIT);
            }
        }
        POSIX::_exit(0);
    }
    close $w;
    my $opened = <$r> // 0;
    chomp $opened;
    close $r;
    return ($pid, $opened);
}

sub end_crowd {
    my ($pid) = @_;
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

sub load {
    my ($s, $secs) = @_;
    return wrk(url => $s->url('/index.html'), conns => 8, seconds => $secs // $SECS,
               headers => ['Connection: close']);
}

sub fmt_load {
    my ($r) = @_;
    return sprintf '%d requests, %.0f req/s, %d socket errors, %d non-2xx',
        $r->{requests} // 0, $r->{rps} // 0, $r->{errors}, $r->{non2xx};
}

plan tests => $kind eq 'loom' ? 10 : 2;

my $s = server('');
my $base = load($s);
figures($kind, 'no crowd: ' . fmt_load($base));
ok +($base->{requests} // 0) > 0 && $base->{errors} == 0 && $base->{non2xx} == 0,
    'without a crowd: wrk is served, no failure';

my ($pid, $opened) = crowd($s->port, $CROWD);
sleep 1.5;                    # accepted, head wait parked, a byte dripped
my $held = status_counts($s);
figures($kind, "crowd of $opened: " . fmt_counts($held));
my $under = load($s);
my $after_load = status_counts($s);
end_crowd($pid);
my $ratio = ($under->{rps} // 0) / ($base->{rps} || 1);
figures($kind, sprintf 'with the crowd: %s (%.0f%% of the no-crowd rate)',
    fmt_load($under), 100 * $ratio);
figures($kind, 'after that run: ' . fmt_counts($after_load));

if ($kind eq 'stock') {
    # Stock event reads a request head on a worker thread, so without
    # mod_reqtimeout the crowd may hold every thread: starvation is
    # stock's documented behaviour and is reported above, not asserted.
    is_deeply [$s->crashes], [], 'no child crashed';
    $s->stop;
    exit 0;
}

is $opened, $CROWD, "the crowd opened $CROWD connections";
ok $held && $held->{ConnsTotal} >= $CROWD,
    "mod_status: ConnsTotal counts the crowd ($held->{ConnsTotal})";
is $held && $held->{BusyWorkers}, 1,
    'no thread held by a connection still sending its head (BusyWorkers 1: status)';
is $under->{errors}, 0, 'with the crowd: no socket error (connect, read, write, timeout)';
is $under->{non2xx}, 0, 'with the crowd: no non-2xx response';
ok $ratio >= 0.5, sprintf 'with the crowd: %.0f req/s, at least half the '
    . 'no-crowd %.0f req/s', $under->{rps} // 0, $base->{rps} // 0;
is_deeply [$s->crashes], [], 'no child crashed';
$s->stop;

# LoomWaitForHead Off: the crowd is read on threads, as stock does. Measured
# and printed; the documented consequence (starvation) is not asserted.
my $off = server('LoomWaitForHead Off');
($pid, $opened) = crowd($off->port, $CROWD);
sleep 1.5;
my $off_held = status_counts($off);
my $off_load = load($off, 2);
end_crowd($pid);
figures($kind, 'LoomWaitForHead Off, crowd held: ' . fmt_counts($off_held));
figures($kind, 'LoomWaitForHead Off, with the crowd: ' . fmt_load($off_load));
is_deeply [$off->crashes], [],
    'LoomWaitForHead Off: no child crashed either';
my $doc = do {
    open my $fh, '<', Loom::Server::top() . '/docs/directives.md' or die $!;
    local $/;
    <$fh>;
};
my ($row) = $doc =~ /^(\| `LoomWaitForHead .*)$/m;
like $row // '', qr/`Off` hands a connection to a thread as soon as it is readable/,
    'docs/directives.md says what LoomWaitForHead Off does';
$off->stop;
