# What it proves: graceful-stop with GracefulShutdownTimeout 3, under load,
# lets what can finish in time finish, cuts the rest at the deadline, and
# ends the server with the right exit status. (t/lifecycle/signals.t covers
# one request and GracefulShutdownTimeout 1 without load; this adds load,
# a request that finishes inside the timeout next to one that cannot, and
# the exit status.)
# The server runs in the foreground (-DFOREGROUND) as this test's child,
# so that its exit status can be read; wrk keeps 8 keep-alive connections
# busy, and two CGI requests are in flight: one sleeps 1 s, one 10 s.
# Then `apache2 -k graceful-stop`:
#  - the command returns 0;
#  - the 1 s request completes with 200;
#  - the 10 s request is cut at the deadline: its connection closes
#    without a response 2.5 - 3.8 s after the signal (the stop-now at the
#    deadline shuts the sockets in service down at once);
#  - the parent exits with status 0 at about the deadline (2.5 - 6 s) and
#    no process of the instance is left;
#  - (Loom) the log says the timeout expired, once (LOOM0408).
# Stock worker and event end a thread stuck in a CGI only with the
# SIGKILL of their reclaim schedule (about 10 s, see signals.t), so the
# deadline is asserted for Loom and stock prefork; stock threaded's
# figures are printed.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Select;
use POSIX ();
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Fault qw(log_lines);
use Loom::Wrk qw(wrk_start wrk_stop);
use Loom::HTTP qw(get_raw);

my $mpm = Loom::Server::mpm_or_skip('wrk');
my $loom = $mpm !~ /^stock-/;
my $threaded = Loom::Server::threaded();
my $deadline_kept = $loom || $mpm eq 'stock-prefork';
my $cgi = $threaded ? 'cgid' : 'cgi';
my $conf = ($threaded
    ? "StartServers 2\nThreadsPerChild 8\nMinSpareThreads 8\nMaxSpareThreads 24\n"
    : "StartServers 12\nMinSpareServers 2\nMaxSpareServers 12\nServerLimit 16\n"
      . "MaxRequestWorkers 16\n")
    . "GracefulShutdownTimeout 3\n";
my $s = Loom::Server->new(modules => [$cgi, 'status'], conf => $conf, loglevel => 'info');
$s->write_doc('sleep.cgi', "#!/bin/sh\nsleep \${QUERY_STRING:-1}\n"
                           . "printf 'Content-Type: text/plain\\r\\n\\r\\nslept\\n'\n");
# Start and stop once as a daemon: that writes the configuration, which
# the foreground run below uses.
$s->start;
$s->stop;
$s->wait_until(sub { !$s->all_pids }, 10);

my $pid = fork // die "fork: $!";
if ($pid == 0) {
    open STDOUT, '>', '/dev/null';
    open STDERR, '>', '/dev/null';
    setpgrp(0, 0);      # our Ctrl-C is not the server's
    { exec $Loom::Server::HTTPD, '-f', $s->conf_path, '-DFOREGROUND' }
    POSIX::_exit(127);
}
my $reaped;
END { if ($pid && !$reaped) { kill 'KILL', $pid; kill 'KILL', $_ for $s->all_pids } }

plan tests => 9;

my $up = $s->wait_until(sub { (get_raw($s->port, "GET / HTTP/1.0\r\n\r\n", 2) // '') =~ m{^HTTP/1\.\d 200 } }, 10);
ok $up, "the server runs in the foreground (pid $pid)";

my $wrk = wrk_start(url => $s->url('/'), conns => 8);
sleep 0.5;

sub slow {
    my ($secs) = @_;
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port, Timeout => 5)
        or die "connect: $!";
    $c->autoflush(1);
    print $c "GET /sleep.cgi?$secs HTTP/1.0\r\n\r\n";
    return $c;
}
my $short = slow(1);
my $long = slow(10);
# Both in flight before the stop: mod_status shows them.
ok $s->wait_until(sub {
       my @r = grep { $_->{mode} eq 'W' && $_->{request} =~ m{/sleep\.cgi\?1 } } $s->status_rows(2);
       my @l = grep { $_->{mode} eq 'W' && $_->{request} =~ m{/sleep\.cgi\?10 } } $s->status_rows(2);
       @r && @l }, 3),
   'both slow requests are in flight (mod_status)';
my $t0 = time;
my $rc = system($Loom::Server::HTTPD, '-f', $s->conf_path, '-k', 'graceful-stop');
is $rc, 0, 'apache2 -k graceful-stop returns 0';

# Reads both answers as they come; notes when each connection closed.
my %c = (short => { s => $short }, long => { s => $long });
my $sel = IO::Select->new($short, $long);
my $end = $t0 + ($deadline_kept ? 8 : 16);
while ($sel->count && (my $left = $end - time) > 0) {
    for my $fh ($sel->can_read($left)) {
        my ($k) = grep { $c{$_}{s} == $fh } keys %c;
        my $n = sysread($fh, my $buf, 65536);
        if ($n) {
            $c{$k}{resp} .= $buf;
            next;
        }
        $c{$k}{closed} = time - $t0;
        $sel->remove($fh);
    }
}
# The parent's exit.
my $status;
while (time < $end) {
    my $w = waitpid($pid, POSIX::WNOHANG());
    if ($w == $pid) { $status = $?; $reaped = 1; last }
    sleep 0.05;
}
my $exited = time - $t0;
my $r = wrk_stop($wrk);
my $fmt = sub { defined $_[0] ? sprintf('%.2f s', $_[0]) : 'not closed' };
my $fig = sprintf('1 s request: %s, closed at %s; 10 s request: %s, closed at %s; parent exited '
                  . '%s after the signal with status %s; wrk: %d requests, %d socket errors',
                  ($c{short}{resp} // '') =~ /slept/ ? 'completed' : 'cut',
                  $fmt->($c{short}{closed}),
                  ($c{long}{resp} // '') =~ /slept/ ? 'completed' : 'cut',
                  $fmt->($c{long}{closed}), $fmt->($reaped ? $exited : undef),
                  defined $status ? ($status & 127 ? 'signal ' . ($status & 127) : $status >> 8) : 'none',
                  $r->{requests} // 0, $r->{errors});
note $fig;

like $c{short}{resp} // '', qr{^HTTP/1\.\d 200 .*slept}s, 'the 1 s request completes with 200';
SKIP: {
    skip "stock threaded MPMs stop stuck threads only by SIGKILL; figures printed", 2
        unless $deadline_kept;
    my $cl = $c{long}{closed};
    ok(($c{long}{resp} // '') !~ /slept/ && defined $cl && $cl >= 2.5 && $cl <= 3.8,
       'the 10 s request is cut at the deadline (' . $fmt->($cl) . ', within 0.8 s of it)');
    ok $reaped && $exited >= 2.5 && $exited <= 6,
       sprintf('the parent exits at the deadline (%s)', $fmt->($reaped ? $exited : undef));
}
ok defined $status && $status == 0, 'the parent exits with status 0'
    or diag "wait status: " . ($status // 'none');
ok $s->wait_until(sub { !$s->all_pids }, 5), 'no process of the instance is left'
    or diag 'left: ' . join(' ', $s->all_pids);
SKIP: {
    skip 'the log line checked is Loom\'s', 1 unless $loom;
    my @l = log_lines($s, qr/LOOM0408/);
    ok @l == 1, 'the expired timeout is logged once (LOOM0408)' or diag join("\n", @l);
}
diag "figures ($mpm): $fig";
