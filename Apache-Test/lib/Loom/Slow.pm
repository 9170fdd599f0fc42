package Loom::Slow;
# Helpers shared by the tests of parked connections (t/event/*.t,
# t/prefork/*.t): which event MPM runs (Loom's or stock's, anything else
# skips), many raw connections at once,
# one request on each of them in parallel with a deadline, the async figures
# of mod_status, and commands with a hard time limit.
use v5.36;
use Exporter 'import';
use IO::Select;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Time::HiRes qw(time sleep);
use POSIX ();
use Loom::HTTP qw(parse_responses);

our @EXPORT_OK = qw(event_kind event_sizing connect_many get_all status_counts
                    run_cmd wait_counts fmt_counts figures conns_by_pid);

=head1 Loom::Slow

C<event_kind()> returns 'loom' (LOOM_MPM=event) or 'stock' (stock-event);
for any other MPM it plans C<skip_all> with the reason, since what these
tests look at (connections parked without a thread) exists only in event.

C<event_sizing(start => $n, threads => $t, min_spare => $m)> is the
config text that sizes these tests' servers: ExtendedStatus On, $n
children started (ServerLimit the same unless C<server_limit> is given)
of $t threads each, MaxRequestWorkers $n x $t unless C<workers> is given,
and MinSpareThreads $m up to MaxSpareThreads = MaxRequestWorkers.

C<connect_many($port, $n, rcvbuf => $bytes)> opens $n connections to
127.0.0.1 (the receive buffer, if given, is set before connecting, so the
window stays small) and returns them; it dies if one cannot be opened.

C<get_all(\@socks, path => '/', timeout => 10, close => 0)> sends one
HTTP/1.1 GET on every socket at once, then reads the responses together
(select) until all are complete or the deadline passes, and returns one
result per socket: the status code, or undef (no complete response: closed,
reset or timed out). A response must carry Content-Length. The sockets may
be IO::Socket::SSL ones.

C<status_counts($server, $timeout = 3)> returns the mod_status ?auto
figures these tests use (ConnsTotal, ConnsAsyncWriting,
ConnsAsyncKeepAlive, ConnsAsyncClosing, ConnsAsyncWaitIO, BusyWorkers,
IdleWorkers, Processes, Scoreboard), or undef if no answer came within
$timeout seconds (a starved server);
C<wait_counts($server, sub { my $c = shift; ... }, $seconds)> polls them
until the condition holds and returns the last figures seen (and whether it
held, in list context); C<fmt_counts($c)> prints them on one line.
C<conns_by_pid($server)> reads mod_status's table of processes: a hash of
each child's pid to the connections it holds.

C<figures($kind, $text)> reports measured figures: a note for Loom (seen
with prove -v), and on stderr for stock, whose figures are the point of
running these tests against it (Test::More hides a diag made inside a
TODO block).

C<run_cmd($secs, @cmd)> runs a command under timeout(1) and returns (exit
status, stdout and stderr together).

=cut

sub event_kind () {
    my $mpm = $ENV{LOOM_MPM} // 'prefork';
    return 'loom' if $mpm eq 'event';
    return 'stock' if $mpm eq 'stock-event';
    require Test::More;
    Test::More::plan(skip_all => "LOOM_MPM=$mpm: connections parked without "
        . "a thread (keep-alive, write completion, lingering close, "
        . "suspended) exist only in the event model");
    exit 0;
}

sub event_sizing (%a) {
    my $limit = $a{server_limit} // $a{start};
    my $workers = $a{workers} // $a{start} * $a{threads};
    return "ExtendedStatus On\nStartServers $a{start}\nServerLimit $limit\n"
         . "ThreadLimit $a{threads}\nThreadsPerChild $a{threads}\n"
         . "MaxRequestWorkers $workers\nMinSpareThreads $a{min_spare}\n"
         . "MaxSpareThreads $workers\n";
}

sub connect_many ($port, $n, %o) {
    my @s;
    for (1 .. $n) {
        my $c = IO::Socket::INET->new(Proto => 'tcp')
            or die "socket: $!";
        if ($o{rcvbuf}) {
            setsockopt($c, SOL_SOCKET, SO_RCVBUF, $o{rcvbuf})
                or die "SO_RCVBUF: $!";
        }
        my $addr = Socket::pack_sockaddr_in($port, Socket::inet_aton('127.0.0.1'));
        connect($c, $addr) or die "connect #" . (@s + 1) . ": $!";
        $c->autoflush(1);
        push @s, $c;
    }
    return @s;
}

# Whether $buf holds a whole response; its status (0 while incomplete, -1
# if its head is no response's).
sub _complete ($buf) {
    my ($r) = parse_responses($buf);
    return $r->[0]{status} if @$r;
    return 0 if index($buf, "\r\n\r\n") < 0 || $buf =~ m{^HTTP/1\.\d \d{3}};
    return -1;
}

sub get_all ($socks, %o) {
    my $path = $o{path} // '/';
    my $timeout = $o{timeout} // 10;
    my $conn = $o{close} ? 'close' : 'keep-alive';
    my $req = "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: $conn\r\n\r\n";
    my (%buf, %idx, @res);
    my $sel = IO::Select->new;
    for my $i (0 .. $#$socks) {
        my $s = $socks->[$i];
        my $ok = eval { defined syswrite($s, $req) };
        $res[$i] = undef;
        next unless $ok;
        $idx{fileno $s} = $i;
        $buf{$i} = '';
        $sel->add($s);
    }
    my $end = time + $timeout;
    while ($sel->count && time < $end) {
        for my $s ($sel->can_read(0.2)) {
            my $i = $idx{fileno $s};
            my $n = sysread($s, my $chunk, 65536);
            if (!$n) {                  # closed or reset before complete
                $sel->remove($s);
                next;
            }
            # TLS: select sees the socket, not what the TLS layer holds.
            while ($s->can('pending') && $s->pending) {
                sysread($s, $chunk, 65536, length $chunk) or last;
            }
            $buf{$i} .= $chunk;
            my $st = _complete($buf{$i});
            if ($st) {
                $res[$i] = $st > 0 ? $st : undef;
                $sel->remove($s);
            }
        }
    }
    return @res;
}

my @KEYS = qw(ConnsTotal ConnsAsyncWriting ConnsAsyncKeepAlive
              ConnsAsyncClosing ConnsAsyncWaitIO BusyWorkers IdleWorkers
              Processes);

sub status_counts ($s, $timeout = 3) {
    my $a = $s->status_auto($timeout) or return undef;
    return undef unless defined $a->{Scoreboard};
    return { map { $_ => $a->{$_} // -1 } @KEYS, 'Scoreboard' };
}

# Per process, from mod_status's table of processes: pid => connections.
sub conns_by_pid ($s) {
    my $page = Loom::HTTP::get_raw($s->port, "GET /server-status HTTP/1.0\r\n\r\n", 5) // '';
    my %by;
    while ($page =~ m{<tr><td>\d+</td><td>(\d+)</td><td>[^<]*</td><td>(\d+)</td>}g) {
        $by{$1} = $2;
    }
    return \%by;
}

sub fmt_counts ($c) {
    return 'no status' unless $c && %$c;
    return join ' ', map { "$_=$c->{$_}" } @KEYS;
}

sub wait_counts ($s, $cond, $secs) {
    my $end = time + $secs;
    my $c;
    while (1) {
        $c = status_counts($s);
        my $ok = $c && $cond->($c);
        return wantarray ? ($c, 1) : $c if $ok;
        last if time >= $end;
        sleep 0.2;
    }
    return wantarray ? ($c, 0) : $c;
}

sub figures ($kind, $text) {
    if ($kind eq 'stock') {
        print STDERR map { "# [stock-event] $_\n" } split /\n/, $text;
    } else {
        require Test::More;
        Test::More::note($text);
    }
}

sub run_cmd ($secs, @cmd) {
    my $pid = open(my $fh, '-|') // return (-1, "fork: $!");
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        { exec 'timeout', '-k', '2', $secs, @cmd }
        POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ($? >> 8, $out);
}

1;
