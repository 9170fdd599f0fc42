# Event only: a TLS client's request head waits for it without a thread,
# as a plain one's does (docs/architecture.md, "TLS request heads"): the
# decrypted bytes are read ahead of httpd through mod_ssl until the head
# is whole. On a child of 10 threads:
#  - $N TLS clients finish their handshake, send half a request head and
#    then one more header line now and then; TLS clients that come
#    meanwhile are served at once, mod_status shows the heads waiting, and
#    no thread is held (BusyWorkers);
#  - with `RequestReadTimeout header=$STAGE` each is closed $STAGE s after
#    its head began, with a LOOM1204 line and no response, as a plain head
#    waiting without a thread is closed; without a header stage, at
#    Timeout, and not before it (t/event/reqtimeout.t compares one such
#    head with stock event's);
#  - a TLS keep-alive connection that served a request and then sends its
#    next head slowly holds no thread either, and gets its answer.
# Stock event reads TLS heads on a thread, so a few clients hold all of
# its threads: it gets a crowd of 40, and its figures are printed, not
# asserted.
use v5.36;
use Test::More;
use Time::HiRes qw(time sleep);
use Loom::TLSCrowd qw(crowd_server tls_client served_meanwhile ends_after);
use Loom::Hostile qw(ensure_nofile);
use Loom::HTTP qw(read_response);
use Loom::Slow qw(event_kind figures);

my $kind = event_kind();
my $N = $kind eq 'loom' ? 1000 : 40;
# Opening 1,000 TLS clients takes 3 s on an idle 2-core machine: both
# times leave room for a loaded one before the first head is due.
my $STAGE = 10;
my $TIMEOUT = 12;
my $HALF = "GET /index.html HTTP/1.1\r\nHost: localhost\r\n";

plan skip_all => "needs $N + 200 descriptors"
    if ensure_nofile($N + 200) < $N + 200;
# A client the server already closed must fail its next line, not kill
# the test before its checks say what went wrong.
$SIG{PIPE} = 'IGNORE';

# The crowd: each finished its handshake and sent half a head. Returns
# the clients and, for each, when its head began (seconds after $t0). A
# server that stops finishing handshakes ends the crowd there: each
# client more would wait 5 s for nothing.
sub slow_crowd ($s, $t0) {
    my (@slow, @began);
    for (1 .. $N) {
        my $c = tls_client($s) or last;
        print $c $HALF;
        push @slow, $c;
        push @began, time - $t0;
    }
    return (\@slow, \@began);
}

sub trickle ($slow) { print $_ "X-Slow: 1\r\n" for @$slow }

# Each client's life from its head's first bytes to its end; undef where
# the end was not seen.
sub lives ($t0, $slow, $began, $limit, $got) {
    my @end = ends_after($t0, $slow, $limit, $got);
    return map { defined $end[$_] ? $end[$_] - $began->[$_] : undef } 0 .. $#end;
}

sub span (@lives) {
    my @seen = sort { $a <=> $b } grep { defined } @lives;
    return (scalar @seen, $seen[0] // -1, $seen[-1] // -1);
}

plan tests => 10;

# With the header stage -----------------------------------------------------
my $s = crowd_server(timeout => $TIMEOUT + 8,
                     conf => "KeepAliveTimeout 30\nRequestReadTimeout header=$STAGE body=10");
my $t0 = time;
my ($slow, $began) = slow_crowd($s, $t0);
my $opened = time - $t0;
my ($ok, $worst) = served_meanwhile($s, 10, sub { trickle($slow) });
# A thread may still be stepping through the crowd's last lines when the
# last request is served; a held one would stay busy until the stage.
my $st = {};
$s->wait_until(sub { $st = $s->status_auto // {};
                     ($st->{BusyWorkers} // 99) <= 1 }, 3);
figures($kind, sprintf "%d slow TLS heads (opened in %.1f s): %d of 10 TLS "
        . "requests served meanwhile, the slowest in %.3f s; BusyWorkers %s, "
        . "LoomConnsHeadWait %s", scalar @$slow, $opened, $ok, $worst,
        $st->{BusyWorkers} // '?', $st->{LoomConnsHeadWait} // '-');
SKIP: {
    skip 'stock event reads TLS heads on a thread', 3 if $kind eq 'stock';
    is scalar @$slow, $N, "$N TLS clients finished their handshake";
    ok $ok == 10 && $worst < 1, "TLS clients are served meanwhile ($ok of 10, "
       . sprintf('the slowest in %.3f s)', $worst);
    ok(($st->{BusyWorkers} // 99) <= 1 && ($st->{LoomConnsHeadWait} // 0) >= $N * 0.95,
       'no thread holds the slow heads; mod_status shows them waiting ('
       . 'BusyWorkers ' . ($st->{BusyWorkers} // '-') . ', LoomConnsHeadWait '
       . ($st->{LoomConnsHeadWait} // '-') . ')');
}

my @got;
my @lives = lives($t0, $slow, $began, $opened + $STAGE + 10, \@got);
my $answered = grep { $_ } @got;
my ($ended, $first, $last) = span(@lives);
figures($kind, sprintf "with header=%d: %d of %d closed, %.2f to %.2f s after "
        . "their heads began; %d got a response", $STAGE, $ended, scalar @$slow,
        $first, $last, $answered);
SKIP: {
    skip 'stock event: printed only', 2 if $kind eq 'stock';
    ok $ended == @$slow && !$answered && $first >= $STAGE - 0.2 && $last < $STAGE + 3,
       "all closed without a response at the header stage ($STAGE s after "
       . sprintf('their heads began: %.2f to %.2f s)', $first, $last);
    my $said = 0;
    # Each line comes from the thread that takes the connection after its
    # deadline shut it down, a moment after the client saw the close.
    $s->wait_until(sub { $said = () = $s->errlog =~ /LOOM1204: request head/g;
                         $said >= @$slow }, 10);
    is $said, scalar @$slow, 'each with a LOOM1204 line';
}
close $_ for @$slow;

# Keep-alive: a request, then the next head slowly.
my $c = tls_client($s);
print $c "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n";
my $first_answer = read_response($c, 3);
print $c "GET /index.html HTTP/1.1\r\n";
sleep 1;
my $busy = ($s->status_auto // {})->{BusyWorkers};
print $c "Host: localhost\r\n\r\n";
my $second_answer = read_response($c, 3);
SKIP: {
    skip 'stock event: printed only', 1 if $kind eq 'stock';
    ok $first_answer && $first_answer->{status} == 200 && $second_answer
       && $second_answer->{status} == 200 && ($busy // 99) <= 1,
       "a TLS keep-alive connection's slow next head holds no thread "
       . '(BusyWorkers ' . ($busy // '-') . ' while it waited) and is answered';
}
ok !$s->crashes, 'no child crashed';
$s->stop;

# Without a header stage: Timeout --------------------------------------------
$s = crowd_server(timeout => $TIMEOUT, conf => 'RequestReadTimeout header=0');
$t0 = time;
($slow, $began) = slow_crowd($s, $t0);
($ok, $worst) = served_meanwhile($s, 5, sub { trickle($slow) });
@lives = lives($t0, $slow, $began, time - $t0 + $TIMEOUT + 10, []);
($ended, $first, $last) = span(@lives);
figures($kind, sprintf "without a stage: %d of 5 served meanwhile; %d of %d "
        . "closed, %.2f to %.2f s after their heads began", $ok, $ended,
        scalar @$slow, $first, $last);
SKIP: {
    skip 'stock event: printed only', 2 if $kind eq 'stock';
    is $ok, 5, 'without a header stage, TLS clients are served too';
    ok $ended == @$slow && $first >= $TIMEOUT - 0.2 && $last < $TIMEOUT + 3,
       "and the slow heads are closed at Timeout ($TIMEOUT s), not before "
       . sprintf('(%.2f to %.2f s)', $first, $last);
}
close $_ for @$slow;
ok $s->alive && !$s->crashes, 'no child crashed without a stage either';
