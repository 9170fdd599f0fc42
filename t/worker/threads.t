# Threaded MPMs only: how connections meet threads.
# (a) more clients than ThreadsPerChild spread over several children, all
#     served, and each kept-alive connection is served again; with worker
#     an idle kept-alive connection keeps its thread ('K'), with event it
#     gives it back.
# (b) a full server (every thread of its only child busy) queues a new
#     connection and serves it when a thread frees; it does not refuse it.
# (c) mod_status shows per-thread states: the slot running a slow request
#     is 'W', the other threads of the child are '_'.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::HTTP qw(read_response);

my $mpm = $ENV{LOOM_MPM} // 'prefork';
plan skip_all => "$mpm is not threaded: one connection per process, no threads to share"
    unless Loom::Server::threaded();
my ($model) = $mpm =~ /(worker|event)/;

my $sleep_cgi = "#!/bin/sh\nsleep \${QUERY_STRING:-2}\n"
              . "printf 'Content-Type: text/plain\\r\\n\\r\\nslept %s\\n' \"\$QUERY_STRING\"\n";

sub server {
    my ($conf) = @_;
    my $s = Loom::Server->new(modules => ['cgid', 'status'],
                              conf => "ExtendedStatus On\nTimeout 30\n"
                                    . "KeepAliveTimeout 30\n$conf");
    $s->write_doc('sleep.cgi', $sleep_cgi);
    return $s->start;
}

sub connect_to {
    my ($s) = @_;
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port,
                                  Timeout => 10) or die "connect: $!";
    $c->autoflush(1);
    return $c;
}

# The ?auto Scoreboard cut into one string per child slot.
sub per_process {
    my ($board, $limit) = @_;
    return map { substr($board, $_ * $limit, $limit) }
        0 .. int(length($board) / $limit) - 1;
}

# PIDs of the HTML status rows in state W whose request is for $path.
sub w_pids_for {
    my ($s, $path) = @_;
    my %pids;
    $pids{$_->{pid}}++
        for grep { $_->{mode} eq 'W' && $_->{request} =~ m{GET \Q$path\E} }
            $s->status_rows(5);
    return \%pids;
}

plan tests => 16;

# (a) 12 kept-alive clients, 5 threads per child.
{
    my $s = server("StartServers 3\nThreadsPerChild 5\nThreadLimit 5\n"
                   . "MinSpareThreads 5\nMaxSpareThreads 30\n"
                   . "ServerLimit 6\nMaxRequestWorkers 30\n");
    my @c = map { connect_to($s) } 1 .. 12;
    for my $i (0 .. $#c) {
        print { $c[$i] } "GET /sleep.cgi?3 HTTP/1.1\r\nHost: localhost\r\n\r\n";
    }
    # 12 slow requests plus the status request: 13 workers in 'W'.
    my $board = '';
    $s->wait_until(sub {
        $board = ($s->status_auto // {})->{Scoreboard} // '';
        ($board =~ tr/W//) >= 13;
    }, 6);
    is(($board =~ tr/W//), 13, "12 slow requests run at once (Scoreboard $board)");
    my @procs = grep { /W/ } per_process($board, 5);
    ok @procs >= 3, scalar(@procs) . ' children have busy threads (at least 3 needed for 13)';
    my $pids = w_pids_for($s, '/sleep.cgi');
    my $rows = 0;
    $rows += $_ for values %$pids;
    ok $rows == 12 && keys(%$pids) >= 3,
       "the status page puts the 12 requests in " . keys(%$pids) . ' processes';
    my %real = map { $_ => 1 } $s->child_pids;
    ok !grep({ !$real{$_} } keys %$pids), 'and those are children of this server';

    my $served = grep {
        my $r = read_response($_, 15);
        $r && $r->{status} == 200 && $r->{body} eq "slept 3\n";
    } @c;
    is $served, 12, 'all 12 slow requests were served';

    # The 12 connections are idle and kept alive now.
    sleep 0.5;
    my $a = $s->status_auto // {};
    my $k = ($a->{Scoreboard} // '') =~ tr/K//;
    if ($model eq 'worker') {
        is $k, 12, "worker: each idle kept-alive connection keeps its thread ('K' x $k)";
    } else {
        ok(($a->{BusyWorkers} // 99) <= 2,
           "event: idle kept-alive connections hold no thread (BusyWorkers $a->{BusyWorkers})");
    }
    for my $c (@c) {
        print $c "GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    }
    # Event may close idle kept-alive connections of a process whose
    # workers were all busy (as stock event does); a client then retries on
    # a new connection. Worker must not: the connection owns its thread.
    my (@why, $retried);
    $served = grep {
        my $r = read_response($_, 10);
        if (!$r && $model eq 'event' && $@ =~ /closed before a response/) {
            $retried++;
            my $n = connect_to($s);
            print $n "GET /index.html HTTP/1.0\r\n\r\n";
            $r = read_response($n, 10);
        }
        push @why, $r ? "status $r->{status}" : $@ unless $r && $r->{status} == 200;
        $r && $r->{status} == 200 && $r->{body} eq "hello\n";
    } @c;
    is $served, 12, 'each kept-alive connection was served a second time'
        . ($retried ? " ($retried after a retry on a new connection)" : '')
        or diag "failures: @why\n", $s->errlog;
    close $_ for @c;
    $s->stop;
}

# (b) Full server: 2 threads, 1 child, both busy for 2 s.
{
    my $s = server("StartServers 1\nServerLimit 1\nThreadsPerChild 2\n"
                   . "ThreadLimit 2\nMaxRequestWorkers 2\nMinSpareThreads 1\n"
                   . "MaxSpareThreads 2\n");
    my @slow = map { connect_to($s) } 1 .. 2;
    my $t0 = time;
    print $_ "GET /sleep.cgi?2 HTTP/1.0\r\n\r\n" for @slow;
    sleep 0.5;
    my $t1 = time;
    my @queued = map { connect_to($s) } 1 .. 2;    # the kernel accepts them
    print $_ "GET /index.html HTTP/1.0\r\n\r\n" for @queued;
    my @r = map { read_response($_, 10) } @queued;
    my $waited = time - $t1;
    is scalar(grep { $_ && $_->{status} == 200 && $_->{body} eq "hello\n" } @r), 2,
       'requests that arrive while every thread is busy are served, not refused';
    ok $waited >= 1.0 && $waited < 8,
       sprintf('they waited for a thread to free (%.1f s after arriving; the slow ones end 1.5 s later, then linger up to 2 s)', $waited);
    my $done = grep { my $x = read_response($_, 10); $x && $x->{body} eq "slept 2\n" } @slow;
    is $done, 2, 'the two slow requests were served';
    is_deeply [$s->crashes], [], 'no crash';
    $s->stop;
}

# (c) Per-thread states: 4 threads, one child, one slow request.
{
    my $s = server("StartServers 1\nServerLimit 1\nThreadsPerChild 4\n"
                   . "ThreadLimit 4\nMaxRequestWorkers 4\nMinSpareThreads 1\n"
                   . "MaxSpareThreads 4\n");
    # The listener may still be bringing up its threads: wait for 4 slots.
    $s->wait_until(sub { (($s->status_auto // {})->{Scoreboard} // '') =~ /^[_W]{4}$/ }, 5);
    my $c = connect_to($s);
    print $c "GET /sleep.cgi?3 HTTP/1.0\r\n\r\n";
    my $board = '';
    $s->wait_until(sub {
        $board = ($s->status_auto // {})->{Scoreboard} // '';
        ($board =~ tr/W//) == 2;
    }, 5);
    is length($board), 4, 'the scoreboard has ServerLimit x ThreadLimit = 4 slots';
    is join('', sort split //, $board), 'WW__',
       "the slow request and the status request are 'W', the other two '_' ($board)";
    my $pids = w_pids_for($s, '/sleep.cgi?3');
    is_deeply [values %$pids], [1], 'exactly one W slot runs GET /sleep.cgi?3';
    my $r = read_response($c, 10);
    ok $r && $r->{body} eq "slept 3\n", 'the slow request was served';
    close $c;                      # or its thread lingers for 2 s
    ok $s->wait_until(sub {
        my $b = ($s->status_auto // {})->{Scoreboard} // '';
        join('', sort split //, $b) eq 'W___';
    }, 5), "afterwards only the status request is 'W'";
    $s->stop;
}
