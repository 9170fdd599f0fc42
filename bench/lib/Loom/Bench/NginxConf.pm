package Loom::Bench::NginxConf;
# nginx as an outside reference: one worker (it is pinned to one CPU like
# the others), the same keep-alive settings, docroot, and no access log.
use v5.36;
use Exporter 'import';

our @EXPORT_OK = qw(nginx_conf);

# %a: dir, port, docroot, tls => {cert, key}, h2, user, group, nofile.
sub nginx_conf (%a) {
    my $user = $a{user} ? "user $a{user} $a{group};\n" : '';
    my $listen = "127.0.0.1:$a{port}";
    $listen .= ' ssl' if $a{tls};
    $listen .= ' http2' if $a{h2};
    my $tls = $a{tls} ? <<"END" : '';
        ssl_certificate     $a{tls}{cert};
        ssl_certificate_key $a{tls}{key};
END
    my $tmp = join '', map { "    ${_}_temp_path $a{dir}/$_;\n" }
                       qw(client_body proxy fastcgi uwsgi scgi);
    return <<"END";
# Written by bench/run for one benchmark server ($a{name}).
${user}daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile $a{nofile};
pid $a{dir}/nginx.pid;
error_log $a{dir}/error.log warn;
events { worker_connections $a{nofile}; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    keepalive_timeout 60;
    keepalive_requests 100;
$tmp    server {
        listen $listen;
        server_name 127.0.0.1;
        root $a{docroot};
        index index.html;
$tls    }
}
END
}

1;
