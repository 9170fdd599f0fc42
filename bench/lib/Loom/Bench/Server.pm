package Loom::Bench::Server;
# One server under test: its private ServerRoot, its config, its process
# tree pinned to CPU 0, and the ways to start, reload, check and stop it.
use v5.36;
use Time::HiRes qw(time sleep);
use Loom::Bench::Util qw(note fail spawn reap_child kill_child spurt slurp run_bounded);
use Loom::Bench::ApacheConf qw(apache_conf);
use Loom::Bench::NginxConf qw(nginx_conf);

our $APACHE = '/usr/sbin/apache2';
our $NGINX  = '/usr/sbin/nginx';
our $SERVER_CPU = 0;

# %a: name, kind (loom|stock|nginx), mpm, so, module, port, dir, docroot,
#     tls => {cert, key} or undef, h2, user, group, nofile.
sub new ($class, %a) {
    my $self = bless { %a }, $class;
    mkdir $self->{dir}, 0755 or fail "mkdir $self->{dir}: $!";
    chmod 0755, $self->{dir};
    return $self;
}

sub name ($s)  { $s->{name} }
sub kind ($s)  { $s->{kind} }
sub mpm ($s)   { $s->{mpm} }
sub pid ($s)   { $s->{pid} }
sub port ($s)  { $s->{port} }
sub scheme ($s) { $s->{tls} ? 'https' : 'http' }
sub url ($s, $path) { sprintf '%s://127.0.0.1:%d%s', $s->scheme, $s->{port}, $path }

sub _command ($s) {
    my $conf = "$s->{dir}/" . ($s->{kind} eq 'nginx' ? 'nginx.conf' : 'httpd.conf');
    my %c = (%$s);
    spurt($conf, $s->{kind} eq 'nginx' ? nginx_conf(%c) : apache_conf(%c));
    my @srv = $s->{kind} eq 'nginx'
        ? ($NGINX, '-p', $s->{dir}, '-e', "$s->{dir}/error.log", '-c', $conf)
        : ($APACHE, '-DFOREGROUND', '-f', $conf);
    # Raise the open-files limit for the server (root may raise the hard one).
    my $n = $s->{nofile};
    my $sh = ($> == 0 ? "ulimit -Hn $n 2>/dev/null; " : '')
           . "ulimit -Sn $n 2>/dev/null || ulimit -Sn \$(ulimit -Hn); exec \"\$@\"";
    return ['sh', '-c', $sh, 'sh', 'taskset', '-c', $SERVER_CPU, @srv];
}

sub start ($s) {
    my $cmd = $s->_command;
    $s->{pid} = spawn(cmd => $cmd, pgrp => 1, stdin => '/dev/null',
                      stdout => "$s->{dir}/console.log",
                      stderr => "$s->{dir}/console.log", what => $s->{name});
    $s->{started} = time;
    return $s;
}

# Waits until the server answers 200 (and speaks h2 when asked), or fails
# the run with the server's own words.
sub wait_ready ($s, $limit = 20) {
    my $end = time + $limit;
    while (time < $end) {
        $s->alive or fail "$s->{name} did not start:\n", $s->log_tail;
        return $s if $s->probe;
        sleep 0.2;
    }
    fail "$s->{name} did not answer within ${limit}s:\n", $s->log_tail;
}

# One request on a new connection; true when it got a 200 (over h2 if the
# server is configured for it).
sub probe ($s, $limit = 2) {
    my @h2 = $s->{h2} ? ('--http2') : ('--http1.1');
    my $r = run_bounded(limit => $limit + 1, dir => $s->{dir}, cmd => [
        'curl', '-sk', @h2, '-o', '/dev/null', '--max-time', $limit,
        '-w', '%{http_code} %{http_version}', $s->url('/small.html')]);
    my ($code, $ver) = split ' ', $r->{out};
    return 0 unless ($code // '') eq '200';
    if ($s->{h2} && ($ver // '') ne '2') {
        fail "$s->{name} answered over HTTP/$ver, not HTTP/2";
    }
    return 1;
}

sub alive ($s) {
    return 0 unless $s->{pid};
    return 1 unless defined reap_child($s->{pid}, 1);
    delete $s->{pid};
    return 0;
}

# Graceful restart: SIGUSR1 for Apache, SIGHUP (reload) for nginx.
sub graceful ($s) {
    kill $s->{kind} eq 'nginx' ? 'HUP' : 'USR1', $s->{pid};
}

sub stop ($s) {
    return unless $s->{pid};
    kill_child($s->{pid}, 10, 1);
    delete $s->{pid};
}

sub log_tail ($s, $lines = 15) {
    my $t = '';
    for my $f ('console.log', 'error.log') {
        my $text = slurp("$s->{dir}/$f") // next;
        my @l = split /\n/, $text;
        @l = @l[-$lines .. -1] if @l > $lines;
        $t .= "  --- $f\n" . join('', map { "  $_\n" } @l) if @l;
    }
    return $t || "  (no output)\n";
}

1;
