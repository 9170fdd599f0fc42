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
#  - no child crashed.
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

my $mpm = Loom::Server::mpm_or_skip();
plan skip_all => "LOOM_MPM=$mpm: mod_php runs on prefork only (it refuses threaded MPMs)"
    unless $mpm =~ /prefork/;
my $php = $ENV{LOOM_MOD_PHP}
    // '/var/cache/loom/mod-php/usr/lib/apache2/modules/libphp8.2.so';
BAIL_OUT("mod_php is not at $php: run 'make deps' as root (it unpacks "
         . "Debian's libapache2-mod-php8.2 there)") unless -f $php;

my @modes = $mpm eq 'prefork' ? ('Off', 'On') : ('stock');
plan tests => 6 * @modes + 1;

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
    is_deeply [$s->crashes], [], "$mode: no child crashed";
    $s->stop;
}

my ($rc, $out) = Loom::Server::config_test(mpm => 'event', conf => $php_conf);
ok $rc != 0 && $out =~ /threaded MPM/i,
   'mod_php refuses loom_event as it refuses stock event (apache2 -t fails)'
    or diag $out;
