# What it proves: a connection that belongs to a protocol module, not to
# HTTP, is served as stock event serves it, at once, while HTTP
# connections of the same server still wait for their heads without a
# thread (loom_event's LoomWaitForHead).
#
#  - mod_echo (`ProtocolEcho On` on a virtual host): "hello" comes back at
#    once on a plain port and over TLS. loom_event once held such a
#    connection until Timeout, waiting for the end of an HTTP head.
#  - Bytes that cannot start an HTTP/1 request ("hello\n" to an HTTP port)
#    get httpd's 400 at once.
#  - A protocol module built here (greetmod/mod_loom_greet.c, `apxs -c`)
#    whose server speaks first: its banner arrives before the client says
#    anything, a greeting sent after it or before it is answered, and HTTP
#    still works on the server's other port. loom_event cannot know what
#    such a module does, so it says at startup (LOOM1205) that new
#    connections are not held.
#  - (loom_event) with mod_echo loaded, the HTTP port still holds partial
#    heads without a thread: with 2 threads, 4 clients that sent half a
#    head do not stop a fifth from being served.
# Each answer must come within 3 s; Timeout is 10 s, so a connection held
# by a head wait fails the bound.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Socket::SSL;
use IO::Select;
use File::Temp qw(tempdir);
use Time::HiRes qw(time);
use Loom::Server;
use Loom::HTTP qw(get_raw);
use Loom::TLS qw(self_signed https_conf tls_modules);

my $mpm = Loom::Server::mpm_or_skip();
my $loom_event = $mpm eq 'event';
my $within = 3;

my $sizing = Loom::Server::threaded()
    ? "StartServers 1\nServerLimit 1\nThreadsPerChild 2\nMaxRequestWorkers 2\n"
      . "MinSpareThreads 1\nMaxSpareThreads 2\n"
    : "StartServers 2\nMinSpareServers 1\nMaxSpareServers 8\n";
$sizing .= "Timeout 10\nKeepAlive On\n";

# One line from $sock within $secs, or undef; what came after it waits
# for the next call.
my %pending;
sub line_within {
    my ($sock, $secs) = @_;
    my $sel = IO::Select->new($sock);
    my $buf = delete $pending{$sock} // '';
    my $until = time + $secs;
    while ($buf !~ /\n/) {
        my $left = $until - time;
        last if $left <= 0;
        # A TLS socket may hold decrypted bytes the kernel no longer shows.
        last unless (ref($sock) =~ /SSL/ && $sock->pending) || $sel->can_read($left);
        my $n = sysread($sock, $buf, 512, length $buf);
        last unless $n;
    }
    return undef unless $buf =~ s/^([^\n]*\n)//;
    $pending{$sock} = $buf;
    return $1;
}

sub plain { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $_[0], Timeout => 5) }

# --- mod_echo on a plain port and over TLS --------------------------------
my $echo_port = Loom::Server::free_port();
my $tls_port = Loom::Server::free_port();
my $certdir = tempdir('loom-proto-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $certdir;
my ($cert, $key) = self_signed($certdir);
my $s = Loom::Server->new(
    modules => ['echo', tls_modules()],
    conf => $sizing
          . "Listen 127.0.0.1:$echo_port\n"
          . "<VirtualHost 127.0.0.1:$echo_port>\n  ProtocolEcho On\n</VirtualHost>\n"
          . https_conf(port => $tls_port, cert => $cert, key => $key,
                       extra => "ProtocolEcho On\n"));
$s->start;

my $c = plain($echo_port);
print $c "hello\n";
is(line_within($c, $within), "hello\n", 'mod_echo on a plain port echoes at once');
print $c "again\n";
is(line_within($c, $within), "again\n", '...and keeps echoing');
close $c;

$c = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $tls_port,
                          SSL_verify_mode => SSL_VERIFY_NONE, Timeout => 5);
ok($c, 'TLS connection to the echo host') or diag($SSL_ERROR);
if ($c) {
    print $c "hello over tls\n";
    is(line_within($c, $within), "hello over tls\n", 'mod_echo over TLS echoes at once');
    close $c;
}

$c = plain($s->port);
print $c "hello\n";
like(line_within($c, $within) // 'nothing', qr{^HTTP/1\.1 400 },
     'bytes that cannot start an HTTP request get a 400 at once');
close $c;

if ($loom_event) {
    # Half heads on the HTTP port, then a whole request on a fifth
    # connection: served only if the half heads hold no thread.
    my @half = map { plain($s->port) } 1 .. 4;
    print $_ "GET / HTTP/1.1\r\nHost: localhost\r\n" for @half;
    select(undef, undef, undef, 0.3);
    $c = plain($s->port);
    print $c "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    like(line_within($c, $within) // 'nothing', qr{^HTTP/1\.1 200 },
         'with mod_echo loaded, half heads on the HTTP port hold no thread');
    close $_ for $c, @half;
}
is(join('', $s->crashes), '', 'no child crashed (mod_echo)');
$s->stop;

# --- a protocol module whose server speaks first --------------------------
SKIP: {
    skip 'apxs is not installed', 7 unless Loom::Server::have_tool('apxs');
    my $src = Loom::Server::top() . '/t/compat/greetmod/mod_loom_greet.c';
    my $build = tempdir('loom-greetmod-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    system('cp', $src, $build) == 0 or die "cp $src: $!";
    my $out = `cd $build && apxs -c mod_loom_greet.c 2>&1`;
    my $mod = "$build/.libs/mod_loom_greet.so";
    ok($? == 0 && -f $mod, 'the greeting module builds') or diag($out);
    chmod 0755, $build, "$build/.libs";

    my $greet_port = Loom::Server::free_port();
    my $g = Loom::Server->new(
        conf => $sizing . "LoadModule loom_greet_module $mod\n"
              # Not "http": httpd would defer the accept until the client
              # sends something (AcceptFilter), and this server speaks first.
              . "Listen 127.0.0.1:$greet_port greet\n"
              . "<VirtualHost 127.0.0.1:$greet_port>\n  LoomGreet On\n</VirtualHost>\n");
    $g->start;

    $c = plain($greet_port);
    is(line_within($c, $within), "220 loom-greet ready\r\n",
       'the banner comes before the client says anything');
    print $c "HELO test\r\n";
    is(line_within($c, $within), "250 hello test\r\n", 'the greeting is answered');
    close $c;

    $c = plain($greet_port);
    print $c "HELO early\r\n";
    is(join('', map { line_within($c, $within) // '' } 1 .. 2),
       "220 loom-greet ready\r\n250 hello early\r\n",
       'a greeting sent before the banner is answered too');
    close $c;

    like(get_raw($g->port, "GET / HTTP/1.0\r\n\r\n") // '',
         qr{^HTTP/1\.1 200 }, 'HTTP on the same server still works');
    if ($loom_event) {
        like($g->errlog, qr/LOOM1205: mod_loom_greet\.c has a process_connection hook/,
             'LOOM1205 names the module whose connections are not held');
    }
    else {
        pass("no head wait in $mpm: nothing to say");
    }
    is(join('', $g->crashes), '', 'no child crashed (greeting module)');
}
done_testing();
