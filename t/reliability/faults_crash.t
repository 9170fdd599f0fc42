# What it proves: under steady load (wrk, keep-alive connections), a child
# killed with SIGSEGV, then one with SIGABRT, then one with SIGKILL does not
# cost more than that child's own connections, and is replaced at once:
#  - the failed requests of the wrk run (socket errors + non-2xx) are at
#    most the connections the killed child held when it died (read from
#    /proc just before the kill: its established sockets on the server's
#    port). The sizing makes that bound small and known: stock prefork 1
#    (one connection per process), worker ThreadsPerChild (4; a worker child
#    accepts only with an idle thread), event and Loom's prefork (which
#    parks connections) whatever that child held (such a child may hold
#    more connections than threads);
#  - wrk kept being served: it completed requests, and a fresh request
#    during the run is answered;
#  - a replacement (a new pid) appears and serves a request within 1 s of
#    the kill (Loom's prefork: appears ready to take connections, as the
#    kernel hands new connections to the idle child that waited longest),
#    and the number of children comes back; the parent lives;
#  - (Loom) the parent logs the death exactly once, with the signal:
#    "LOOM0401: child pid N (slot S) died on signal 11 (Segmentation
#    fault)", "signal 6 (Abort)", "signal 9 (Killed)", and no crash-loop
#    line (three crashes are not a loop).
# The failure bound, the replacement and the log line are Loom's promises;
# for stock the test prints its figures (stock replaces a dead child only
# when idle maintenance finds too few idle workers).
# The sizing leaves one spare child (prefork: one process, threaded: one
# child's threads) besides wrk's connections, so that once the victim's
# connections have reconnected the replacement is the child with room: the
# test's probe requests then go to it (event children may take more
# connections than threads, so there the probes are repeated), which is
# how "it serves" is seen: mod_status shows its pid with accesses.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Fault qw(running_kids);
use Loom::Wrk qw(wrk_start wrk_stop);
use Loom::Proc qw(tcp_conns fds);
use Loom::HTTP qw(get_raw);

my $mpm = Loom::Server::mpm_or_skip('wrk');
my $loom = $mpm !~ /^stock-/;
my $threaded = Loom::Server::threaded();
# Loom's prefork parks connections (LoomParkConnections On, the default):
# a child may hold several, and any idle child takes a new one.
my $parked = $mpm eq 'prefork';
my $tpc = 4;
my ($conf, $conns, $children);
if ($threaded) {
    $children = 3;
    $conns = 2 * $tpc;          # two children's worth; the third has room
    $conf = "ServerLimit $children\nStartServers $children\nThreadsPerChild $tpc\n"
          . "MaxRequestWorkers " . ($children * $tpc) . "\n"
          . "MinSpareThreads $tpc\nMaxSpareThreads " . ($children * $tpc) . "\n";
}
else {
    $children = 5;
    $conns = $children - 1;     # one child stays free for the probes
    $conf = "ServerLimit $children\nStartServers $children\nMaxRequestWorkers $children\n"
          . "MinSpareServers 1\nMaxSpareServers $children\n";
}
$conf .= "KeepAlive On\nMaxKeepAliveRequests 0\nKeepAliveTimeout 30\n";
my $s = Loom::Server->new(modules => ['status'], conf => $conf, loglevel => 'info')->start;
my $parent = $s->pid;
my $replace_within = 1.0;
my %sig_no = (SEGV => 11, ABRT => 6, KILL => 9);
my %sig_text = (SEGV => 'Segmentation fault', ABRT => 'Abort', KILL => 'Killed');

plan tests => 3 + 6 * 3;

ok $s->wait_until(sub { running_kids($s) == $children }, 10), "$children children to start with";

sub answers {
    my $r = get_raw($s->port, "GET / HTTP/1.0\r\n\r\n", 5) // '';
    return $r =~ m{^HTTP/1\.\d 200 };
}

my @figures;
for my $sig (qw(SEGV ABRT KILL)) {
    $s->wait_until(sub { running_kids($s) == $children }, 5);
    my $wrk = wrk_start(url => $s->url('/'), conns => $conns);
    # Wait until wrk's connections are all in place, then pick the child
    # that holds the most of them, just before the kill.
    my (%before, %held);
    my $scan = sub {
        %held = map { $_ => tcp_conns($_, $s->port) } running_kids($s);
        %before = map { $_ => 1 } keys %held;
        my $total = 0;
        $total += $_ for values %held;
        return $total >= $conns;
    };
    $s->wait_until($scan, 5);
    sleep 0.5;
    $s->wait_until($scan, 3);
    my ($victim) = sort { $held{$b} <=> $held{$a} || $a <=> $b } keys %held;
    my $held = $victim ? $held{$victim} : 0;
    note "connections per child before the kill (pid:connections/descriptors): "
         . join(' ', map { "$_:$held{$_}/" . scalar(keys %{ fds($_) }) } sort keys %held);
    my $t0 = time;
    kill $sig, $victim if $victim;
    # The replacement: a pid that was not there before, seen in mod_status
    # with at least one access (the probe requests go to the one child with
    # room once the victim's connections have reconnected).
    my ($new, $served_after) = (undef, undef);
    my $waited = $s->wait_until(sub {
        my @fresh = grep { !$before{$_} } running_kids($s);
        return 0 unless @fresh;
        $new //= time - $t0;
        get_raw($s->port, "GET / HTTP/1.0\r\n\r\n", 0.5);
        for my $row ($s->status_rows(1)) {
            next unless grep { $_ == $row->{pid} } @fresh;
            # Parked, the kernel wakes the idle child that waited longest
            # for a new connection, rarely the newest: ready and accepting
            # is what "serves" can mean there.
            if ($row->{acc} > 0 || ($parked && $row->{mode} eq '_')) {
                $served_after = time - $t0;
                return 1;
            }
        }
        return 0;
    }, 5);
    my $answered = answers();
    sleep 0.5;
    my $r = wrk_stop($wrk);
    my $failed = ($r->{errors} // 0) + ($r->{non2xx} // 0);
    push @figures, sprintf('%s: victim held %d of %d connections, wrk %d requests, %d failed '
                           . '(%d socket errors, %d non-2xx), replacement forked after %s s, serving after %s s',
                           $sig, $held, $conns, $r->{requests} // 0, $failed, $r->{errors} // 0,
                           $r->{non2xx} // 0, map { defined $_ ? sprintf('%.2f', $_) : 'never' }
                           $new, $served_after);
    note $figures[-1];
    ok $victim && $held >= 1, "SIG$sig: the victim ($victim) held $held of wrk's $conns connections";
    my $cap = $threaded ? ($mpm =~ /worker/ ? $tpc : $conns) : $parked ? $conns : 1;
    ok(($r->{requests} // 0) > 100 && $answered,
       "SIG$sig: the server kept serving (wrk: " . ($r->{requests} // 0) . ' requests; a fresh request answered)');
    my $back = $s->wait_until(sub { running_kids($s) == $children && !Loom::Proc::running($victim) }, 5);
    $figures[-1] .= $back ? ", $children children again" : ', children now ' . scalar(running_kids($s));
    SKIP: {
        # Stock event lost more than the victim's connections here (12
        # failed with 3 held), and stock replaces a dead child only when
        # idle maintenance finds too few idle workers: these are Loom's
        # promises; stock's figures are printed.
        skip "Loom's promises; stock's figures are printed", 3 unless $loom;
        ok $failed <= $held && $held <= $cap,
           "SIG$sig: failed requests $failed <= the victim's connections $held (at most $cap)"
            or diag $r->{raw};
        ok $waited && $served_after <= $replace_within,
           sprintf('SIG%s: a replacement serves within %.1f s (%s)', $sig, $replace_within,
                   defined $served_after ? sprintf('%.2f s', $served_after) : 'not seen');
        ok $back, "SIG$sig: $children children again, the victim gone"
            or diag 'children: ' . join(' ', running_kids($s));
    }
    SKIP: {
        skip 'the log line checked is Loom\'s (stock logs AH00052 for some signals only)', 1 unless $loom;
        my $want = qr/LOOM0401: child pid $victim \(slot \d+\) died on signal $sig_no{$sig} \(\Q$sig_text{$sig}\E\)/;
        my @mine = grep { /\b$victim\b/ } split /\n/, $s->errlog;
        ok @mine == 1 && $mine[0] =~ $want, "SIG$sig: the parent logged the death once, with the signal"
            or diag "lines naming $victim:\n" . join("\n", @mine);
    }
}
ok Loom::Proc::running($parent), 'the parent lived through the three deaths';
SKIP: {
    skip 'the log line checked is Loom\'s', 1 unless $loom;
    my @loop = $s->errlog =~ /(LOOM040[37].*)/g;
    ok !@loop, 'three crashes are not called a crash loop' or diag join("\n", @loop);
}
diag "figures ($mpm): $_" for @figures;
$s->stop;
