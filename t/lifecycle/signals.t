# The four signals with a request in flight, with stock semantics:
# graceful (USR1) lets it finish and fails no request meanwhile; restart
# (HUP) aborts it and comes back with the next generation; graceful-stop
# (WINCH) lets it finish, then exits and removes the pid file, or stops
# what is left at GracefulShutdownTimeout; stop (TERM) aborts it and
# leaves no process behind.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Load qw(request_loop);

my $cgi = Loom::Server::threaded() ? 'cgid' : 'cgi';
my $script = "#!/bin/sh\nsleep \${QUERY_STRING:-2}\n"
           . "printf 'Content-Type: text/plain\\r\\n\\r\\nslept\\n'\n";

sub server {
    my ($conf) = @_;
    my $s = Loom::Server->new(modules => [$cgi, 'status'],
                              conf => "StartServers 2\n" . ($conf // ''));
    $s->write_doc('sleep.cgi', $script);
    return $s->start;
}

# Sends a request for the slow script; returns the socket to read later.
sub slow_request {
    my ($s, $secs) = @_;
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port,
                                  Timeout => 20) or die "connect: $!";
    print $c "GET /sleep.cgi?$secs HTTP/1.0\r\n\r\n";
    sleep 0.5;           # it is running now
    return $c;
}

sub answer { my ($c) = @_; local $/; my $r = <$c>; return $r // '' }

plan tests => 15;

# graceful: in-flight finishes, nothing fails, generation + 1
{
    my $s = server();
    my $gen = $s->status_auto->{ParentServerMPMGeneration};
    my $c = slow_request($s, 2);
    my $pid = fork // die;
    if ($pid == 0) {
        my $r = request_loop(port => $s->port, seconds => 2.5);
        exit($r->{failed} == 0 && $r->{ok} > 0 ? 0 : 1);
    }
    sleep 0.3;
    $s->signal('graceful');
    like answer($c), qr{^HTTP/1\.\d 200 .*slept}s, 'graceful: request in flight completes';
    waitpid $pid, 0;
    is $? >> 8, 0, 'graceful: no request failed meanwhile';
    ok $s->wait_until(sub { ($s->status_auto // {})->{ParentServerMPMGeneration} == $gen + 1 }, 5),
       'graceful: the MPM generation went up by one';
    $s->stop;
}

# restart: in-flight aborted, back with a new generation
{
    my $s = server();
    my $gen = $s->status_auto->{ParentServerMPMGeneration};
    my $c = slow_request($s, 3);
    my $t0 = time;
    $s->signal('restart');
    my $r = answer($c);
    unlike $r, qr/slept/, 'restart: request in flight is aborted';
    ok time - $t0 < 2.5, 'restart: without waiting for it';
    ok $s->wait_until(sub { my $a = $s->status_auto; $a && $a->{ParentServerMPMGeneration} == $gen + 1 }, 10),
       'restart: serving again, next generation';
    $s->stop;
}

# graceful-stop: in-flight finishes, then the server is gone
{
    my $s = server();
    my $pidfile = $s->dir . '/logs/httpd.pid';
    my @pids = $s->all_pids;
    my $c = slow_request($s, 2);
    $s->signal('graceful-stop');
    like answer($c), qr/slept/, 'graceful-stop: request in flight completes';
    ok $s->wait_until(sub { !grep { kill 0, $_ } @pids }, 10), 'graceful-stop: every process exits';
    ok !-e $pidfile, 'graceful-stop: pid file removed';
}

# graceful-stop with GracefulShutdownTimeout: the rest is stopped. Stock
# threaded MPMs need their SIGKILL schedule (about 10 s) for a thread stuck
# on a CGI, so this part is Loom's promise only.
SKIP: {
    skip 'stock threaded MPMs stop stuck threads only by SIGKILL at 9 s', 3
        if ($ENV{LOOM_MPM} // '') =~ /^stock-(worker|event)$/;
    my $s = server("GracefulShutdownTimeout 1\n");
    my @pids = $s->all_pids;
    my $c = slow_request($s, 8);
    my $t0 = time;
    $s->signal('graceful-stop');
    ok $s->wait_until(sub { !grep { kill 0, $_ } @pids }, 10), 'timeout: every process exits';
    my $took = time - $t0;
    ok $took >= 0.8 && $took < 5, sprintf('timeout: after about 1 s (%.1f s)', $took);
    unlike answer($c), qr/slept/, 'timeout: the long request was cut';
}

# stop: in-flight aborted, nothing left
{
    my $s = server();
    my $pidfile = $s->dir . '/logs/httpd.pid';
    my @pids = $s->all_pids;
    my $c = slow_request($s, 5);
    $s->signal('stop');
    unlike answer($c), qr/slept/, 'stop: request in flight is aborted';
    ok $s->wait_until(sub { !grep { kill 0, $_ } @pids }, 10), 'stop: every process exits';
    ok !-e $pidfile, 'stop: pid file removed';
}
