# WebSocket tunnels and plain proxying on the MPM under test (every MPM).
# The test starts a tiny backend on a free loopback port: a WebSocket echo
# server (RFC 6455 handshake, echoes each frame) that answers plain HTTP
# requests with a short text. apache2 proxies to it with mod_proxy_http
# (/plain), mod_proxy_wstunnel's own handler (/ws, with the fallback to
# mod_proxy_http turned off) and mod_proxy_http's upgrade=websocket (/up).
# In 2.4.71 a tunnel is pumped by its request's thread until one side
# closes (mpm-contract.md 5.11): mod_status must show exactly one more busy
# worker per open tunnel, and the worker must come back when the client
# goes away without a close frame.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Digest::SHA qw(sha1_base64);
use MIME::Base64 qw(encode_base64);
use POSIX ();
use Time::HiRes qw(sleep time);
use AnyEvent;
use AnyEvent::WebSocket::Client;
use Loom::Server;

my $GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

# --- framing, shared by the backend and the raw client -------------------

# One frame: FIN set, the given opcode, masked when a client sends it.
sub ws_frame {
    my ($op, $payload, $masked) = @_;
    my $len = length $payload;
    my $head = chr(0x80 | $op);
    my $m = $masked ? 0x80 : 0;
    if ($len < 126) { $head .= chr($m | $len) }
    elsif ($len < 65536) { $head .= chr($m | 126) . pack('n', $len) }
    else { $head .= chr($m | 127) . pack('Q>', $len) }
    return $head . $payload unless $masked;
    my $key = pack('N', int rand 4294967296);
    my $mask = substr($key x (int($len / 4) + 1), 0, $len);
    return $head . $key . ($payload ^ $mask);
}

# Reads exactly $n bytes from $sock into the buffer ref within $deadline.
sub fill {
    my ($sock, $buf, $n, $deadline) = @_;
    my $sel = IO::Select->new($sock);
    while (length($$buf) < $n) {
        my $left = $deadline - time;
        return 0 if $left <= 0;
        next unless $sel->can_read($left);
        my $got = sysread($sock, my $chunk, 65536);
        return 0 unless $got;
        $$buf .= $chunk;
    }
    return 1;
}

# Reads one frame: (first byte, opcode, payload), or () on EOF or timeout.
sub ws_read {
    my ($sock, $buf, $timeout) = @_;
    my $deadline = time + ($timeout // 20);
    fill($sock, $buf, 2, $deadline) or return;
    my ($b1, $b2) = unpack('CC', $$buf);
    my ($len, $off) = ($b2 & 0x7f, 2);
    if ($len == 126) {
        fill($sock, $buf, 4, $deadline) or return;
        $len = unpack('n', substr($$buf, 2, 2));
        $off = 4;
    } elsif ($len == 127) {
        fill($sock, $buf, 10, $deadline) or return;
        $len = unpack('Q>', substr($$buf, 2, 8));
        $off = 10;
    }
    my $mlen = ($b2 & 0x80) ? 4 : 0;
    fill($sock, $buf, $off + $mlen + $len, $deadline) or return;
    my $key = substr($$buf, $off, $mlen);
    my $payload = substr($$buf, $off + $mlen, $len);
    substr($$buf, 0, $off + $mlen + $len) = '';
    $payload ^= substr($key x (int($len / 4) + 1), 0, $len) if $mlen;
    return ($b1, $b1 & 0x0f, $payload);
}

# Reads an HTTP head (up to the blank line); returns it, or undef.
sub read_head {
    my ($sock, $buf, $timeout) = @_;
    my $deadline = time + $timeout;
    while ($$buf !~ /\r\n\r\n/) {
        fill($sock, $buf, length($$buf) + 1, $deadline) or return undef;
    }
    $$buf =~ s/^(.*?\r\n)\r\n//s;
    return $1;
}

# --- the backend ------------------------------------------------------------

# One connection: a WebSocket echo after a valid handshake, else a short
# plain HTTP answer naming the path.
sub backend_conn {
    my ($c) = @_;
    my $buf = '';
    my $head = read_head($c, \$buf, 20) // return;
    my ($path) = $head =~ m{^\w+ (\S+) HTTP/1\.\d\r\n};
    $path //= '?';
    my ($key) = $head =~ /^Sec-WebSocket-Key:\s*(\S+)\r$/mi;
    if ($head !~ /^Upgrade:\s*websocket\r$/mi || !$key) {
        my $body = "backend plain $path\n";
        print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
               . "Content-Length: " . length($body) . "\r\n"
               . "Connection: close\r\n\r\n$body";
        return;
    }
    my $accept = sha1_base64($key . $GUID) . '=';
    print $c "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
           . "Connection: Upgrade\r\nSec-WebSocket-Accept: $accept\r\n\r\n";
    for (1 .. 10_000) {
        my ($b1, $op, $payload) = ws_read($c, \$buf, 60) or return;
        if ($op == 8) {                           # close: answer and stop
            print $c ws_frame(8, substr($payload, 0, 2), 0);
            return;
        }
        if ($op == 9) { print $c ws_frame(10, $payload, 0); next }
        next if $op == 10;
        # Echo, keeping FIN and opcode (continuations stay continuations).
        my $f = ws_frame($op, $payload, 0);
        substr($f, 0, 1) = chr($b1 & 0x8f);
        print $c $f;
    }
}

# Starts the backend in its own process group; returns (pid, port).
sub start_backend {
    my $l = IO::Socket::INET->new(Listen => 32, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp',
                                  ReuseAddr => 1) or die "backend: $!";
    my $port = $l->sockport;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        setpgrp(0, 0);
        $SIG{CHLD} = 'IGNORE';
        alarm 300;                               # never outlive the test
        for (1 .. 1000) {
            my $c = $l->accept or next;
            my $k = fork;
            if (defined $k && $k == 0) {
                close $l;
                alarm 120;
                $c->autoflush(1);
                backend_conn($c);
                close $c;
                POSIX::_exit(0);
            }
            close $c;
        }
        POSIX::_exit(0);
    }
    close $l;
    return ($pid, $port);
}

# --- the raw client -----------------------------------------------------------

# Upgrades a new connection to apache2 at $path; returns (socket, buffer
# ref, response head) or () when the handshake fails.
sub raw_ws {
    my ($port, $path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 10) or return;
    $s->autoflush(1);
    my $key = encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
    print $s "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
           . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
           . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n\r\n";
    my $buf = '';
    my $head = read_head($s, \$buf, 10) // return;
    my $want = sha1_base64($key . $GUID) . '=';
    return unless $head =~ m{^HTTP/1\.1 101 }
               && $head =~ /^Sec-WebSocket-Accept:\s*\Q$want\E\r$/mi;
    return ($s, \$buf, $head);
}

# Sends each message and reads its echo; returns how many came back right.
sub raw_echo {
    my ($s, $buf, @msgs) = @_;
    my $ok = 0;
    for my $m (@msgs) {
        print $s ws_frame(1, $m, 1);
        my (undef, $op, $p) = ws_read($s, $buf, 10);
        $ok++ if defined $op && $op == 1 && $p eq $m;
    }
    return $ok;
}

sub raw_close {
    my ($s, $buf) = @_;
    print $s ws_frame(8, pack('n', 1000), 1);
    my (undef, $op) = ws_read($s, $buf, 10);
    close $s;
    return defined $op && $op == 8;
}

# --- the test -----------------------------------------------------------------

my ($backend, $bport) = start_backend();
END { kill 'TERM', -$backend if $backend && $$ != $backend }

my $threaded = Loom::Server::threaded();
my $sizing = $threaded
    ? "StartServers 1\nThreadsPerChild 8\nMinSpareThreads 2\n"
      . "MaxSpareThreads 16\nServerLimit 4\nMaxRequestWorkers 32\n"
    : "StartServers 3\nMinSpareServers 2\nMaxSpareServers 8\n";
my $s = Loom::Server->new(
    modules => ['status', 'proxy', 'proxy_http', 'proxy_wstunnel'],
    conf => $sizing . <<"CONF");
ExtendedStatus On
Timeout 30
ProxyTimeout 30
<Location /ws>
    ProxyWebsocketFallbackToProxyHttp Off
    ProxyPass ws://127.0.0.1:$bport/ws
</Location>
ProxyPass /up http://127.0.0.1:$bport/up upgrade=websocket
ProxyPass /plain http://127.0.0.1:$bport/plain
CONF
$s->start;
my $port = $s->port;

sub busy { my $a = $s->status_auto or return -1; return $a->{BusyWorkers} }

# The rows of the HTML status page (ExtendedStatus) in state W whose
# request is for $path.
sub w_rows_for {
    my ($path) = @_;
    return scalar grep { $_->{mode} eq 'W' && $_->{request} =~ m{GET \Q$path\E } }
        $s->status_rows(5);
}

plan tests => 24;

# 1. Plain mod_proxy_http.
require LWP::UserAgent;
my $ua = LWP::UserAgent->new(timeout => 10);
my $r = $ua->get($s->url('/plain/hello'));
is $r->code, 200, 'plain proxy GET: 200';
is $r->content, "backend plain /plain/hello\n", 'plain proxy GET: the backend answered';
ok $s->wait_until(sub { busy() == 1 }, 10), 'at rest only the status request is busy';

# 2. mod_proxy_wstunnel with an independent client (AnyEvent::WebSocket).
{
    my $client = AnyEvent::WebSocket::Client->new(
        timeout => 10, max_payload_size => 1 << 20);
    my $conn = eval {
        my $cv = $client->connect("ws://127.0.0.1:$port/ws/echo");
        my $t = AnyEvent->timer(after => 15, cb => sub { $cv->croak('timeout') });
        $cv->recv;
    };
    ok $conn, 'WebSocket upgrade through mod_proxy_wstunnel' or diag $@;
    my @sent = ((map { "message $_" } 1 .. 5), 'x' x 70_000);
    my @got;
    if ($conn) {
        my $cv = AnyEvent->condvar;
        $conn->on(each_message => sub {
            push @got, $_[1]->body;
            $cv->send if @got == @sent;
        });
        $conn->send($_) for @sent[0 .. 4];
        $conn->send(AnyEvent::WebSocket::Message->new(opcode => 2, body => $sent[5]));
        my $t = AnyEvent->timer(after => 15, cb => sub { $cv->send });
        $cv->recv;
    }
    is scalar(@got), 6, 'six messages came back';
    is_deeply \@got, \@sent, 'each echoed intact and in order (the last is 70 kB)';
    ok $s->wait_until(sub { busy() == 2 }, 5),
       'the open tunnel holds exactly one worker (BusyWorkers 2 with status)';
    is w_rows_for('/ws/echo'), 1, 'its scoreboard slot is W for GET /ws/echo';
    if ($conn) {
        my $cv = AnyEvent->condvar;
        $conn->on(finish => sub { $cv->send });
        $conn->close;
        my $t = AnyEvent->timer(after => 10, cb => sub { $cv->send });
        $cv->recv;
    }
    ok $s->wait_until(sub { busy() == 1 }, 10), 'closing the tunnel frees its worker';
}

# 3. mod_proxy_http's own tunnel (upgrade=websocket), raw client.
{
    my ($c, $buf, $head) = raw_ws($port, '/up/echo');
    ok $c, 'WebSocket upgrade through mod_proxy_http upgrade=websocket';
    is $c ? raw_echo($c, $buf, map { "up $_" } 1 .. 5) : 0, 5,
       'five messages echoed through it';
    ok $s->wait_until(sub { busy() == 2 }, 5), 'it holds one worker';
    ok $c && raw_close($c, $buf), 'a close frame is answered by a close frame';
    ok $s->wait_until(sub { busy() == 1 }, 10), 'and the worker is free again';
}

# 4. Three tunnels at once: three workers, all echoing, interleaved.
{
    my @t = map { [raw_ws($port, '/ws/many')] } 1 .. 3;
    is scalar(grep { $_->[0] } @t), 3, 'three tunnels open at once';
    my $ok = 0;
    for my $round (1 .. 3) {
        for my $i (0 .. 2) {
            next unless $t[$i][0];
            $ok += raw_echo($t[$i][0], $t[$i][1], "tunnel $i round $round");
        }
    }
    is $ok, 9, 'each echoes its own messages, interleaved with the others';
    ok $s->wait_until(sub { busy() == 4 }, 5), 'three tunnels hold three workers';
    is w_rows_for('/ws/many'), 3, 'three W slots for GET /ws/many';
    my $closed = grep { $_->[0] && raw_close($_->[0], $_->[1]) } @t;
    is $closed, 3, 'all three closed cleanly';
    ok $s->wait_until(sub { busy() == 1 }, 10), 'all three workers freed';
}

# 5. A client that vanishes without a close frame frees its worker too,
#    and the server still answers afterwards.
{
    my ($c, $buf) = raw_ws($port, '/ws/gone');
    ok $c && raw_echo($c, $buf, 'before vanishing') == 1, 'tunnel up';
    ok $s->wait_until(sub { busy() == 2 }, 5), 'holding a worker';
    close $c if $c;                            # no close frame, just FIN
    ok $s->wait_until(sub { busy() == 1 }, 10),
       'the worker is freed when the client disappears';
}
$r = $ua->get($s->url('/plain/after'));
ok $r->code == 200 && $r->content eq "backend plain /plain/after\n"
   && !$s->crashes,
   'still serving, no child crashed';
$s->stop;
