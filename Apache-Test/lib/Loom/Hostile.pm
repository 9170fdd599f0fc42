package Loom::Hostile;
# Helpers for the hostile-client tests (t/reliability/hostile*.t): the
# sizing that makes leaks show, what the kernel says about each server
# process (descriptors, threads, CPU), raw connections that misbehave
# (reset, half-close, never read) and a "good client" with a deadline.
use v5.36;
use Exporter 'import';
use IO::Select;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER SO_RCVBUF IPPROTO_TCP TCP_NODELAY
              inet_aton pack_sockaddr_in);
use POSIX qw(EINPROGRESS);
use Time::HiRes qw(sleep time);
use Loom::Proc qw(running fd_count thread_count);
use Loom::HTTP qw(read_all parse_responses);

our @EXPORT_OK = qw(sizing snapshot settle leaks rst
                    half_close raw_connect nb_connect good_clients
                    ensure_nofile say_fig good_bg good_stop);

=head1 Loom::Hostile

C<sizing($mpm)>: the small configuration the hostile tests use (2 children;
prefork MaxSpareServers 4, MaxRequestWorkers 16; threaded 8 threads per
child, MaxRequestWorkers 64; Timeout 3, KeepAliveTimeout 2).

C<snapshot($server)>: { pid => { fds, threads, parent } } for every process
of the instance (the parent and its apache2 children), read from /proc.
C<settle($server, $secs)> waits until two snapshots 0.5 s apart agree on
the set of processes and their counts, and returns the last one.
C<leaks($before, $after, $fd_tol)> returns one line per process whose
counts grew: a surviving process against its own baseline, a new child
against the largest baseline of any child.

C<raw_connect($port, rcvbuf => $bytes)> a blocking connection (receive
buffer set before connecting, if given); C<nb_connect($port)> a
non-blocking connect that may still be in progress. C<rst($sock)> closes
with SO_LINGER 0, which sends a reset. C<half_close($sock)> shuts down the
sending side.

C<good_clients($port, $n, timeout => 5)> makes $n requests for / one after
another, each on a fresh connection with a deadline, and returns
{ ok, failed, max_s } (ok: a 200 with the whole body).

C<good_bg($port, timeout => 5)> runs good clients one after another in a
forked process until C<good_stop($h)>, which returns the same hash as
C<good_clients> (ok, failed, max_s: the slowest request).

C<ensure_nofile($n)>: raises this process's descriptor limit (soft, up to
the hard limit) so that it can hold $n sockets; returns the soft limit.

=cut

sub sizing ($mpm) {
    my $common = "Timeout 3\nKeepAliveTimeout 2\nKeepAlive On\n";
    return $common . ($mpm =~ /prefork/
        ? "StartServers 2\nMinSpareServers 2\nMaxSpareServers 4\n"
          . "ServerLimit 16\nMaxRequestWorkers 16\n"
        : "StartServers 2\nServerLimit 16\nThreadLimit 8\nThreadsPerChild 8\n"
          . "MinSpareThreads 8\nMaxSpareThreads 24\nMaxRequestWorkers 64\n");
}

sub snapshot ($s) {
    my $parent = $s->pid // 0;
    my %snap;
    for my $pid ($parent, $s->child_pids) {
        next unless running($pid);
        my $fds = fd_count($pid);
        my $thr = thread_count($pid);
        next unless defined $fds && defined $thr;
        $snap{$pid} = { fds => $fds, threads => $thr,
                        parent => $pid == $parent ? 1 : 0 };
    }
    return \%snap;
}

sub _same ($a, $b) {
    return 0 unless join(',', sort keys %$a) eq join(',', sort keys %$b);
    for my $p (keys %$a) {
        return 0 if $a->{$p}{fds} != $b->{$p}{fds}
                 || $a->{$p}{threads} != $b->{$p}{threads};
    }
    return 1;
}

sub settle ($s, $secs = 10) {
    my $end = time + $secs;
    my $prev = snapshot($s);
    while (time < $end) {
        sleep 0.5;
        my $now = snapshot($s);
        return $now if _same($prev, $now);
        $prev = $now;
    }
    return $prev;
}

sub leaks ($before, $after, $fd_tol = 0) {
    my ($max_fds, $max_thr) = (0, 0);
    for my $b (grep { !$_->{parent} } values %$before) {
        $max_fds = $b->{fds} if $b->{fds} > $max_fds;
        $max_thr = $b->{threads} if $b->{threads} > $max_thr;
    }
    my @bad;
    for my $pid (sort { $a <=> $b } keys %$after) {
        my $a = $after->{$pid};
        my $b = $before->{$pid};
        my $what = $a->{parent} ? 'parent' : 'child';
        my ($fds, $thr, $from) = $b ? ($b->{fds}, $b->{threads}, 'its own baseline')
                                    : ($max_fds, $max_thr, 'the largest child baseline');
        push @bad, "$what $pid: $a->{fds} descriptors, $from $fds (tolerance $fd_tol)"
            if $a->{fds} > $fds + $fd_tol;
        push @bad, "$what $pid: $a->{threads} threads, $from $thr"
            if $a->{threads} > $thr;
    }
    return @bad;
}

sub raw_connect ($port, %o) {
    my $c = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $!";
    if ($o{rcvbuf}) {
        setsockopt($c, SOL_SOCKET, SO_RCVBUF, $o{rcvbuf}) or die "SO_RCVBUF: $!";
    }
    connect($c, pack_sockaddr_in($port, inet_aton('127.0.0.1')))
        or die "connect: $!";
    setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1);
    $c->autoflush(1);
    return $c;
}

sub nb_connect ($port) {
    my $c = IO::Socket::INET->new(Proto => 'tcp') or return undef;
    $c->blocking(0);
    my $ok = connect($c, pack_sockaddr_in($port, inet_aton('127.0.0.1')));
    return undef unless $ok || $! == EINPROGRESS;
    return $c;
}

sub rst ($c) {
    setsockopt($c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close $c;
}

sub half_close ($c) { shutdown($c, 1) }

sub good_clients ($port, $n, %o) {
    my $timeout = $o{timeout} // 5;
    my $path = $o{path} // '/';
    my %r = (ok => 0, failed => 0, max_s => 0);
    for (1 .. $n) {
        my $t0 = time;
        my $ok = 0;
        if (my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                          Timeout => $timeout)) {
            syswrite $c, "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
            my ($data) = read_all($c, $timeout - (time - $t0));
            my ($resp) = parse_responses($data);
            $ok = @$resp && $resp->[0]{status} == 200;
            close $c;
        }
        my $dt = time - $t0;
        $r{max_s} = $dt if $dt > $r{max_s};
        $ok ? $r{ok}++ : $r{failed}++;
    }
    return \%r;
}

sub good_bg ($port, %o) {
    pipe(my $stop_rd, my $stop_wr) or die "pipe: $!";
    pipe(my $res_rd, my $res_wr) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $stop_wr;
        close $res_rd;
        my %t = (ok => 0, failed => 0, max_s => 0);
        my $sel = IO::Select->new($stop_rd);
        until ($sel->can_read(0.05)) {
            my $r = good_clients($port, 1, %o);
            $t{$_} += $r->{$_} for qw(ok failed);
            $t{max_s} = $r->{max_s} if $r->{max_s} > $t{max_s};
        }
        print $res_wr "$t{ok} $t{failed} $t{max_s}\n";
        close $res_wr;
        POSIX::_exit(0);
    }
    close $stop_rd;
    close $res_wr;
    return { pid => $pid, stop => $stop_wr, res => $res_rd };
}

sub good_stop ($h) {
    close $h->{stop};
    my $fh = $h->{res};
    my $line = <$fh> // '0 0 0';
    close $fh;
    waitpid $h->{pid}, 0;
    my %r;
    @r{qw(ok failed max_s)} = split ' ', $line;
    return \%r;
}

sub _nofile () {
    open my $fh, '<', '/proc/self/limits' or return (0, 0);
    while (<$fh>) {
        return ($1, $2) if /^Max open files\s+(\d+)\s+(\d+)/;
    }
    return (0, 0);
}

sub ensure_nofile ($n) {
    my ($soft, $hard) = _nofile();
    return $soft if $soft >= $n;
    my $want = $hard < $n ? $hard : $n;
    system('prlimit', "--pid=$$", "--nofile=$want:$hard") == 0 or return $soft;
    ($soft) = _nofile();
    return $soft;
}

# A figure for the reader: a note under prove -v; on stderr for the stock
# twins, whose figures are the reason to run them.
sub say_fig ($mpm, $text) {
    if ($mpm =~ /^stock-/) {
        print STDERR map { "# [$mpm] $_\n" } split /\n/, $text;
    } else {
        require Test::More;
        Test::More::note($text);
    }
}

1;
