# mod_status shows the connections that wait for their client without a
# thread (docs/directives.md, LoomWaitForHead): a TLS handshake waiting for
# the client's next flight, a request head that has not all arrived. The
# scoreboard has no field for them, so loom_event adds two lines to
# ?auto (LoomConnsHandshake, LoomConnsHeadWait) and one to the HTML page
# (modules/core/waits.c). A TLS slowloris crowd is visible there, where
# it shows nowhere else. loom_prefork parks connections the same way
# (LoomParkConnections On, its default) and shows the same lines; worker,
# which holds no connection without a thread, adds nothing.
use v5.36;
use Test::More;
use File::Temp qw(tempdir);
use Loom::Server;
use Loom::TLS qw(self_signed https_conf tls_modules client_hello);
use Loom::Hostile qw(raw_connect);
use Loom::HTTP qw(get_raw);

my $mpm = $ENV{LOOM_MPM} // 'prefork';
plan skip_all => "LOOM_MPM=$mpm: not a Loom MPM" if $mpm =~ /^stock-/;
my $async = $mpm eq 'event' || $mpm eq 'prefork';
my ($HANDSHAKES, $HEADS) = (7, 5);

my $dir = tempdir('loom-waits-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
my ($cert, $key) = self_signed($dir);
my $tls_port = Loom::Server::free_port();
my $s = Loom::Server->new(modules => [tls_modules(), 'status'],
    conf => https_conf(port => $tls_port, cert => $cert, key => $key));
$s->start;

plan tests => $async ? 5 : 1;

sub waits () {
    my $st = $s->status_auto or return (undef, undef);
    return ($st->{LoomConnsHandshake}, $st->{LoomConnsHeadWait});
}

if (!$async) {
    my ($hs, $heads) = waits();
    ok !defined $hs && !defined $heads,
       "$mpm holds no connection without a thread: no Loom lines in ?auto";
    exit 0;
}

my ($hs0, $heads0) = waits();
ok defined $hs0 && $hs0 == 0 && defined $heads0 && $heads0 == 0,
   'nothing waits at first (' . join(', ', map { $_ // 'absent' } $hs0, $heads0) . ')';

my $hello = substr(client_hello(), 0, 43);
my @tls = map { raw_connect($tls_port) } 1 .. $HANDSHAKES;
print $_ $hello for @tls;
my @heads = map { raw_connect($s->port) } 1 .. $HEADS;
print $_ "GET / HTTP/1.1\r\nHost: localhost\r\n" for @heads;

my ($hs, $h);
ok $s->wait_until(sub { ($hs, $h) = waits(); ($hs // -1) == $HANDSHAKES
                                               && ($h // -1) == $HEADS }, 10),
   "?auto counts $HANDSHAKES handshakes and $HEADS heads waiting "
   . '(' . join(', ', map { $_ // 'absent' } $hs, $h) . ')';

my $html = get_raw($s->port, "GET /server-status HTTP/1.0\r\nHost: localhost\r\n\r\n", 5) // '';
like $html, qr/without a thread: $HANDSHAKES TLS handshake\(s\), $HEADS request head\(s\)/,
     'and so does the HTML page';

close $_ for @tls, @heads;
ok $s->wait_until(sub { ($hs, $h) = waits(); ($hs // -1) == 0 && ($h // -1) == 0 }, 10),
   'they go when their clients do (' . join(', ', map { $_ // 'absent' } $hs, $h) . ')';
ok !$s->crashes, 'no child crashed';
