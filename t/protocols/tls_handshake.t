# What a TLS handshake decides works on the MPM under test as on stock:
# loom_event advances handshakes from its poller (docs/architecture.md,
# "TLS handshakes without a thread"), the others read them on a thread as
# stock does, and every answer below is stock's (run it with
# LOOM_MPM=stock-event to see).
#  - SNI: two name-based TLS virtual hosts on one address, each client
#    gets the certificate and the content of the name it asked for;
#  - `SSLVerifyClient require` at server level: a client with a
#    certificate from the configured CA is served, one without is refused
#    in the handshake;
#  - a handshake that fails (garbage after a record header, a record of
#    another protocol) is logged by mod_ssl and closed, and the server
#    goes on serving;
#  - plain HTTP sent to the TLS port gets mod_ssl's 400;
#  - session resumption: a client's second connection resumes the session
#    of its first, in TLS 1.2 and 1.3, from the server's session cache
#    (tickets are off, so that the cache shared by the children is used).
use v5.36;
use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::SSL;
use Time::HiRes qw(time);
use Loom::Server;
use Loom::TLS qw(tls_modules);
use Loom::Hostile qw(raw_connect);
use Loom::HTTP qw(read_response);

plan skip_all => 'openssl missing' unless Loom::Server::have_tool('openssl');

my $dir = tempdir('loom-tlshs-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;

sub openssl (@args) {
    my $out = qx{timeout 30 openssl @{[ join ' ', map { "'$_'" } @args ]} 2>&1};
    die "openssl @args: $out" if $?;
}

# A CA, a certificate per name signed by it, and a client certificate.
openssl('req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt',
        'ec_paramgen_curve:prime256v1', '-keyout', "$dir/ca.key",
        '-out', "$dir/ca.pem", '-days', '2', '-subj', '/CN=Loom test CA');
sub signed ($name, $ext) {
    openssl('req', '-nodes', '-newkey', 'ec', '-pkeyopt',
            'ec_paramgen_curve:prime256v1', '-keyout', "$dir/$name.key",
            '-out', "$dir/$name.csr", '-subj', "/CN=$name");
    open my $fh, '>', "$dir/$name.ext" or die;
    print $fh $ext;
    close $fh;
    openssl('x509', '-req', '-in', "$dir/$name.csr", '-CA', "$dir/ca.pem",
            '-CAkey', "$dir/ca.key", '-CAcreateserial', '-days', '2',
            '-extfile', "$dir/$name.ext", '-out', "$dir/$name.pem");
    chmod 0644, "$dir/$name.key", "$dir/$name.pem";
}
signed($_, "subjectAltName=DNS:$_\n") for qw(a.example b.example);
signed('client', "extendedKeyUsage=clientAuth\n");
chmod 0644, "$dir/ca.pem";

my $port = Loom::Server::free_port();
my $vport = Loom::Server::free_port();
# A name-based TLS virtual host on `port` serving $dir/<first letter>.
sub tls_vhost ($port, $name, $extra = '') {
    my $root = substr $name, 0, 1;
    return <<"VHOST";
<VirtualHost 127.0.0.1:$port>
    ServerName $name
    DocumentRoot $dir/$root
    SSLEngine on
    SSLCertificateFile $dir/$name.pem
    SSLCertificateKeyFile $dir/$name.key
$extra</VirtualHost>
VHOST
}
my $s = Loom::Server->new(modules => [tls_modules()], conf => <<"CONF"
Listen 127.0.0.1:$port https
Listen 127.0.0.1:$vport https
SSLSessionCache shmcb:logs/ssl_scache(512000)
SSLSessionTickets off
LogLevel info
<Directory $dir>
    Require all granted
</Directory>
CONF
    . tls_vhost($port, 'a.example') . tls_vhost($port, 'b.example')
    . tls_vhost($vport, 'a.example', "    SSLVerifyClient require\n"
                . "    SSLCACertificateFile $dir/ca.pem\n"));
for my $h (qw(a b)) {
    mkdir "$dir/$h";
    open my $fh, '>', "$dir/$h/index.html" or die;
    print $fh "site $h\n";
    close $fh;
    chmod 0755, "$dir/$h";
    chmod 0644, "$dir/$h/index.html";
}
$s->start;

plan tests => 11;

# GET / over TLS: (status, body, the certificate's CN) or () if refused.
sub tls_get (%o) {
    my $c = IO::Socket::SSL->new(PeerAddr => '127.0.0.1',
        PeerPort => $o{port} // $port, Timeout => 5,
        SSL_hostname => $o{name}, SSL_verify_mode => SSL_VERIFY_PEER,
        SSL_ca_file => "$dir/ca.pem", SSL_verifycn_name => $o{name},
        SSL_verifycn_scheme => 'http',
        ($o{client} ? (SSL_cert_file => "$dir/client.pem",
                       SSL_key_file => "$dir/client.key") : ()))
        or return ();
    my $cn = $c->peer_certificate('commonName');
    print $c "GET /index.html HTTP/1.1\r\nHost: $o{name}\r\n"
        . "Connection: close\r\n\r\n";
    my $r = read_response($c, 5) or return ();
    return ($r->{status}, $r->{body}, $cn);
}

for my $name (qw(a.example b.example)) {
    my ($st, $body, $cn) = tls_get(name => $name);
    my $h = substr $name, 0, 1;
    ok(($st // 0) == 200 && ($body // '') eq "site $h\n" && ($cn // '') eq $name,
       "SNI $name: its own certificate and content ("
       . join(', ', map { $_ // '-' } $st, $cn) . ')');
}

my ($st) = tls_get(port => $vport, name => 'a.example', client => 1);
is $st, 200, 'SSLVerifyClient require: a client with a certificate is served';
my @refused = tls_get(port => $vport, name => 'a.example');
ok !@refused || $refused[0] != 200,
   'and one without a certificate is not';

# Two connections of one client, sharing its context and session cache:
# whether each resumed a session.
sub resumed_twice ($version) {
    my $ctx = IO::Socket::SSL::SSL_Context->new(
        SSL_verify_mode => SSL_VERIFY_NONE, SSL_version => $version,
        SSL_session_cache => IO::Socket::SSL::Session_Cache->new(4));
    my @reused;
    for (1 .. 2) {
        my $c = IO::Socket::SSL->new(PeerAddr => '127.0.0.1',
            PeerPort => $port, Timeout => 5, SSL_hostname => 'a.example',
            SSL_reuse_ctx => $ctx) or return "refused: $SSL_ERROR";
        print $c "GET /index.html HTTP/1.1\r\nHost: a.example\r\n"
            . "Connection: close\r\n\r\n";
        read_response($c, 5) or return 'no answer';
        push @reused, $c->get_session_reused ? 'resumed' : 'full';
        close $c;
    }
    return "@reused";
}
for my $v (qw(TLSv1_2 TLSv1_3)) {
    is resumed_twice($v), 'full resumed',
       "$v: the second connection resumes the first one's session";
}

# Garbage after a TLS record header: mod_ssl logs it, the server closes.
sub closed_within ($c, $secs) {
    my $t = time;
    my $sel = IO::Select->new($c);
    while (time - $t < $secs) {
        next unless $sel->can_read(0.2);
        my $n = sysread $c, my $buf, 4096;
        return 1 if !$n;
    }
    return 0;
}
require IO::Select;
my $g = raw_connect($port);
print $g "\x16\x03\x01\x00\x10" . ('garbage!' x 2);
ok closed_within($g, 5), 'a handshake of garbage is closed';
my $j = raw_connect($port);
print $j "\x17\x03\x03\x00\x05hello";      # application data, no hello
ok closed_within($j, 5), 'so is one that starts with another record';
ok $s->wait_until(sub { $s->errlog =~ /AH0200[6-8]|AH02007|SSL library error/ }, 5),
   'mod_ssl said why';

# Plain HTTP on the TLS port: mod_ssl's 400.
my $p = raw_connect($port);
print $p "GET /index.html HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n";
my $r = read_response($p, 5);
ok $r && $r->{status} == 400 && $r->{body} =~ /plain HTTP/i,
   'plain HTTP to the TLS port gets mod_ssl\'s 400 ('
   . ($r ? $r->{status} : 'no answer') . ')' or diag $r ? $r->{body} : '';

($st) = tls_get(name => 'b.example');
ok(($st // 0) == 200 && !$s->crashes, 'the server still serves, no child crashed');
