# Event only: HTTP/2 streams are secondary connections on top of one
# connection (each gets its own connection state in loom_event's
# pre_connection hook). h2load with 2000 requests on 4 connections, 50
# streams each at a time, over h2c (prior knowledge) and over TLS (h2): no
# failed or errored request, and once h2load is gone mod_status shows no
# stale connection (ConnsTotal back to at most the status request, nothing
# in keep-alive, write completion, waiting for I/O or closing). An idle
# HTTP/2 connection waits without a thread, counted in keep-alive or
# waiting for I/O, and is served again afterwards.
# (t/protocols/http2.t covers h2/h2c themselves, on every threaded MPM.)
#
# Stock event refreshes its counts only when a queue times out: those
# checks are TODO for stock, its figures printed.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Select;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::TLS qw(self_signed https_conf tls_modules);
use Loom::Slow qw(event_sizing event_kind connect_many status_counts wait_counts fmt_counts
                  figures run_cmd);

my $kind = event_kind();
my $stale_todo = $kind eq 'stock'
    ? 'stock event refreshes its counts only on queue timeouts' : undef;

my $tls_port = Loom::Server::free_port();
my $tlsdir = tempdir('loom-h2s-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tlsdir;
my ($cert, $key) = self_signed($tlsdir);
my $https = https_conf(port => $tls_port, cert => $cert, key => $key,
                       extra => '    Protocols h2 http/1.1');
my $s = Loom::Server->new(modules => [tls_modules(), 'http2', 'status'],
                          conf => event_sizing(start => 2, threads => 4, min_spare => 4)
        . <<"CONF" . $https);
KeepAliveTimeout 30
Timeout 30
Protocols h2c http/1.1
CONF
$s->start;

plan tests => 12;

my %url = (h2c => $s->url('/index.html'),
           h2  => "https://127.0.0.1:$tls_port/index.html");
for my $proto ('h2c', 'h2') {
    my $t0 = time;
    my (undef, $out) = run_cmd(60, 'h2load', '-n', '2000', '-c', '4', '-m', '50',
                               $url{$proto});
    my ($summary) = $out =~ /^(requests: .*)$/m;
    my ($codes) = $out =~ /^(status codes: .*)$/m;
    figures($kind, sprintf '%s: %s; %s (%.1f s)', $proto, $summary // 'no summary',
        $codes // '', time - $t0);
    like $out, qr/^Application protocol: \Q$proto\E$/m, "$proto: negotiated";
    like $out, qr/requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored/,
        "$proto: 2000 requests on 4 connections x 50 streams, 0 failed, 0 errored"
        or diag $out;
    my ($after, $zero) = wait_counts($s, sub {
        my $c = shift;
        $c->{ConnsTotal} <= 1 && $c->{ConnsAsyncKeepAlive} == 0
        && $c->{ConnsAsyncWriting} == 0 && $c->{ConnsAsyncWaitIO} == 0
        && $c->{ConnsAsyncClosing} == 0 && $c->{BusyWorkers} == 1 }, 3);
    figures($kind, "$proto, after h2load: " . fmt_counts($after));
    local our $TODO = $stale_todo;
    ok $zero, "$proto: afterwards no stale connection in mod_status, no busy thread"
        or diag "$proto, 3 s after h2load: " . fmt_counts($after)
              . " Scoreboard: " . (($after // {})->{Scoreboard} // "?");
}

# An idle h2c connection: the preface, SETTINGS both ways, then nothing.
my ($c) = connect_many($s->port, 1);
syswrite $c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" . pack('CnCCN', 0, 0, 4, 0, 0);
my $got = '';
my $sel = IO::Select->new($c);
my $end = time + 3;
# Reads frames until the server's SETTINGS (type 4, no ACK flag) is in.
my $settings = 0;
while (!$settings && time < $end && $sel->can_read(0.5)) {
    sysread($c, $got, 65536, length $got) or last;
    while (length $got >= 9) {
        my ($hi, $lo, $type, $flags) = unpack 'CnCC', $got;
        my $len = $hi * 65536 + $lo;
        last if length $got < 9 + $len;
        substr($got, 0, 9 + $len, '');
        $settings = 1 if $type == 4 && !($flags & 1);
    }
}
ok $settings, 'idle h2c connection: the server sent its SETTINGS';
syswrite $c, pack('CnCCN', 0, 0, 4, 1, 0);            # SETTINGS ACK
sleep 1;
my ($idle, $parked) = wait_counts($s, sub {
    $_[0]{ConnsAsyncKeepAlive} + $_[0]{ConnsAsyncWaitIO} >= 1 }, 3);
figures($kind, 'one idle h2c connection: ' . fmt_counts($idle));
is +($idle // {})->{BusyWorkers}, 1, 'it holds no thread (BusyWorkers 1: status)';
{
    local our $TODO = $stale_todo;
    ok $parked, 'it is counted, in keep-alive or waiting for I/O';
}
# A request on it: HEADERS on stream 1, GET /index.html, HPACK literal
# without indexing (:method GET, :scheme http, :path, :authority).
my $block = "\x82\x86" . "\x04" . chr(11) . '/index.html' . "\x01" . chr(9) . 'localhost';
syswrite $c, pack('CnCCN', 0, length $block, 1, 0x5, 1) . $block;
my $status = '';
$end = time + 5;
$got = '';
while (!$status && time < $end && $sel->can_read(0.5)) {
    sysread($c, $got, 65536, length $got) or last;
    while (length $got >= 9) {
        my ($hi, $lo, $type, $flags, $sid) = unpack 'CnCCN', $got;
        my $len = $hi * 65536 + $lo;
        last if length $got < 9 + $len;
        my $payload = substr($got, 9, $len);
        substr($got, 0, 9 + $len, '');
        # :status 200 is HPACK static index 8: 0x88.
        $status = ord($payload) == 0x88 ? '200' : sprintf('0x%02x', ord $payload)
            if $type == 1 && ($sid & 0x7fffffff) == 1;
    }
}
is $status, '200', 'after idling, a request on that h2c connection is answered 200';
close $c;
my ($gone, $zero) = wait_counts($s, sub {
    $_[0]{ConnsTotal} <= 1 && $_[0]{ConnsAsyncKeepAlive} == 0
    && $_[0]{ConnsAsyncWaitIO} == 0 }, 3);
figures($kind, 'idle h2c connection closed: ' . fmt_counts($gone));
{
    local our $TODO = $stale_todo;
    ok $zero, 'once it is closed: nothing left in mod_status'
        or diag 'idle h2c connection closed: ' . fmt_counts($gone);
}
is_deeply [$s->crashes], [], 'no child crashed';
$s->stop;
