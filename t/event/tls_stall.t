# Event only: TLS handshakes wait for their clients without a thread
# (docs/architecture.md, "The connection engine"). A crowd of clients that
# send part of a ClientHello and stall would each hold a thread for the
# whole of Timeout if the handshake were read on one, as stock event reads
# it: with a child of 10 threads, 10 of them take the server down.
#  - $N clients stall inside their ClientHello while TLS clients come and
#    are served, each within a second;
#  - with `RequestReadTimeout handshake=2` the stalled ones are closed
#    after 2 s (give or take the housekeeper's round and the load), with a
#    LOOM0604 line; without a handshake stage, at Timeout (5 s), and not
#    before it;
#  - the server holds them without a thread: mod_status shows no busy
#    worker beyond the one serving the status request.
# Stock event is run too; what it serves meanwhile is printed, not asserted.
use v5.36;
use Test::More;
use IO::Select;
use IO::Socket::SSL;
use File::Temp qw(tempdir);
use Time::HiRes qw(time sleep);
use Loom::Server;
use Loom::TLS qw(self_signed https_conf tls_modules client_hello);
use Loom::Hostile qw(raw_connect ensure_nofile);
use Loom::HTTP qw(read_response);
use Loom::Slow qw(event_kind figures);

my $kind = event_kind();
my $N = 1000;
my $TIMEOUT = 5;
my $STAGE = 2;

plan skip_all => "needs $N + 100 descriptors"
    if ensure_nofile($N + 200) < $N + 200;

my $tlsdir = tempdir('loom-tlsstall-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tlsdir;
my ($cert, $key) = self_signed($tlsdir);
my $HELLO = client_hello();
my $PART = substr($HELLO, 0, 43);         # the record header and some

# A server of one child with 10 threads; `stage` adds the handshake stage.
sub server (%o) {
    my $tls_port = Loom::Server::free_port();
    my $stage = $o{stage} ? "RequestReadTimeout handshake=$o{stage}" : '';
    my $s = Loom::Server->new(modules => [tls_modules(), 'reqtimeout', 'status'],
        conf => <<"CONF" . https_conf(port => $tls_port, cert => $cert, key => $key));
StartServers 1
ServerLimit 1
ThreadLimit 10
ThreadsPerChild 10
MaxRequestWorkers 10
MinSpareThreads 1
MaxSpareThreads 10
Timeout $TIMEOUT
LogLevel info
$stage
<Location /server-status>
    SetHandler server-status
</Location>
CONF
    $s->{tls_port} = $tls_port;
    $s->start;
    return $s;
}

sub tls_get ($port) {
    my $c = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        Timeout => 3, SSL_verify_mode => SSL_VERIFY_PEER, SSL_ca_file => $cert,
        SSL_verifycn_name => 'localhost', SSL_verifycn_scheme => 'http')
        or return 0;
    print $c "GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    my $r = read_response($c, 3);
    return $r && $r->{status} == 200;
}

sub stall ($s) {
    my @c = map { raw_connect($s->{tls_port}) } 1 .. $N;
    print $_ $PART for @c;
    return @c;
}

# Seconds from $t0 until each client saw its connection end (undef: never
# within $limit s).
sub ends_after ($t0, $clients, $limit) {
    my %end;
    my $sel = IO::Select->new(@$clients);
    while ($sel->count && time - $t0 < $limit) {
        for my $c ($sel->can_read(0.2)) {
            my $n = sysread $c, my $buf, 4096;
            next if $n;                   # the server's part of the hello
            $end{$c} = time - $t0;
            $sel->remove($c);
        }
    }
    return map { $end{$_} } @$clients;
}

sub served_meanwhile ($s, $n) {
    my ($ok, $worst) = (0, 0);
    for (1 .. $n) {
        my $t = time;
        $ok++ if tls_get($s->{tls_port});
        $worst = time - $t if time - $t > $worst;
    }
    return ($ok, $worst);
}

plan tests => 7;

# With the handshake stage ---------------------------------------------------
my $s = server(stage => $STAGE);
my $t0 = time;
my @stalled = stall($s);
my ($ok, $worst) = served_meanwhile($s, 10);
my $busy = $s->status_auto->{BusyWorkers};
figures($kind, sprintf "%d stalled handshakes: %d of 10 TLS requests served "
        . "meanwhile, the slowest in %.3f s; BusyWorkers %s",
        $N, $ok, $worst, $busy // '?');
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
