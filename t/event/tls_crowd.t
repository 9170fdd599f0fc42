# Event only: a crowd of TLS clients that connect at once get their
# handshakes answered together, not one after another. A TLS handshake
# waits for the client's second flight on a thread; with the server pinned
# to one CPU, Loom's gate lets one thread serve at a time, so a handshake
# that waited there counted as serving until the housekeeper saw it asleep
# (EV_GATE_CHECK_MS, 2 ms, at best): the crowd's handshakes went one per
# housekeeper round. A TLS connection's first step now stands aside from
# the gate at once (docs/architecture.md, "The gate").
#
# N clients (connected beforehand) each send a ClientHello (a real one,
# Loom::TLS::client_hello) and then stall, as a slow client would; the test times how long until every one
# of them has the server's answer (ServerHello and the rest of its flight)
# and takes off the CPU time the server's child used meanwhile (schedstat):
# what is left is time the server's CPU sat idle while clients waited. One
# handshake per housekeeper round idles about N x 2 ms; the bound is half
# of that, for the best of three bursts. Taking the CPU time off keeps the
# check apart from how fast the machine (or an ASan build) does the
# handshakes' arithmetic. Then the stalled clients go, and N clients that
# go through with their handshakes are all served.
use v5.36;
use Test::More;
use IO::Select;
use IO::Socket::SSL;
use File::Temp qw(tempdir);
use Time::HiRes qw(time sleep);
use Loom::Server;
use Loom::TLS qw(self_signed https_conf tls_modules client_hello);
use Loom::Hostile qw(raw_connect);
use Loom::HTTP qw(read_response);
use Loom::Slow qw(event_kind figures);

my $kind = event_kind();
my $N = 24;
my $BURSTS = 3;
my $GATE_CHECK_MS = 2;                  # EV_GATE_CHECK_MS, event_gate.h
my $BOUND = $N * $GATE_CHECK_MS / 2;    # ms

plan skip_all => 'taskset missing'
    unless Loom::Server::have_tool('taskset');

my $tls_port = Loom::Server::free_port();
my $tlsdir = tempdir('loom-tlscrowd-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tlsdir;
my ($cert, $key) = self_signed($tlsdir);
my $s = Loom::Server->new(modules => [tls_modules()],
    conf => <<"CONF" . https_conf(port => $tls_port, cert => $cert, key => $key));
StartServers 1
ServerLimit 1
ThreadLimit 40
ThreadsPerChild 40
MaxRequestWorkers 40
MinSpareThreads 1
MaxSpareThreads 40
KeepAlive On
Timeout 30
CONF
{
    local $Loom::Server::HTTPD = "taskset -c 0 $Loom::Server::HTTPD";
    $s->start;
}
# The clients run on the other CPU, where there is one, so that the
# server's CPU is the server's.
system("taskset -pc 1 $$ >/dev/null") if (`nproc` // 1) > 1;

plan tests => 2 + $BURSTS;

my $HELLO = client_hello();

sub tls_get {
    my $c = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $tls_port,
        Timeout => 5, SSL_verify_mode => SSL_VERIFY_PEER, SSL_ca_file => $cert,
        SSL_verifycn_name => 'localhost', SSL_verifycn_scheme => 'http',
        SSL_alpn_protocols => ['http/1.1']) or return 0;
    print $c "GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    my $r = read_response($c, 5);
    return $r && $r->{status} == 200 && $r->{body} eq "hello\n";
}

# ms from $t0 until every stalled client had the server's answer, or undef.
sub answered_in ($t0, $clients) {
    my $pending = IO::Select->new(@$clients);
    while ($pending->count && time - $t0 < 10) {
        $pending->remove($_) for $pending->can_read(0.5);
    }
    return $pending->count ? undef : (time - $t0) * 1000;
}

# CPU time (ms) the child's threads have used: the burst's wall time less
# this is the time the server's CPU sat idle while clients waited.
sub child_cpu_ms () {
    my $ns = 0;
    for my $pid ($s->child_pids) {
        for my $f (glob "/proc/$pid/task/*/schedstat") {
            open my $fh, '<', $f or next;
            my ($on_cpu) = split ' ', (<$fh> // '');
            $ns += $on_cpu // 0;
        }
    }
    return $ns / 1e6;
}

my @idle;
for my $burst (1 .. $BURSTS) {
    my @clients = map { raw_connect($tls_port) } 1 .. $N;
    sleep 0.2;                       # the accepts are done and paid for
    my $cpu0 = child_cpu_ms();
    my $t0 = time;
    print $_ $HELLO for @clients;
    my $ms = answered_in($t0, \@clients);
    my $cpu = child_cpu_ms() - $cpu0;
    push @idle, defined $ms ? $ms - $cpu : undef;
    ok defined $ms, "burst $burst: all $N stalled handshakes were answered "
        . sprintf('(%s ms, the server on its CPU for %.1f ms of it)',
                  defined $ms ? sprintf('%.1f', $ms) : 'never', $cpu);
    close $_ for @clients;
}
my ($best) = sort { $a <=> $b } grep { defined } @idle;
figures($kind, sprintf 'server idle while %d handshakes waited: %s ms',
        $N, join ', ', map { defined ? sprintf('%.1f', $_) : '-' } @idle);
cmp_ok $best // 1e9, '<', $BOUND,
    "the server's CPU idled under $BOUND ms while they waited, best of "
    . "$BURSTS (one handshake at a time: about " . $N * $GATE_CHECK_MS . ' ms)';
my $served = grep { tls_get() } 1 .. $N;
is $served, $N, "then $N TLS clients that went through with it were all served";
