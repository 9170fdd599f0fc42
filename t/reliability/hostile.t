# What it proves: hostile and broken clients cost the server nothing that
# lasts. One server (small sizing so leaks show: Timeout 3, KeepAliveTimeout
# 2, two children), a baseline of descriptors and threads per process read
# from /proc, then one offender after another, each with good clients
# running alongside (a forked loop of fresh-connection GETs) that must all
# be served:
#  (a) 150 random-byte blobs ending in an empty line each get a 4xx (the
#      HTTP core's answer to a malformed request line; 400 in practice) or a
#      close, and the connection ends; 10 blobs that never finish their head
#      are dropped by Timeout; 30 blobs followed by a half-close (the client
#      shuts down its sending side) are answered or closed within Timeout + 2
#      s, since the head can never complete (stock closes at once, without
#      a response);
#  (b) a request line over LimitRequestLine (9000 > 8190 bytes) gets 414, a
#      header field over LimitRequestFieldSize 400, 101 header fields 400,
#      while 100 fields, and a 9 KB head of 92 fields (over the 8 KB that
#      Loom event peeks at), are served 200;
#  (d) resets (SO_LINGER 0, then close) in the middle of a request head, in
#      the middle of a 20 MB response, right after a request, and during the
#      lingering close that follows a 413 (LimitRequestBody 1024, the body
#      still coming);
#  (e) a client with a 4 KB receive buffer that never reads a 20 MB response:
#      others are served meanwhile, and the server drops it (Timeout): read
#      afterwards, the connection ends well short of 20 MB;
#  (f) pipelined floods of 5000 GETs in one write on one connection, each
#      for a different small file: with MaxKeepAliveRequests 100 (default),
#      reading as responses come, and again reading only at the end, exactly
#      101 responses arrive, in order, the last says Connection: close, and
#      the server closes. 101, not 100: the HTTP core counts the requests
#      after the first against MaxKeepAliveRequests (ap_set_keepalive), and
#      stock prefork/worker/event answer 101 too. On a virtual host with
#      MaxKeepAliveRequests 0 all 5000 are answered in order.
# After each offender (within Timeout + KeepAliveTimeout + 1 s), and after
# all of them, once Timeout + KeepAliveTimeout have passed: every process
# has at most its baseline descriptors (+1 documented tolerance: a child may
# keep one extra descriptor, e.g. a cached file or log) and at most its
# baseline threads (a new child: the largest child baseline), no child
# crashed (no AH00052 / LOOM0401 / "signal" line in the error log), the
# server uses no CPU any more (at most 10 clock ticks in 1 s: a connection
# left spinning shows here), the parent is the same process and alive.
# The idle-connection flood (c) is in hostile_idle.t.
use strict;
use warnings;
use Test::More;
use IO::Select;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Hostile qw(sizing snapshot settle leaks rst half_close
                     raw_connect good_bg good_stop say_fig);
use Loom::HTTP qw(read_all parse_responses status_code);
use Loom::Proc qw(cpu_ticks);

my $mpm = Loom::Server::mpm_or_skip();
$SIG{PIPE} = 'IGNORE';

my $SEED = 20240517;
srand $SEED;
note "random seed $SEED";
my $FD_TOL = 1;
my $TIMEOUT = 3;
my $KA_TIMEOUT = 2;
my $BIG = 20 * 1024 * 1024;
my $PIPELINED = 5000;
my $DOCS = 120;

my $port2 = Loom::Server::free_port();
my $s = Loom::Server->new(modules => ['status'], conf => sizing($mpm) . <<"CONF");
LimitRequestBody 1024
Listen 127.0.0.1:$port2
<VirtualHost 127.0.0.1:$port2>
  MaxKeepAliveRequests 0
</VirtualHost>
CONF
$s->write_doc('big.bin', 'x' x $BIG);
$s->write_doc("p$_.txt", "p$_\n") for 0 .. $DOCS - 1;
$s->start;
my $port = $s->port;
my $parent = $s->pid;

plan tests => 36;

# Baseline: the two start children are up and idle.
$s->wait_until(sub { (() = $s->child_pids) >= 2 }, 10);
my $base = settle($s, 10);
say_fig($mpm, 'baseline: ' . join(', ', map {
    ($base->{$_}{parent} ? 'parent' : 'child') . " $_: $base->{$_}{fds} fds, "
    . "$base->{$_}{threads} threads" } sort { $a <=> $b } keys %$base));

# Sends each payload on its own connection (all at once), applies $after to
# each socket (half-close, nothing), and waits at most $secs for every
# connection to end. Returns one { resp, how, secs } per payload.
sub offenders {
    my ($payloads, $secs, $after) = @_;
    my (@c, @r);
    for my $p (@$payloads) {
        my $c = raw_connect($port);
        syswrite $c, $p;
        $after->($c) if $after;
        push @c, $c;
    }
    my $t0 = time;
    my $sel = IO::Select->new(@c);
    my %i = map { fileno($c[$_]) => $_ } 0 .. $#c;
    $r[$_] = { resp => '', how => 'timeout', secs => undef } for 0 .. $#c;
    while ($sel->count && time < $t0 + $secs) {
        for my $c ($sel->can_read(0.1)) {
            my $r = $r[$i{fileno $c}];
            my $n = sysread($c, my $buf, 65536);
            if ($n) { $r->{resp} .= $buf; next }
            $r->{how} = defined $n ? 'eof' : 'reset';
            $r->{secs} = time - $t0;
            $sel->remove($c);
            close $c;       # as a client does: the server's lingering close ends
        }
    }
    close $_ for @c;
    return @r;
}

sub histogram {
    my %h;
    $h{ status_code($_->{resp}) // ($_->{how} eq 'timeout' ? 'open' : "no response, $_->{how}") }++ for @_;
    return join ', ', map { "$_: $h{$_}" } sort keys %h;
}

sub blob {
    my ($min, $max, $no_nl) = @_;
    my $n = $min + int rand($max - $min + 1);
    my $b = join '', map { chr int rand 256 } 1 .. $n;
    $b =~ tr/\n\r/ab/ if $no_nl;
    return $b;
}

# Asserts that within Timeout + KeepAliveTimeout + 1 s no process holds
# more descriptors or threads than in the snapshot $pre (taken before the
# offender): which offender leaked, if one did.
sub clean_since {
    my ($pre, $name) = @_;
    my @l;
    my $ok = $s->wait_until(sub { @l = leaks($pre, snapshot($s), $FD_TOL); !@l },
                            $TIMEOUT + $KA_TIMEOUT + 1);
    ok $ok, "$name: afterwards no process holds more descriptors or threads than before"
        or diag join "\n", @l;
}

# Good clients alongside one offender; asserts they were all served and
# that nothing leaked.
sub alongside {
    my ($name, $code, %o) = @_;
    my $pre = snapshot($s);
    my $g = good_bg($port, timeout => $o{timeout} // 8);
    my $t0 = time;
    $code->();
    my $took = time - $t0;
    sleep 0.3;
    my $r = good_stop($g);
    ok $r->{ok} >= 1 && $r->{failed} == 0,
       "$name: good clients served meanwhile ($r->{ok} ok, $r->{failed} failed)"
        or diag "slowest $r->{max_s} s";
    say_fig($mpm, sprintf "%s: good clients %d ok, %d failed, slowest %.2f s (the offenders took %.1f s)",
            $name, $r->{ok}, $r->{failed}, $r->{max_s}, $took);
    clean_since($pre, $name);
}

# (a) random bytes instead of a request
alongside('(a) random bytes', sub {
    my @done = map { blob(1, 300) . "\r\n\r\n" } 1 .. 150;
    my @r;
    for my $i (0 .. 5) {
        push @r, offenders([ @done[$i * 25 .. $i * 25 + 24] ], 8);
    }
    say_fig($mpm, "(a) 150 blobs ending in an empty line: " . histogram(@r));
    my @bad = grep { $r[$_]{how} eq 'timeout'
                     || (length $r[$_]{resp} && (status_code($r[$_]{resp}) // 0) !~ /^4\d\d$/) } 0 .. $#r;
    is scalar(@bad), 0, '(a) 150 blobs ending in an empty line: each gets a 4xx or a close, and ends'
        or diag join "\n", map { "blob $_: $r[$_]{how}: " . substr($r[$_]{resp}, 0, 60) } @bad[0 .. ($#bad > 4 ? 4 : $#bad)];
    my $n400 = grep { (status_code($_->{resp}) // 0) == 400 } @r;
    cmp_ok $n400, '>=', 140, '(a) ... and at least 140 of them get 400 Bad Request';

    # Prefork queues them behind its few children: up to twice Timeout.
    my @open = offenders([ map { blob(10, 100, 1) } 1 .. 10 ], 2 * $TIMEOUT + 4);
    say_fig($mpm, "(a) 10 unfinished blobs: " . histogram(@open)
            . sprintf('; ended after %.1f s at most', (sort { $b <=> $a } map { $_->{secs} // 99 } @open)[0]));
    is scalar(grep { $_->{how} eq 'timeout' } @open), 0,
       "(a) 10 unfinished blobs: the server drops each by Timeout (all within 2 x $TIMEOUT s + 4)";

    my @half = offenders([ map { blob(10, 200, 1) } 1 .. 30 ], $TIMEOUT + 2, \&half_close);
    say_fig($mpm, "(a) 30 blobs then a half-close: " . histogram(@half));
    my @stuck = grep { $_->{how} eq 'timeout' } @half;
    is scalar(@stuck), 0, '(a) 30 blobs then a half-close: each answered or closed, not left open'
        or diag scalar(@stuck) . " connections still open after " . ($TIMEOUT + 2) . " s";
});

# (b) request heads over the limits
alongside('(b) over the limits', sub {
    my $h = "Host: localhost\r\nConnection: close\r\n";
    my @r = offenders([
        'GET /' . ('a' x 9000) . " HTTP/1.1\r\n$h\r\n",
        "GET / HTTP/1.1\r\n${h}X-Big: " . ('b' x 9000) . "\r\n\r\n",
        "GET / HTTP/1.1\r\n$h" . join('', map { "X-H$_: v\r\n" } 1 .. 99) . "\r\n",
        "GET / HTTP/1.1\r\n$h" . join('', map { "X-H$_: v\r\n" } 1 .. 98) . "\r\n",
        "GET / HTTP/1.1\r\n$h" . join('', map { "X-F$_: " . ('f' x 90) . "\r\n" } 1 .. 90) . "\r\n",
    ], 5);
    is status_code($r[0]{resp}), 414, '(b) a request line of 9000 bytes: 414';
    is status_code($r[1]{resp}), 400, '(b) a header field of 9000 bytes: 400';
    is status_code($r[2]{resp}), 400, '(b) 101 header fields (LimitRequestFields 100): 400';
    is status_code($r[3]{resp}), 200, '(b) 100 header fields: 200';
    is status_code($r[4]{resp}), 200, '(b) a 9 KB head of 92 fields, within the limits: 200';
});

# (d) resets
alongside('(d) resets', sub {
    my @c = map { raw_connect($port) } 1 .. 20;
    syswrite $_, "GET / HTTP/1.1\r\nHost: localhost\r\nX-Half: " for @c;
    sleep 0.2;
    rst($_) for @c;

    my @big = map { raw_connect($port) } 1 .. 10;
    syswrite $_, "GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n" for @big;
    my $got = 0;
    for my $c (@big) {
        my $n = sysread($c, my $buf, 65536);
        $got++ if $n && status_code($buf) && status_code($buf) == 200;
    }
    rst($_) for @big;
    is $got, 10, '(d) 10 clients reset in the middle of a 20 MB response (each had its 200 first)';

    my @now = map { raw_connect($port) } 1 .. 10;
    syswrite $_, "GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n" for @now;
    rst($_) for @now;

    my @linger = map { raw_connect($port) } 1 .. 10;
    syswrite $_, "POST /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . "Content-Length: 100000000\r\n\r\n" . ('b' x 16384) for @linger;
    my $n413 = 0;
    for my $c (@linger) {
        my $sel = IO::Select->new($c);
        my $buf = '';
        my $end = time + 5;
        while (time < $end && $buf !~ /\r\n\r\n/ && $sel->can_read(0.2)) {
            my $n = sysread($c, my $b, 65536) or last;
            $buf .= $b;
        }
        $n413++ if (status_code($buf) // 0) == 413;
        syswrite $c, 'b' x 16384;      # the server is draining: lingering close
    }
    sleep 0.2;
    rst($_) for @linger;
    is $n413, 10, '(d) 10 clients refused with 413 (body still coming), reset during the lingering close';
});

# (e) a client that never reads a 20 MB response
{
    my $pre = snapshot($s);
    my $c = raw_connect($port, rcvbuf => 4096);
    syswrite $c, "GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n";
    my $t0 = time;
    my $g = good_bg($port, timeout => 8);
    sleep $TIMEOUT + 3;
    my $r = good_stop($g);
    ok $r->{ok} >= 1 && $r->{failed} == 0,
       "(e) a client that never reads: good clients served meanwhile ($r->{ok} ok, $r->{failed} failed)";
    my ($data, $how) = read_all($c, 10);
    say_fig($mpm, sprintf '(e) never-reading client: read %d bytes after %.1f s, then %s',
            length $data, time - $t0, $how);
    ok $how ne 'timeout' && length($data) < $BIG,
       "(e) ... and the server dropped it (Timeout): the connection ended after "
       . length($data) . " of $BIG+ bytes ($how)";
    close $c;
    clean_since($pre, '(e) a client that never reads');
}

# (f) pipelined floods
my $flood = join '', map { "GET /p" . ($_ % $DOCS) . ".txt HTTP/1.1\r\nHost: localhost\r\n\r\n" }
                     0 .. $PIPELINED - 1;

# Writes the flood and reads what comes back; with $read_at_end, reads only
# once everything is written. Returns (responses, how it ended).
sub pipeline {
    my ($p, $read_at_end) = @_;
    my $c = raw_connect($p);
    $c->blocking(0);
    my ($off, $in, $how) = (0, '', 'timeout');
    my $end = time + 20;
    my $sel = IO::Select->new($c);
    while (time < $end) {
        if ($off < length $flood) {
            my $n = syswrite($c, $flood, 65536, $off);
            $off += $n if $n;
            if (!defined $n && !$!{EAGAIN}) { $how = "write: $!"; last }
            next if $read_at_end;
        }
        next unless $sel->can_read($off < length $flood ? 0.01 : 0.5);
        my $n = sysread($c, my $buf, 262144);
        if (!defined $n) { next if $!{EAGAIN}; $how = 'reset'; last }
        if ($n == 0) { $how = 'eof'; last }
        $in .= $buf;
    }
    close $c;
    my ($resp) = parse_responses($in);
    return ($resp, $how, $off);
}

sub in_order {
    my ($resp) = @_;
    for my $i (0 .. $#$resp) {
        return "response $i: status $resp->[$i]{status}, body '$resp->[$i]{body}'"
            unless $resp->[$i]{status} == 200 && $resp->[$i]{body} eq 'p' . ($i % $DOCS) . "\n";
    }
    return '';
}

alongside('(f) pipelined floods', sub {
    for my $at_end (0, 1) {
        my $how_read = $at_end ? 'reading at the end' : 'reading as they come';
        my ($resp, $how) = pipeline($port, $at_end);
        say_fig($mpm, "(f) $PIPELINED pipelined, $how_read: " . scalar(@$resp) . " responses, then $how");
        is scalar(@$resp), 101, "(f) $PIPELINED pipelined GETs, $how_read: exactly 101 responses (MaxKeepAliveRequests 100 + the first)";
        is in_order($resp), '', "(f) ... in order";
        like $resp->[-1]{headers}{connection} // '', qr/close/i, '(f) ... the last says Connection: close';
        is $how, 'eof', '(f) ... and the server closed the connection';
    }
    my ($resp, $how) = pipeline($port2, 0);
    say_fig($mpm, "(f) $PIPELINED pipelined, MaxKeepAliveRequests 0: " . scalar(@$resp) . " responses, then $how");
    is scalar(@$resp), $PIPELINED, "(f) MaxKeepAliveRequests 0: all $PIPELINED answered";
    is in_order($resp), '', '(f) ... in order';
});

# After everything: nothing leaked, nothing spins, nothing crashed.
sleep $TIMEOUT + $KA_TIMEOUT;
my $t_settle = time;
my $after = settle($s, 10);
note sprintf 'settled in %.1f s', time - $t_settle;
my $t0 = cpu_ticks($s->all_pids);
sleep 1;
my $cpu = cpu_ticks($s->all_pids) - $t0;
cmp_ok $cpu, '<=', 10, "the server is idle again: $cpu clock ticks of CPU in 1 s (at most 10)";
say_fig($mpm, 'after: ' . join(', ', map {
    ($after->{$_}{parent} ? 'parent' : 'child') . " $_: $after->{$_}{fds} fds, "
    . "$after->{$_}{threads} threads" } sort { $a <=> $b } keys %$after));
my @leaks = leaks($base, $after, $FD_TOL);
is scalar(@leaks), 0, "no process holds more descriptors or threads than at the start (+$FD_TOL fd)"
    or diag join "\n", @leaks;
is_deeply [$s->crashes], [], 'no child crashed (error log)';
ok Loom::Proc::running($parent) && ($s->pid // 0) == $parent, 'the parent is alive, the same process';
