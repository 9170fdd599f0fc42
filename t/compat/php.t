# Debian's real mod_php (libapache2-mod-php8.2, unpacked by `make deps` into
# /var/cache/loom/mod-php, or LOOM_MOD_PHP) in loom_prefork, with
# LoomParkConnections Off (the classic model) and On (connections wait in
# the child's poller between requests). For each setting, on one server of
# 2 processes:
#  - a PHP page is served by PHP's apache2handler SAPI;
#  - a PHP session counts across 3 requests on one keep-alive connection
#    (1, 2, 3), and after a graceful restart goes on (4), as the session
#    lives in its files, not in a process;
#  - while one client's page sleeps 2 s in PHP, 10 new clients in a row are
#    each served within 0.5 s (by the other process);
#  - (On) two keep-alive clients held by the same child: while PHP sleeps
#    2 s there for one, the other's next request is served within 50 ms, by
#    the other process (the busy child passes the ready connection to an
#    idle sibling);
#  - no child crashed;
#  - (On) with MinSpareServers 1 and one process, a page that sleeps 4 s
#    holds that child up: the parent counts it busy and starts a second
#    process while the page sleeps (a child serving short requests counts
#    as spare: t/prefork/fair.t).
# And mod_php refuses loom_event, as it refuses stock event: Loom answers
# AP_MPMQ_IS_THREADED as the model it replaces (`apache2 -t` fails naming
# the threaded MPM).
use v5.36;
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::HTTP qw(read_response);
use Loom::Hostile qw(good_clients);
use Loom::Fault qw(running_kids);

my $mpm = Loom::Server::mpm_or_skip();
plan skip_all => "LOOM_MPM=$mpm: mod_php runs on prefork only (it refuses threaded MPMs)"
    unless $mpm =~ /prefork/;
my $php = $ENV{LOOM_MOD_PHP}
    // '/var/cache/loom/mod-php/usr/lib/apache2/modules/libphp8.2.so';
BAIL_OUT("mod_php is not at $php: run 'make deps' as root (it unpacks "
         . "Debian's libapache2-mod-php8.2 there)") unless -f $php;

my @modes = $mpm eq 'prefork' ? ('Off', 'On') : ('stock');
plan tests => 6 * @modes + 3 * (grep { $_ eq 'On' } @modes) + 1;

my $php_conf = <<"CONF";
LoadModule php_module $php
<FilesMatch "\\.php\$">
  SetHandler application/x-httpd-php
</FilesMatch>
php_admin_value session.save_path "\@DIR\@/sessions"
php_admin_value session.use_strict_mode 0
CONF

sub get_on ($c, $path, $cookie = undef) {
    my $h = $cookie ? "Cookie: $cookie\r\n" : '';
    syswrite $c, "GET $path HTTP/1.1\r\nHost: localhost\r\n$h\r\n";
    return read_response($c, 10);
}

for my $mode (@modes) {
    my $park = $mode eq 'stock' ? '' : "LoomParkConnections $mode\n";
    my $s = Loom::Server->new(modules => ['status'], conf => $park . $php_conf . <<'CONF');
StartServers 2
MinSpareServers 2
MaxSpareServers 2
ServerLimit 2
MaxRequestWorkers 2
KeepAlive On
KeepAliveTimeout 30
MaxKeepAliveRequests 0
CONF
    mkdir $s->dir . '/sessions' or die $!;
    chmod 0777, $s->dir . '/sessions';
    $s->write_doc('hello.php', '<?php echo "sapi=", php_sapi_name(), "\n";');
    $s->write_doc('count.php', '<?php session_start(); '
                  . '$_SESSION["n"] = ($_SESSION["n"] ?? 0) + 1; echo "n=", $_SESSION["n"], "\n";');
    $s->write_doc('sleep.php', '<?php sleep(2); echo "slept\n";');
    $s->write_doc('pid.php', '<?php echo getmypid(), "\n";');
    $s->start;
    $s->wait_until(sub { ($s->status_auto(2) // {})->{IdleWorkers} // 0 >= 2 }, 10);

    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port)
        or die "connect: $!";
    my $r = get_on($c, '/hello.php');
    ok $r && $r->{status} == 200 && $r->{body} =~ /^sapi=apache2handler$/m,
       "$mode: a PHP page, served by PHP's apache2handler SAPI"
        or diag explain $r;

    my ($cookie, @n);
    for (1 .. 3) {
        my $x = get_on($c, '/count.php', $cookie);
        ($cookie) = ($x->{headers}{'set-cookie'} // '') =~ /^(PHPSESSID=[^;]+)/
            if $x && !$cookie;
        push @n, $x && $x->{body} =~ /n=(\d+)/ ? $1 : 'none';
    }
    is "@n", '1 2 3', "$mode: a session counts across 3 requests on one keep-alive connection";
    close $c;

    my $gen = ($s->status_auto(3) // {})->{ParentServerMPMGeneration} // -1;
    $s->signal('graceful');
    $s->wait_until(sub {
        ((($s->status_auto(2) // {})->{ParentServerMPMGeneration}) // -1) > $gen }, 10);
    $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port)
        or die "connect: $!";
    my $x = get_on($c, '/count.php', $cookie);
    is $x && $x->{body} =~ /n=(\d+)/ ? $1 : 'none', 4,
       "$mode: after a graceful restart the session goes on (4)";
    close $c;

    my $sleeper = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port)
        or die "connect: $!";
    syswrite $sleeper, "GET /sleep.php HTTP/1.1\r\nHost: localhost\r\n\r\n";
    sleep 0.3;                        # PHP is asleep in one process now
    my $good = good_clients($s->port, 10, path => '/hello.php', timeout => 3);
    ok $good->{ok} == 10 && $good->{max_s} < 0.5,
       sprintf '%s: while a page sleeps 2 s, 10 new clients each served within 0.5 s '
       . '(slowest %.3f s)', $mode, $good->{max_s};
    my $slept = read_response($sleeper, 5);
    ok $slept && $slept->{body} eq "slept\n", "$mode: and the sleeping page completes";
    close $sleeper;
    same_child($s) if $mode eq 'On';
    is_deeply [$s->crashes], [], "$mode: no child crashed";
    $s->stop;
}

# Parked, two keep-alive clients held by one child: while PHP sleeps 2 s
# there for the first, the second's next request is served within 50 ms,
# by the other (idle) process: the busy child passed the connection on.
sub same_child ($s) {
    my $pid_on = sub ($c) { my $r = get_on($c, '/pid.php'); $r && $r->{body} =~ /^(\d+)/ ? $1 : 0 };
    my $k1 = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port) or die $!;
    my $a = $pid_on->($k1);
    my ($k2, $b);
    for (1 .. 40) {
        $k2 = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port) or die $!;
        $b = $pid_on->($k2);
        last if $b == $a;
        close $k2;
        undef $k2;
    }
    ok $k2, "On: two keep-alive clients held by one child ($a)";
    return fail('On: (no second client landed on that child)') unless $k2;
    syswrite $k1, "GET /sleep.php HTTP/1.1\r\nHost: localhost\r\n\r\n";
    sleep 0.3;                        # the child is in PHP's sleep now
    my $t0 = time;
    my $by = $pid_on->($k2);
    my $took = time - $t0;
    ok $by && $by != $a && $took < 0.05,
       sprintf 'On: while its child sleeps 2 s in PHP, the other client is served within '
       . '50 ms (%.3f s, by pid %s)', $took, $by || 'none';
    my $slept = read_response($k1, 5);
    diag 'the sleeping page did not complete' unless $slept && $slept->{body} eq "slept\n";
}

held_up_counts_busy() if grep { $_ eq 'On' } @modes;

# Parked, one process and MinSpareServers 1: a page asleep in PHP holds
# the child up, so the parent counts it busy and starts another.
sub held_up_counts_busy () {
    my $s = Loom::Server->new(conf => "LoomParkConnections On\n" . $php_conf . <<'CONF');
StartServers 1
MinSpareServers 1
MaxSpareServers 1
ServerLimit 3
MaxRequestWorkers 3
CONF
    mkdir $s->dir . '/sessions' or die $!;
    $s->write_doc('sleep4.php', '<?php sleep(4); echo "slept\n";');
    $s->start;
    $s->wait_until(sub { running_kids($s) == 1 }, 10);
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port)
        or die "connect: $!";
    my $t0 = time;
    syswrite $c, "GET /sleep4.php HTTP/1.1\r\nHost: localhost\r\n\r\n";
    my $grew = $s->wait_until(sub { running_kids($s) >= 2 }, 3.5);
    ok $grew, sprintf 'On: a child held up in a 4 s page counts as busy: the parent '
       . 'started a second process %.1f s into it', time - $t0;
    read_response($c, 6);
    $s->stop;
}

my ($rc, $out) = Loom::Server::config_test(mpm => 'event', conf => $php_conf);
ok $rc != 0 && $out =~ /threaded MPM/i,
   'mod_php refuses loom_event as it refuses stock event (apache2 -t fails)'
    or diag $out;
