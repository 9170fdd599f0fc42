# Event only: TLS handshakes wait for their clients without a thread
# (docs/architecture.md, "The connection engine"). A crowd of clients that
# send part of a ClientHello and stall would each hold a thread for the
# whole of Timeout if the handshake were read on one, as stock event reads
# it: with a child of 10 threads, 10 of them take the server down.
#  - $N clients stall inside their ClientHello; once the server holds
#    them all, TLS clients come and are served, each within a second;
#  - with `RequestReadTimeout handshake=2` the stalled ones are closed
#    after 2 s (give or take the housekeeper's round and the load), with a
#    LOOM0604 line; without a handshake stage, at Timeout (5 s), and not
#    before it;
#  - the server holds them without a thread: mod_status shows no busy
#    worker beyond the one serving the status request.
# Stock event is run too; what it serves meanwhile is printed, not asserted.
use v5.36;
use Test::More;
use Time::HiRes qw(time);
use Loom::TLS qw(client_hello);
use Loom::TLSCrowd qw(crowd_server served_meanwhile ends_after);
use Loom::Hostile qw(raw_connect ensure_nofile);
use Loom::Slow qw(event_kind figures);

my $kind = event_kind();
my $N = 1000;
my $TIMEOUT = 5;
my $STAGE = 2;

plan skip_all => "needs $N + 100 descriptors"
    if ensure_nofile($N + 200) < $N + 200;

my $HELLO = client_hello();
my $PART = substr($HELLO, 0, 43);         # the record header and some

# `stage` adds the handshake stage.
sub server (%o) {
    my $stage = $o{stage} ? "RequestReadTimeout handshake=$o{stage}" : '';
    return crowd_server(timeout => $TIMEOUT, conf => $stage);
}

sub stall ($s) {
    my @c = map { raw_connect($s->{tls_port}) } 1 .. $N;
    print $_ $PART for @c;
    return @c;
}

# Seconds until the server holds the whole crowd (mod_status counts each
# waiting handshake), so that what is timed next is serving while they
# wait, not taking in their first bytes: that costs about a millisecond a
# client, more under ASan, and any server pays it. Stock has no count.
sub taken_in ($s, $t0) {
    return undef if $kind eq 'stock';
    $s->wait_until(sub { (($s->status_auto // {})->{LoomConnsHandshake} // 0)
                         >= $N }, 10);
    return time - $t0;
}

plan tests => 7;

# With the handshake stage ---------------------------------------------------
my $s = server(stage => $STAGE);
my $t0 = time;
my @stalled = stall($s);
my $taken_in = taken_in($s, $t0);
my ($ok, $worst) = served_meanwhile($s, 10);
# A thread may still be stepping through the crowd's first bytes when
# the last request is served; a held one would stay busy until Timeout.
my $busy;
$s->wait_until(sub { $busy = ($s->status_auto // {})->{BusyWorkers};
                     defined $busy && $busy <= 1 }, 3);
figures($kind, sprintf "%d stalled handshakes (held after %s s): %d of 10 "
        . "TLS requests served meanwhile, the slowest in %.3f s; BusyWorkers %s",
        $N, defined $taken_in ? sprintf('%.2f', $taken_in) : '-', $ok, $worst,
        $busy // '?');
SKIP: {
    skip 'stock event reads the handshake on a thread', 2 if $kind eq 'stock';
    ok $ok == 10 && $worst < 1,
       "while $N clients stall inside their ClientHello, TLS clients are "
       . sprintf('served (%d of 10, the slowest in %.3f s)', $ok, $worst);
    ok defined $busy && $busy <= 1,
       "the stalled handshakes hold no thread (BusyWorkers $busy)";
}
my @ends = ends_after($t0, \@stalled, $TIMEOUT + 5);
my @seen = sort { $a <=> $b } grep { defined } @ends;
figures($kind, sprintf "with handshake=%d: %d of %d closed, between %.2f and "
        . "%.2f s", $STAGE, scalar @seen, $N, $seen[0] // -1, $seen[-1] // -1);
SKIP: {
    skip 'stock event: printed only', 2 if $kind eq 'stock';
    ok @seen == $N && $seen[0] >= $STAGE - 0.1 && $seen[-1] < $TIMEOUT,
       "all closed at the handshake stage's time ($STAGE s), before Timeout "
       . sprintf('(%.2f to %.2f s)', $seen[0] // -1, $seen[-1] // -1);
    my $said = 0;
    # Each line comes from the thread that takes the connection after its
    # deadline shut it down, a moment after the client saw the close.
    $s->wait_until(sub { $said = () = $s->errlog
                             =~ /LOOM0604: TLS handshake not complete after $STAGE s/g;
                         $said >= $N / 2 }, 10);
    ok $said >= $N / 2, "and said so with LOOM0604 ($said lines)";
}
close $_ for @stalled;
$s->stop;

# Without it: Timeout ----------------------------------------------------------
$s = server();
$t0 = time;
@stalled = stall($s);
($ok, $worst) = served_meanwhile($s, 5);
@ends = ends_after($t0, \@stalled, $TIMEOUT + 5);
@seen = sort { $a <=> $b } grep { defined } @ends;
figures($kind, sprintf "without a stage: %d of 5 served meanwhile; %d of %d "
        . "closed, between %.2f and %.2f s", $ok, scalar @seen, $N,
        $seen[0] // -1, $seen[-1] // -1);
SKIP: {
    skip 'stock event: printed only', 2 if $kind eq 'stock';
    is $ok, 5, 'without a handshake stage, TLS clients are served too';
    ok @seen == $N && $seen[0] >= $TIMEOUT - 0.1 && $seen[-1] < $TIMEOUT + 3,
       "and the stalled ones are closed at Timeout ($TIMEOUT s), not before "
       . sprintf('(%.2f to %.2f s)', $seen[0] // -1, $seen[-1] // -1);
}
close $_ for @stalled;
ok $s->alive && !$s->crashes, 'no child crashed';
