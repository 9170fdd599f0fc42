package Loom::TLS;
# TLS for the protocol tests: a throwaway self-signed certificate made with
# openssl(1) inside the test's scratch folder, and the config text for an
# https listener on loopback. Kept apart from Loom::Server, whose API it
# does not change: the text goes into Loom::Server->new(conf => ...) and
# the modules into its `modules` list (see `modules` below).
use v5.36;
use Carp qw(croak);
use Exporter 'import';

our @EXPORT_OK = qw(self_signed https_conf tls_modules client_hello);

=head1 Loom::TLS

C<self_signed($dir)> writes F<$dir/tls/cert.pem> and F<$dir/tls/key.pem>
(an EC P-256 key, CN and subjectAltName localhost and 127.0.0.1, valid for
two days) and returns (cert, key) paths; it dies if openssl fails.

C<https_conf(port => $p, cert => $c, key => $k, extra => "...")> returns a
C<Listen 127.0.0.1:$p https> line and a matching C<< <VirtualHost> >> with
C<SSLEngine on>, plus C<extra> inside the virtual host.

C<client_hello()> returns the bytes of a real TLS ClientHello record (from
IO::Socket::SSL, caught on a loopback socket of its own), for a client
that is to stall in the middle of a handshake: sent on a plain socket, it
starts a handshake the server then waits on, and nothing on the client
side can go on with it. (A TLS client stalled by not calling it again
still finishes the handshake when the server's answer arrives while its
first call is running.)

C<tls_modules()> is the list to add to Loom::Server's C<modules>:
socache_shmcb (for the session cache the config sets) and ssl.

=cut

sub tls_modules () { return ('socache_shmcb', 'ssl') }

sub self_signed ($dir) {
    my $tls = "$dir/tls";
    mkdir $tls;
    my ($cert, $key) = ("$tls/cert.pem", "$tls/key.pem");
    my @cmd = ('timeout', '30', 'openssl', 'req', '-x509', '-nodes',
               '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
               '-keyout', $key, '-out', $cert, '-days', '2',
               '-subj', '/CN=localhost',
               '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
    my $out = qx{@{[ join ' ', map { "'$_'" } @cmd ]} 2>&1};
    croak "openssl req failed: $out" if $? != 0 || !-s $cert || !-s $key;
    chmod 0644, $cert, $key;   # the test's own throwaway key
    return ($cert, $key);
}

sub client_hello () {
    require IO::Socket::INET;
    require IO::Socket::SSL;
    my $l = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0) or croak "listen: $!";
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $l->sockport) or croak "connect: $!";
    my $a = $l->accept or croak "accept: $!";
    IO::Socket::SSL->start_SSL($c, SSL_startHandshake => 0,
        SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
        SSL_alpn_protocols => ['http/1.1']) or croak "start_SSL failed";
    $c->blocking(0);
    $c->connect_SSL;          # sends the ClientHello; nobody answers
    my $hello = '';
    local $SIG{ALRM} = sub { croak 'no ClientHello within 5 s' };
    alarm 5;
    while (length($hello) < 5
           || length($hello) < 5 + unpack('n', substr($hello, 3, 2))) {
        sysread($a, $hello, 16384, length $hello) or croak "read: $!";
    }
    alarm 0;
    return $hello;
}

sub https_conf (%a) {
    my $p = $a{port} // croak 'https_conf: port';
    my $cert = $a{cert} // croak 'https_conf: cert';
    my $key = $a{key} // croak 'https_conf: key';
    my $extra = $a{extra} // '';
    return <<"CONF";
Listen 127.0.0.1:$p https
SSLSessionCache shmcb:logs/ssl_scache(512000)
SSLRandomSeed startup builtin
SSLRandomSeed connect builtin
<VirtualHost 127.0.0.1:$p>
    ServerName localhost
    SSLEngine on
    SSLCertificateFile $cert
    SSLCertificateKeyFile $key
$extra
</VirtualHost>
CONF
}

1;
