# What it proves: LoomDrainTimeout (Loom's own directive; stock has no
# bounded drain) stops a child that was told to finish by a graceful
# restart once the timeout has passed, however long its connections last:
#  - off by default: after a graceful restart, an old child serving a
#    request that takes 30 s is still there 4 s later, and the request is
#    still in flight;
#  - with LoomDrainTimeout 2: the old child is gone between 2 and 4.5 s
#    after the restart, its 30 s request is cut (the client sees the
#    connection end without the answer), the log says so once (LOOM0417),
#    and the new generation serves meanwhile and afterwards without a
#    failed request;
#  - a child that finishes within the timeout exits on its own and is not
#    touched: no LOOM0417.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Load qw(request_loop);

my $mpm = Loom::Server::mpm_or_skip();
plan skip_all => 'LoomDrainTimeout is a Loom directive; stock MPMs have no bounded drain'
    if $mpm =~ /^stock-/;
my $threaded = Loom::Server::threaded();

sub server {
    my ($extra) = @_;
    my $s = Loom::Server->new(modules => [$threaded ? 'cgid' : 'cgi', 'status'],
        conf => "StartServers 2\n"
              . ($threaded ? "ThreadsPerChild 4\nMinSpareThreads 4\nMaxSpareThreads 16\n"
                           : "MinSpareServers 2\nMaxSpareServers 4\n")
              . ($extra // ''));
    # The script marks that it runs, so that the test knows the request is
    # in a child (and past mod_cgid's daemon) before it restarts anything.
    $s->write_doc('sleep.cgi', "#!/bin/sh\ntouch \"\$DOCUMENT_ROOT/running\"\n"
                             . "sleep \${QUERY_STRING:-30}\n"
                             . "printf 'Content-Type: text/plain\\r\\n\\r\\nslept\\n'\n");
    return $s->start;
}

# Starts a slow request and waits until its script runs; returns the socket.
sub slow {
    my ($s, $secs) = @_;
    my $mark = $s->dir . '/htdocs/running';
    unlink $mark;
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port,
                                  Timeout => 5) or die "connect: $!";
    $c->autoflush(1);
    print $c "GET /sleep.cgi?$secs HTTP/1.0\r\n\r\n";
    $s->wait_until(sub { -e $mark }, 5) or diag 'the slow request did not start';
    return $c;
}

# Whatever arrives within $secs, and whether the server closed.
sub drain_sock {
    my ($c, $secs) = @_;
    my ($buf, $closed, $end) = ('', 0, time + $secs);
    my $sel = IO::Select->new($c);
    while ((my $left = $end - time) > 0) {
        last unless $sel->can_read($left);
        my $n = sysread($c, my $chunk, 4096);
        if (!$n) { $closed = 1; last }
        $buf .= $chunk;
    }
    return ($buf, $closed);
}

sub generation { (($_[0]->status_auto // {})->{ParentServerMPMGeneration}) // -1 }

plan tests => 9;

# Off by default ----------------------------------------------------------------
{
    my $s = server();
    my $c = slow($s, 30);
    my @old = $s->child_pids;       # the one serving it among them
    my $gen = generation($s);
    $s->signal('graceful');
    ok $s->wait_until(sub { generation($s) == $gen + 1 }, 5), 'default: graceful restart done';
    sleep 4;
    my @left = grep { Loom::Proc::running($_) } @old;
    my ($buf, $closed) = drain_sock($c, 0.2);
    ok @left >= 1 && !$closed,
       'default (unbounded): an old child still serves its 30 s request 4 s later'
        or diag "old children left: @left; closed: $closed";
    $s->stop;
}

# LoomDrainTimeout 2 ------------------------------------------------------------
{
    my $s = server("LoomDrainTimeout 2\n");
    my $c = slow($s, 30);
    my @old = $s->child_pids;
    my $gen = generation($s);
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $r = request_loop(port => $s->port, seconds => 5);
        exit($r->{ok} > 0 && $r->{failed} == 0 ? 0 : 1);
    }
    my $t0 = time;
    $s->signal('graceful');
    my $gone = $s->wait_until(sub { !grep { Loom::Proc::running($_) } @old }, 6);
    my $took = time - $t0;
    ok $gone && $took >= 1.8 && $took <= 4.5,
       sprintf('bounded: every old child gone %.1f s after the restart (2..4.5)', $took)
        or diag 'old children left: ' . join(' ', grep { Loom::Proc::running($_) } @old);
    my ($buf, $closed) = drain_sock($c, 3);
    ok $closed && $buf !~ /slept/, 'bounded: the 30 s request was cut, the connection closed';
    waitpid $pid, 0;
    is $? >> 8, 0, 'bounded: the new generation served throughout, no request failed';
    ok generation($s) == $gen + 1, 'bounded: one new generation';
    my @cuts = $s->errlog =~ /(LOOM0417: .*)/g;
    ok @cuts >= 1 && @cuts <= scalar(@old) && $cuts[0] =~ /LoomDrainTimeout stops it/,
       'bounded: logged once per old child stopped (' . scalar(@cuts) . ')'
        or diag $s->errlog;
    my $r = request_loop(port => $s->port, seconds => 0.5);
    ok $r->{ok} > 0 && $r->{failed} == 0, 'bounded: serving afterwards';
    $s->stop;
}

# A child that finishes in time is left alone ---------------------------------
# (the timeout is roomy: under a threaded MPM, mod_cgid's daemon restarts
# with the generation and the answer's end comes up to ~3 s late)
{
    my $s = server("LoomDrainTimeout 8\n");
    my $c = slow($s, 1);
    my @old = $s->child_pids;
    my $t0 = time;
    $s->signal('graceful');
    my ($buf) = drain_sock($c, 7);
    close $c;           # or the server lingers on it, waiting for our close
    my $gone = $s->wait_until(sub { !grep { Loom::Proc::running($_) } @old }, 7.5);
    ok $buf =~ /slept/ && $gone && $s->errlog !~ /LOOM0417/,
       sprintf('a request that ends within the timeout completes; its child exits '
               . 'on its own (%.1f s), nothing is stopped', time - $t0)
        or diag $s->errlog;
    $s->stop;
}
