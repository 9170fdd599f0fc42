package Loom::Bench::ApacheConf;
# The httpd configuration every Apache under test gets: identical apart from
# the MPM module that is loaded, the port and the private ServerRoot.
use v5.36;
use Exporter 'import';

our @EXPORT_OK = qw(apache_conf mpm_sizing);

our $MODDIR  = '/usr/lib/apache2/modules';
our $SIZING  = '/etc/apache2/mods-available';

# Debian 12's shipped numbers, used if the conf file cannot be read.
my %FALLBACK = (
    prefork => [[StartServers => 5], [MinSpareServers => 5], [MaxSpareServers => 10],
                [MaxRequestWorkers => 150], [MaxConnectionsPerChild => 0]],
    worker  => [[StartServers => 2], [MinSpareThreads => 25], [MaxSpareThreads => 75],
                [ThreadLimit => 64], [ThreadsPerChild => 25],
                [MaxRequestWorkers => 150], [MaxConnectionsPerChild => 0]],
);
$FALLBACK{event} = $FALLBACK{worker};

# [[Directive, number], ...] from /etc/apache2/mods-available/mpm_<m>.conf.
sub mpm_sizing ($mpm) {
    my @d;
    if (open my $fh, '<', "$SIZING/mpm_$mpm.conf") {
        while (<$fh>) {
            push @d, [$1, $2] if /^\s*([A-Z][A-Za-z]+)\s+(\d+)\s*$/;
        }
    }
    return @d ? \@d : $FALLBACK{$mpm};
}

# %a: dir, port, docroot, mpm, so (module file), module (symbol),
#     tls => {cert, key}, h2 => bool, user => name or undef,
#     extra => directives of this server's own (Loom prefork's classic
#     model, a scenario's modules).
sub apache_conf (%a) {
    my @mods = (['mpm', $a{module}, $a{so}]);
    push @mods, map { [$_, "${_}_module", "$MODDIR/mod_$_.so"] }
                qw(mime dir authz_core status);
    push @mods, ['ssl', 'ssl_module', "$MODDIR/mod_ssl.so"] if $a{tls};
    push @mods, ['http2', 'http2_module', "$MODDIR/mod_http2.so"] if $a{h2};

    my $c = <<"END";
# Written by bench/run for one benchmark server ($a{name}).
ServerRoot "$a{dir}"
DefaultRuntimeDir "$a{dir}"
PidFile "$a{dir}/httpd.pid"
ErrorLog "$a{dir}/error.log"
LogLevel warn
ServerName 127.0.0.1
END
    $c .= "LoadModule $_->[1] $_->[2]\n" for @mods;
    $c .= "User $a{user}\nGroup $a{group}\n" if $a{user};
    $c .= "$_->[0] $_->[1]\n" for @{ mpm_sizing($a{mpm}) };
    $c .= $a{extra} // '';
    $c .= <<"END";
Timeout 300
KeepAlive On
KeepAliveTimeout 60
MaxKeepAliveRequests 100
HostnameLookups Off
TypesConfig /etc/mime.types
DocumentRoot "$a{docroot}"
DirectoryIndex index.html
<Directory />
    Options FollowSymLinks
    AllowOverride None
    Require all denied
</Directory>
<Directory "$a{docroot}">
    Options FollowSymLinks
    AllowOverride None
    Require all granted
</Directory>
<Location /server-status>
    SetHandler server-status
    Require all granted
</Location>
END
    if ($a{tls}) {
        my $protocols = $a{h2} ? 'h2 http/1.1' : 'http/1.1';
        $c .= <<"END";
Listen 127.0.0.1:$a{port} https
<VirtualHost 127.0.0.1:$a{port}>
    SSLEngine on
    SSLCertificateFile "$a{tls}{cert}"
    SSLCertificateKeyFile "$a{tls}{key}"
    Protocols $protocols
</VirtualHost>
END
    } else {
        $c .= "Listen 127.0.0.1:$a{port}\n";
    }
    return $c;
}

1;
