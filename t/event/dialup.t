# Event only: SUSPENDED connections and timed callbacks, through mod_dialup.
# Under "ModemStandard V.92" (7000 bytes a second) mod_dialup sends one
# second's worth of a static file, registers a 1 s timed callback
# (ap_mpm_register_timed_callback) and returns SUSPENDED; each callback
# sends the next second's worth, and the last one finishes the request.
# So a file of 3 x 7000 + 1000 bytes takes at least 3 s (the callbacks fire
# on time, not earlier) and must end (the connection comes back to the MPM
# after SUSPENDED: a keep-alive connection serves its next request, a
# Connection: close one is closed). While suspended, no thread is busy for
# it (BusyWorkers), so 6 such downloads at once on 2 threads all finish in
# about the time of one. A callback whose write blocks (its client stopped
# reading) holds up neither the other downloads' callbacks nor anything
# else: callbacks run on worker threads, not on the thread that keeps the
# deadlines.
#
# Stock event is run the same way, all TODO, its figures printed: measured,
# it sends the first second's worth and then runs the timed callback only
# when its listener wakes for something else (here the 30 s Timeout), it
# stops accepting while suspended connections fill its connection limit,
# and once the module finished with a connection from a callback it does
# not take it back (mod_dialup in 2.4 does not call ap_mpm_resume_suspended).
use strict;
use warnings;
use Test::More;
use IO::Select;
use POSIX ();
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::HTTP qw(read_response);
use Loom::Slow qw(event_sizing event_kind connect_many get_all status_counts fmt_counts
                  figures);

my $kind = event_kind();
my $wait = $kind eq 'loom' ? 15 : 5;      # keeps stock's run short
our $TODO = $kind eq 'stock'
    ? 'stock event: late timed callbacks, suspended connections not taken back'
    : undef;
my $RATE = 7000;                       # V.92: 56 kbit/s, BITRATE_TO_BYTES
my $SIZE = 3 * $RATE + 1000;
my $MIN = int($SIZE / $RATE);          # whole seconds of callbacks: 3
my $PAR = 6;

my $s = Loom::Server->new(modules => ['dialup', 'status'], conf => event_sizing(start => 1, threads => 2, min_spare => 1)
        . <<'CONF');
KeepAliveTimeout 30
Timeout 30
# A fixed send buffer (no autotuning), so that a client that stops reading
# blocks a write soon (part 3); a V.92 pulse still fits in it at once.
SendBufferSize 16384
<Location /modem>
    ModemStandard V.92
</Location>
<Location /modem/fast>
    ModemStandard i-was-rich-and-got-a-leased-line
</Location>
CONF
mkdir $s->dir . "/$_" for 'htdocs', 'htdocs/modem', 'htdocs/modem/fast';
my $body = join '', map { chr(65 + $_ % 26) } 0 .. $SIZE - 1;
$s->write_doc('modem/file.txt', $body);
$s->write_doc('modem/fast/big.bin', 'z' x (2 << 20));
$s->start;

plan tests => 16;

# 1. One download on a keep-alive connection, then a next request on it.
my ($c) = connect_many($s->port, 1);
my $t0 = time;
syswrite $c, "GET /modem/file.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";
sleep 1.5;
my $mid = status_counts($s);
figures($kind, 'one download, suspended between pulses: ' . fmt_counts($mid));
$mid //= {};
my $r = read_response($c, $wait);
my $took = time - $t0;
figures($kind, sprintf 'one download: %s in %.2f s (at least %d s expected)',
    $r ? "$r->{status}, " . length($r->{body}) . ' bytes' : 'failed: ' . ($@ =~ s/\n//r),
    $took, $MIN);
ok $r && $r->{status} == 200 && $r->{body} eq $body,
    "the $SIZE-byte file arrives whole under ModemStandard V.92";
ok $took >= $MIN - 0.1, sprintf 'rate-limited: it took %.2f s, at least %d s '
    . '(the timed callbacks wait their second)', $took, $MIN;
ok $took < $MIN + 3, sprintf 'and the callbacks fire on time (%.2f s, under %d s)',
    $took, $MIN + 3;
is $mid->{BusyWorkers}, 1, 'while suspended no thread is busy for it (BusyWorkers 1: status)';
{
    syswrite $c, "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n";
    my $next = read_response($c, $kind eq 'loom' ? 5 : 2);
    figures($kind, 'next request on that connection: '
        . ($next ? $next->{status} : 'no answer: ' . ($@ =~ s/\n//r)));
    ok $next && $next->{status} == 200,
        'the connection came back after SUSPENDED: its next request is served';
}
close $c;

# 2. Several at once, more than the threads, each Connection: close.
my @c = connect_many($s->port, $PAR);
$t0 = time;
my @res;
{
    # get_all reads every response; status is taken halfway meanwhile.
    my $kid = fork // die "fork: $!";
    if ($kid == 0) {
        sleep 1.5;
        my $st = status_counts($s);
        open my $fh, '>', $s->dir . '/mid-status' or POSIX::_exit(1);
        print $fh $st ? "$st->{BusyWorkers} " . fmt_counts($st) : 'none';
        close $fh;
        POSIX::_exit(0);
    }
    @res = get_all(\@c, path => '/modem/file.txt', close => 1, timeout => $wait);
    waitpid $kid, 0;
}
$took = time - $t0;
my $ok = grep { ($_ // 0) == 200 } @res;
my $mid_par = do { open my $fh, '<', $s->dir . '/mid-status'; local $/; <$fh> } // 'none';
my ($busy_par) = $mid_par =~ /^(\d+) /;
figures($kind, sprintf '%d downloads at once: %d complete in %.2f s; halfway: %s',
    $PAR, $ok, $took, $mid_par);
is $ok, $PAR, "$PAR downloads at once on 2 threads: all complete";
ok $took < $MIN + 3, sprintf 'side by side, in about the time of one (%.2f s)', $took;
is $busy_par, 1, "halfway through, BusyWorkers 1: none of the $PAR holds a thread";
{
    my $sel = IO::Select->new(@c);
    my $closed = 0;
    my $end = time + 3;
    while ($sel->count && time < $end) {
        for my $h ($sel->can_read(0.2)) {
            my $n = sysread($h, my $buf, 4096);
            next if $n;
            $closed++;
            $sel->remove($h);
        }
    }
    is $closed, $PAR, 'and each Connection: close one is then closed by the server';
}
close $_ for @c;

# Stock event stops accepting once suspended connections fill its
# connection limit; if it no longer answers, what follows would only time
# out, so it is skipped (and said so).
my $answers = status_counts($s, 2);
SKIP: {
skip 'the server no longer answers (stock event: suspended connections '
    . 'count against its connection limit)', 6 unless $answers;
# 3. A client that stops reading a fast download (187500 bytes a second)
#    makes its callback's write block. That holds one thread (as in stock,
#    where callbacks run on workers too), but not the other downloads'
#    callbacks, nor the child's deadlines.
my ($stuck) = connect_many($s->port, 1, rcvbuf => 2048);
syswrite $stuck, "GET /modem/fast/big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n";
my $stuck_got = 0;
{
    my $sel = IO::Select->new($stuck);
    my $end = time + 1.5;                  # reads the first pulses, then stops
    while (time < $end) {
        next unless $sel->can_read(0.1);
        my $n = sysread($stuck, my $buf, 65536) or last;
        $stuck_got += $n;
    }
}
($c) = connect_many($s->port, 1);
$t0 = time;
syswrite $c, "GET /modem/file.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";
$r = read_response($c, $wait);
$took = time - $t0;
figures($kind, sprintf 'a stalled fast download (%d bytes read, then nothing); '
    . 'meanwhile a V.92 download: %s in %.2f s', $stuck_got,
    $r ? length($r->{body}) . ' bytes' : 'failed: ' . ($@ =~ s/\n//r), $took);
ok $stuck_got > 187500, 'the fast download ran (more than one pulse read) before it stalled';
ok $r && $r->{status} == 200 && $r->{body} eq $body,
    'while it is stalled, another download completes';
ok $took < $MIN + 3, sprintf 'on time (%.2f s): its callbacks do not wait '
    . 'behind the blocked one', $took;
close $c;
close $stuck;                              # its blocked write fails now
sleep 0.5;

my $after = status_counts($s);
figures($kind, 'afterwards: ' . fmt_counts($after));
$after //= {};
is $after->{BusyWorkers}, 1, 'afterwards: no thread left busy';
ok +($after->{ConnsTotal} // 99) <= 1,
    'and no connection left behind (ConnsTotal at most the status request)';
# A connection left suspended would keep its child from ever finishing a
# graceful stop: after a graceful restart the old child must be gone soon.
my @old = $s->child_pids;
$s->signal('graceful');
my $gone = $s->wait_until(sub { !grep { Loom::Proc::running($_) } @old }, 5);
figures($kind, 'graceful restart: old child ' . ($gone ? 'exited' : 'still running after 5 s'));
ok $gone, 'after a graceful restart the old child exits (nothing left suspended)';
}
$TODO = undef;
is_deeply [$s->crashes], [], 'no child crashed';
$s->stop;
