# Event only: mod_reqtimeout under loom_event (docs/directives.md,
# LoomWaitForHead). With RequestReadTimeout handshake=2 header=2 body=2
# and Timeout 5:
#  - a TLS client that stalls after its ClientHello is closed after 2 s
#    (the handshake runs on a thread, as stock's, so the stage applies);
#  - a POST whose body stalls gets 408 after 2 s;
#  - a request head that stalls halfway: with LoomWaitForHead Off, 408
#    after 2 s, as stock. With LoomWaitForHead On (the default) it waits
#    without a thread, so mod_reqtimeout, which times reads on a thread,
#    has nothing to time: the wait ends at Timeout (5 s) and the
#    connection is closed without a response, as a keep-alive wait ends.
# Stock event runs the same cases; it has no LoomWaitForHead, and its
# stalled head gets the 408 after 2 s like Loom's with the wait Off.
use v5.36;
use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(time);
use Loom::Server;
use Loom::TLS qw(self_signed https_conf tls_modules client_hello);
use Loom::Hostile qw(raw_connect read_all status_code);
use Loom::Slow qw(event_kind figures);

my $kind = event_kind();
my $TIMEOUT = 5;
my $STAGE = 2;

my $tlsdir = tempdir('loom-reqto-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tlsdir;
my ($cert, $key) = self_signed($tlsdir);

sub server ($extra) {
    my $tls_port = Loom::Server::free_port();
    my $s = Loom::Server->new(modules => [tls_modules(), 'reqtimeout'],
        conf => <<"CONF" . https_conf(port => $tls_port, cert => $cert, key => $key));
Timeout $TIMEOUT
RequestReadTimeout handshake=$STAGE header=$STAGE body=$STAGE
LogLevel info
$extra
CONF
    $s->start;
    return ($s, $tls_port);
}

# Sends `$what`, then waits (up to 10 s) for the server to answer or
# close: (seconds it took, status code or undef).
sub stall ($port, $what) {
    my $c = raw_connect($port);
    print $c $what;
    my $t0 = time;
    my ($data) = read_all($c, 10);
    return (time - $t0, status_code($data));
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
my $POST = "POST /index.html HTTP/1.1\r\nHost: localhost\r\n"
         . "Content-Length: 100\r\n\r\n" . ('x' x 10);

sub near ($t, $want) { $t > $want - 0.5 && $t < $want + 1.5 }

plan tests => $kind eq 'loom' ? 10 : 5;

my @cases = $kind eq 'loom'
    ? (['LoomWaitForHead On', ''], ['LoomWaitForHead Off', 'LoomWaitForHead Off'])
    : (['stock event', '']);
for my $case (@cases) {
    my ($name, $extra) = @$case;
    my ($s, $tls_port) = server($extra);
    my $waits = $kind eq 'loom' && $extra eq '';

    my $t = stall_tls($tls_port);
    ok near($t, $STAGE),
        sprintf "$name: a stalled TLS handshake is closed after ${STAGE} s (%.1f s)", $t;

    my ($tb, $code) = stall($s->port, $POST);
    ok near($tb, $STAGE) && ($code // 0) == 408,
        sprintf "$name: a stalled request body gets 408 after ${STAGE} s (%s after %.1f s)",
                $code // 'nothing', $tb;

    my ($th, $hcode) = stall($s->port, $HEAD);
    figures($kind, sprintf '%s: a stalled head ended after %.1f s with %s',
            $name, $th, $hcode // 'no response');
    if ($waits) {
        ok near($th, $TIMEOUT) && !defined $hcode,
            sprintf "$name: a stalled head waits without a thread until Timeout "
                  . "(${TIMEOUT} s) and is closed (%s after %.1f s)", $hcode // 'nothing', $th;
    } else {
        ok near($th, $STAGE) && ($hcode // 0) == 408,
            sprintf "$name: a stalled head gets 408 after ${STAGE} s (%s after %.1f s)",
                    $hcode // 'nothing', $th;
    }

    my @stages = $s->errlog =~ /AH01382: Request (\w+) read timeout/g;
    my %seen = map { $_ => 1 } @stages;
    is_deeply [sort keys %seen],
              [sort 'handshake', 'body', $waits ? () : 'header'],
        "$name: mod_reqtimeout logged the stages that timed out (@stages)";
    is_deeply [$s->crashes], [], "$name: no child crashed";
    $s->stop;
}
