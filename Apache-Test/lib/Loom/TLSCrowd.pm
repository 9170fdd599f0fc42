package Loom::TLSCrowd;
# For the tests of crowds of TLS clients that stall (t/event/tls_stall.t,
# t/event/tls_slowloris.t): a server of one child with 10 threads and a
# TLS port, real clients that must be served meanwhile, and when each
# stalled client saw its connection end.
use v5.36;
use Exporter 'import';
use IO::Select;
use IO::Socket::SSL;
use File::Temp qw(tempdir);
use Time::HiRes qw(time);
use Loom::Server;
use Loom::TLS qw(self_signed https_conf tls_modules);
use Loom::HTTP qw(read_response);

our @EXPORT_OK = qw(crowd_server tls_client tls_get served_meanwhile ends_after);

=head1 Loom::TLSCrowd

C<crowd_server(timeout => S, conf => TEXT)>: a started Loom::Server of one
child with 10 threads, mod_ssl, mod_reqtimeout and mod_status, LogLevel
info and a TLS virtual host; C<conf> adds lines (a RequestReadTimeout).
C<< $s->{tls_port} >> is its TLS port.

C<tls_client($s)>: a TLS connection that finished its handshake (the
certificate checked), or undef. C<tls_get($s)>: whether one GET over a
new TLS connection got 200 within 3 s.

C<served_meanwhile($s, $n, $between)>: C<tls_get> $n times, calling
C<$between> (if given) after each; returns (answered, slowest seconds).

C<ends_after($t0, \@clients, $limit, \@got)>: for each client, the seconds
from $t0 until it read the end of its connection (undef: not within $limit
seconds of $t0); what the server sent before is read, and its length per
client added up in @got if given.

=cut

my $DIR = tempdir('loom-tlscrowd-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $DIR;
my ($CERT, $KEY) = self_signed($DIR);

sub crowd_server (%o) {
    my $tls_port = Loom::Server::free_port();
    my $timeout = $o{timeout} // 20;
    my $conf = $o{conf} // '';
    my $s = Loom::Server->new(modules => [tls_modules(), 'reqtimeout', 'status'],
        conf => <<"CONF" . https_conf(port => $tls_port, cert => $CERT, key => $KEY));
StartServers 1
ServerLimit 1
ThreadLimit 10
ThreadsPerChild 10
MaxRequestWorkers 10
MinSpareThreads 1
MaxSpareThreads 10
Timeout $timeout
LogLevel info
$conf
CONF
    $s->{tls_port} = $tls_port;
    $s->start;
    return $s;
}

sub tls_client ($s) {
    return IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $s->{tls_port},
        Timeout => 5, SSL_verify_mode => SSL_VERIFY_PEER, SSL_ca_file => $CERT,
        SSL_verifycn_name => 'localhost', SSL_verifycn_scheme => 'http',
        SSL_alpn_protocols => ['http/1.1']);
}

sub tls_get ($s) {
    my $c = tls_client($s) or return 0;
    print $c "GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    my $r = read_response($c, 3);
    return $r && $r->{status} == 200;
}

sub served_meanwhile ($s, $n, $between = undef) {
    my ($ok, $worst) = (0, 0);
    for (1 .. $n) {
        my $t = time;
        $ok++ if tls_get($s);
        $worst = time - $t if time - $t > $worst;
        $between->() if $between;
    }
    return ($ok, $worst);
}

sub ends_after ($t0, $clients, $limit, $got = []) {
    my %end;
    my %index = map { ($clients->[$_] => $_) } 0 .. $#$clients;
    $got->[$_] = 0 for 0 .. $#$clients;
    # A TLS record with no data in it (a session ticket) must not make a
    # blocking read wait for that client's end while the others end.
    $_->blocking(0) for @$clients;
    my $sel = IO::Select->new(@$clients);
    while ($sel->count && time - $t0 < $limit) {
        for my $c ($sel->can_read(0.2)) {
            # On a TLS client a close_notify, a bare FIN and a reset all
            # read as nothing: each is the end of the connection.
            my $n = sysread $c, my $buf, 16384;
            $got->[$index{$c}] += $n if $n;
            next if $n || (!defined $n && ($!{EAGAIN} || $!{EWOULDBLOCK}));
            $end{$c} = time - $t0;
            $sel->remove($c);
        }
    }
    return map { $end{$_} } @$clients;
}

1;
