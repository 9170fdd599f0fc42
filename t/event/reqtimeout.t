# Event only: mod_reqtimeout under loom_event (docs/directives.md,
# LoomWaitForHead). With RequestReadTimeout handshake=2 header=2 body=2
# and Timeout 5:
#  - a TLS client that stalls after its ClientHello is closed after 2 s
#    (with LoomWaitForHead Off, and for stock, the handshake runs on a
#    thread and mod_reqtimeout times it; with it On the handshake waits
#    without a thread and Loom applies the handshake stage, with a
#    LOOM0604 line);
#  - a POST whose body stalls gets 408 after 2 s;
#  - a request head that stalls halfway ends after the header stage's
#    time: 2 s on the main server, 3 s on a virtual host that sets
#    header=3, and 3 s on one that sets header=1-3,MinRate=10 (its 44
#    bytes extend the 1 s past the 3 s cap). With LoomWaitForHead Off,
#    and for stock, mod_reqtimeout times the read on a thread and answers
#    408. With LoomWaitForHead On (the default) the head waits without a
#    thread, so Loom applies the same stage from the configuration
#    (headtime.c), closes without a response and says so in a
#    LOOM1204 line.
#  - the same for a head that stalls halfway after a TLS handshake (2 s):
#    408 from mod_reqtimeout on a thread, or Loom's close without a
#    response and a LOOM1204 line when the TLS head waits without one.
use v5.36;
use Test::More;
use IO::Select;
use IO::Socket::SSL;
use File::Temp qw(tempdir);
use Time::HiRes qw(time);
use Loom::Server;
use Loom::TLS qw(self_signed https_conf tls_modules client_hello);
use Loom::Hostile qw(raw_connect);
use Loom::HTTP qw(read_all status_code);
use Loom::Slow qw(event_kind figures);

my $kind = event_kind();
my $TIMEOUT = 5;
my $STAGE = 2;

my $tlsdir = tempdir('loom-reqto-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tlsdir;
my ($cert, $key) = self_signed($tlsdir);

# A server with a TLS port and two plain virtual hosts of their own.
sub server ($extra) {
    my @p = map { Loom::Server::free_port() } 1 .. 3;
    my $s = Loom::Server->new(modules => [tls_modules(), 'reqtimeout'],
        conf => <<"CONF" . https_conf(port => $p[0], cert => $cert, key => $key));
Timeout $TIMEOUT
RequestReadTimeout handshake=$STAGE header=$STAGE body=$STAGE
LogLevel info
$extra
Listen 127.0.0.1:$p[1]
<VirtualHost 127.0.0.1:$p[1]>
    RequestReadTimeout header=3
</VirtualHost>
Listen 127.0.0.1:$p[2]
<VirtualHost 127.0.0.1:$p[2]>
    RequestReadTimeout header=1-3,MinRate=10
</VirtualHost>
CONF
    $s->start;
    return ($s, @p);
}

# Sends `$what` on a connection to each port, then waits (up to 10 s) for
# the server to answer or close each: a list of [seconds, status code].
sub stall_all ($what, @ports) {
    my @c = map { raw_connect($_) } @ports;
    print $_ $what for @c;
    my $t0 = time;
    my @end = map { [undef, ''] } @c;
    my $sel = IO::Select->new(@c);
    while ($sel->count && time - $t0 < 10) {
        for my $r ($sel->can_read(0.1)) {
            my ($i) = grep { $c[$_] == $r } 0 .. $#c;
            my $n = sysread($r, my $buf, 65536);
            if ($n) { $end[$i][1] .= $buf; next }
            $end[$i][0] = time - $t0;
            $sel->remove($r);
        }
    }
    return map { [$_->[0] // 99, status_code($_->[1])] } @end;
}

my $HELLO = client_hello();

# A TLS client that sends its ClientHello and nothing more.
sub stall_tls ($port) {
    my $c = raw_connect($port);
    print $c $HELLO;
    my $t0 = time;
    read_all($c, 10);
    return time - $t0;
}

my $HEAD = "GET /index.html HTTP/1.1\r\nHost: localhost\r\n";   # no end

# A TLS client that finishes its handshake, then sends half a head: when
# its connection ended (seconds after the half head) and the status of
# what it got before.
sub stall_tls_head ($port) {
    my $c = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        Timeout => 5, SSL_verify_mode => SSL_VERIFY_NONE) or return (99, undef);
    print $c $HEAD;
    my $t0 = time;
    my ($got) = read_all($c, 10);
    return (time - $t0, status_code($got));
}
my $POST = "POST /index.html HTTP/1.1\r\nHost: localhost\r\n"
         . "Content-Length: 100\r\n\r\n" . ('x' x 10);

sub near ($t, $want) { $t > $want - 0.5 && $t < $want + 1.5 }

plan tests => $kind eq 'loom' ? 20 : 8;

my @cases = $kind eq 'loom'
    ? (['LoomWaitForHead On', ''], ['LoomWaitForHead Off', 'LoomWaitForHead Off'])
    : (['stock event', '']);
for my $case (@cases) {
    my ($name, $extra) = @$case;
    my ($s, $tls_port, @vhost) = server($extra);
    my $waits = $kind eq 'loom' && $extra eq '';

    my $t = stall_tls($tls_port);
    ok near($t, $STAGE),
        sprintf "$name: a stalled TLS handshake is closed after ${STAGE} s (%.1f s)", $t;

    my ($tb, $code) = @{ (stall_all($POST, $s->port))[0] };
    ok near($tb, $STAGE) && ($code // 0) == 408,
        sprintf "$name: a stalled request body gets 408 after ${STAGE} s (%s after %.1f s)",
                $code // 'nothing', $tb;

    my @heads = stall_all($HEAD, $s->port, @vhost);
    my @want = ([$STAGE, 'header=2'], [3, 'header=3 in its virtual host'],
                [3, 'header=1-3,MinRate=10 in its virtual host']);
    for my $i (0 .. 2) {
        my ($secs, $hcode) = @{ $heads[$i] };
        my ($due, $why) = @{ $want[$i] };
        my $answer = $waits ? 'closed without a response' : '408';
        ok near($secs, $due) && ($waits ? !defined $hcode : ($hcode // 0) == 408),
            sprintf "$name: a stalled head, $why: $answer after $due s (%s after %.1f s)",
                    $hcode // 'nothing', $secs;
    }

    my ($ts, $tcode) = stall_tls_head($tls_port);
    my $answer = $waits ? 'closed without a response' : '408';
    ok near($ts, $STAGE) && ($waits ? !defined $tcode : ($tcode // 0) == 408),
        sprintf "$name: a stalled head over TLS, header=2: $answer after $STAGE s "
                . "(%s after %.1f s)", $tcode // 'nothing', $ts;

    # The client sees the close when the deadline shuts the socket down;
    # the thread that then takes the connection logs the line a moment
    # later (much later on a loaded machine): wait for what is due.
    my $due_lines = $waits ? 5 : 0;     # four heads, one handshake
    $s->wait_until(sub { my @l = $s->errlog =~ /LOOM(?:1204|0604):/g;
                         @l >= $due_lines }, 10);
    my $log = $s->errlog;
    my @stages = $log =~ /AH01382: Request (\w+) read timeout/g;
    my %seen = map { $_ => 1 } @stages;
    is_deeply [sort keys %seen],
              [sort 'body', $waits ? () : ('header', 'handshake')],
        "$name: mod_reqtimeout logged the stages that timed out on a thread (@stages)";
    if ($kind eq 'loom') {
        my @loom = $log =~ /LOOM1204: request head not complete after (\d+) s/g;
        is_deeply [sort @loom], $waits ? [2, 2, 3, 3] : [],
            "$name: Loom logged the heads it closed itself (@loom)";
        my @hs = $log =~ /LOOM0604: TLS handshake not complete after (\d+) s/g;
        is_deeply \@hs, $waits ? [2] : [],
            "$name: and the handshake it closed itself (@hs)";
    }
    is_deeply [$s->crashes], [], "$name: no child crashed";
    $s->stop;
}
