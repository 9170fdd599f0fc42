package Loom::Server;
# An extra apache2 with a config written inside the test: for signals,
# restarts, crashes and directive checks, which the shared Apache::Test
# server cannot be used for. Loopback only; every instance is stopped at
# the end of the test, also when the test dies.
use v5.36;
use Carp qw(croak);
use File::Temp qw(tempdir);
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Loom::Proc ();
use Loom::HTTP ();

my $MODS = '/usr/lib/apache2/modules';
my @LIVE;

# The httpd binary and the folder of Loom's built modules. The ASan run
# (`make asan`, t/run-suite) points them at a wrapper that preloads the
# sanitizer's runtime and at the instrumented build.
our $HTTPD = $ENV{LOOM_HTTPD} || '/usr/sbin/apache2';
sub modules_dir { $ENV{LOOM_MODULES_DIR} || top() . '/modules' }

=head1 Loom::Server

C<< Loom::Server->new(mpm => $ENV{LOOM_MPM}, modules => [...], conf => "...") >>
(C<@DIR@> in C<conf> stands for the server's folder, which holds
C<htdocs/> and C<logs/>)
then C<start>, C<port>, C<url>, C<pid>, C<child_pids>, C<errlog>,
C<crashes> (the error-log lines that report a crashed child), C<signal>,
C<status_auto>, C<status_rows>, C<wait_until>, C<stop>; and the functions
C<config_test>, C<mpm_module> and C<mpm_or_skip>.

C<< $s->status_auto($timeout = 5) >>: mod_status's ?auto page as
{ field => value }, or undef if no 200 came within $timeout seconds.
C<< $s->status_rows($timeout = 5) >>: mod_status's full page
(ExtendedStatus), one row per worker listed: { slot, gen, pid, acc (this
child's accesses), mode, request }.

C<mpm_or_skip(@tools)>: the MPM under test (LOOM_MPM, default prefork);
the test plans C<skip_all> if it is not built or one of the commands
@tools is not on the PATH (C<have_tool($cmd)> says whether it is).

=cut

# The tree the suite runs from: Apache-Test/lib/Loom/Server.pm -> top.
sub top { abs_path(dirname(__FILE__) . '/../../..') }

# (symbol, path, name shown by -V) for a LOOM_MPM value: prefork, worker,
# event (ours) or stock-prefork, stock-worker, stock-event (Debian's). A
# Loom MPM reports its model's name, as the stock one does (README, "What
# Loom reports").
sub mpm_module ($which = undef) {
    $which //= $ENV{LOOM_MPM} // 'prefork';
    if ($which =~ /^stock-(prefork|worker|event)$/) {
        return ("mpm_$1_module", "$MODS/mod_mpm_$1.so", $1);
    }
    croak "LOOM_MPM must be prefork, worker, event or stock-*: $which"
        unless $which =~ /^(prefork|worker|event)$/;
    my $so = modules_dir() . "/$which/mod_mpm_loom_$which.so";
    return ("mpm_loom_${which}_module", $so, $which);
}

sub have_tool ($cmd) {
    return scalar grep { -x "$_/$cmd" } split /:/, $ENV{PATH};
}

# The prologue of a test that starts its own servers.
sub mpm_or_skip (@tools) {
    my $mpm = $ENV{LOOM_MPM} // 'prefork';
    my (undef, $so) = mpm_module($mpm);
    require Test::More;
    Test::More::plan(skip_all => "$mpm is not built ($so missing)") unless -f $so;
    for my $t (@tools) {
        Test::More::plan(skip_all => "$t is not installed") unless have_tool($t);
    }
    return $mpm;
}

# Whether the MPM under test is threaded (CGI then goes through cgid).
sub threaded ($which = undef) {
    $which //= $ENV{LOOM_MPM} // 'prefork';
    return $which !~ /prefork/;
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp', ReuseAddr => 1)
        or croak "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub _load_lines ($mods) {
    my @lines;
    for my $m ('authz_core', 'mime', 'dir', 'alias', @$mods) {
        next if grep { $_ eq "LoadModule ${m}_module $MODS/mod_$m.so" } @lines;
        next if $m eq 'log_config';     # built into Debian's apache2
        push @lines, "LoadModule ${m}_module $MODS/mod_$m.so";
    }
    return @lines;
}

# Writes a self-contained config into $dir; returns its path.
sub _write_conf (%a) {
    my ($sym, $so) = mpm_module($a{mpm});
    my $dir = $a{dir};
    mkdir "$dir/$_" for qw(htdocs logs cgi-bin);
    my $user = $> == 0 ? "User www-data\nGroup www-data\n" : '';
    my $listen = defined $a{port} ? "Listen 127.0.0.1:$a{port}\n" : '';
    my $conf = join("\n",
        "ServerRoot $dir",
        "LoadModule $sym $so",
        _load_lines($a{modules} // []),
        'TypesConfig /etc/mime.types',
        'ServerName localhost',
        $listen . $user,
        "PidFile $dir/logs/httpd.pid",
        "ErrorLog $dir/logs/error_log",
        'LogLevel ' . ($a{loglevel} // 'info'),
        "DocumentRoot $dir/htdocs",
        "ScriptSock $dir/logs/cgisock",
        "<Directory $dir/htdocs>\n  Options +ExecCGI\n  AddHandler cgi-script .cgi\n</Directory>",
        "<IfModule status_module>\n<Location /server-status>\n  SetHandler server-status\n</Location>\n</IfModule>",
        $a{conf} // '', '');
    $conf =~ s/^ScriptSock .*\n//m unless grep { $_ eq 'cgid' } @{$a{modules} // []};
    $conf =~ s/\@DIR\@/$dir/g;        # the server's own folder
    my $path = "$dir/httpd.conf";
    open my $fh, '>', $path or croak "$path: $!";
    print $fh $conf;
    close $fh;
    return $path;
}

sub _scratch {
    my $dir = tempdir('loom-srv-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $dir;
    return $dir;
}

# ($exit_code, $output) of `apache2 -t` on a config holding `conf`.
sub config_test (%a) {
    my $dir = _scratch();
    my $path = _write_conf(%a, dir => $dir, port => $a{port} // free_port());
    my $out = `$HTTPD -t -f $path 2>&1`;
    return ($? >> 8, $out);
}

sub new ($class, %a) {
    my $self = bless { owner => $$,
                       mpm => $a{mpm} // $ENV{LOOM_MPM} // 'prefork',
                       modules => $a{modules} // [], conf => $a{conf} // '',
                       loglevel => $a{loglevel} }, $class;
    $self->{dir} = _scratch();
    $self->{port} = $a{port} // free_port();
    return $self;
}

sub dir ($self) { $self->{dir} }
sub port ($self) { $self->{port} }
sub url ($self, $path = '/') { "http://127.0.0.1:$self->{port}$path" }
sub conf_path ($self) { "$self->{dir}/httpd.conf" }

# Writes a file under the document root (mode 0755 for .cgi).
sub write_doc ($self, $name, $content) {
    my $path = "$self->{dir}/htdocs/$name";
    mkdir "$self->{dir}/htdocs";
    open my $fh, '>', $path or croak "$path: $!";
    print $fh $content;
    close $fh;
    chmod($name =~ /\.cgi$/ ? 0755 : 0644, $path);
    return $path;
}

sub start ($self, %opt) {
    _write_conf(mpm => $self->{mpm}, modules => $self->{modules},
                conf => $self->{conf}, dir => $self->{dir},
                port => $self->{port}, loglevel => $self->{loglevel});
    $self->write_doc('index.html', "hello\n")
        unless -e "$self->{dir}/htdocs/index.html";
    system('chmod', '-R', 'a+rX', $self->{dir});
    # core => 1: the server may write core files of any size (ulimit -c).
    my $httpd = $opt{core} ? qq{sh -c 'ulimit -c unlimited && exec "\$0" "\$@"' $HTTPD}
                           : $HTTPD;
    my $out = `$httpd -f $self->{dir}/httpd.conf -k start 2>&1`;
    croak "apache2 -k start failed: $out" if $? != 0;
    push @LIVE, $self;
    my $ok = $self->wait_until(sub { $self->_answers }, $opt{timeout} // 10);
    croak "server did not answer on port $self->{port}:\n" . $self->_tail
        unless $ok;
    return $self;
}

sub _answers ($self) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port}, Timeout => 1)
        or return 0;
    print $s "GET / HTTP/1.0\r\n\r\n";
    my $line = <$s> // '';
    return $line =~ m{^HTTP/1\.\d \d\d\d};
}

sub _tail ($self) {
    my @l = split /\n/, $self->errlog;
    return join("\n", @l > 20 ? @l[-20 .. -1] : @l) . "\n";
}

sub pid ($self) {
    open my $fh, '<', "$self->{dir}/logs/httpd.pid" or return undef;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid;
}

# Children of the parent (the server's own processes: apache2).
sub child_pids ($self) {
    my $ppid = $self->pid // $self->{last_pid} // return ();
    my @kids;
    for my $dir (glob '/proc/[0-9]*') {
        my $st = Loom::Proc::proc_stat($dir =~ s{^/proc/}{}r) or next;
        push @kids, $st->{pid} if $st->{ppid} == $ppid && $st->{comm} eq 'apache2';
    }
    return sort { $a <=> $b } @kids;
}

sub errlog ($self) {
    open my $fh, '<', "$self->{dir}/logs/error_log" or return '';
    local $/;
    return <$fh>;
}

# The error-log lines that report a crashed child, whatever the signal:
# Loom's LOOM0401 (died on a signal) and LOOM0403 (crashing in a loop),
# stock's AH00052, and any other line naming a signal or a segfault.
sub crashes ($self) {
    return grep { /AH00052|LOOM040[13]|\bsignal\b|Segmentation|segfault/i }
           split /\n/, $self->errlog;
}

my %SIG_OF = (graceful => 'USR1', restart => 'HUP', stop => 'TERM',
              'graceful-stop' => 'WINCH');

sub signal ($self, $what) {
    my $sig = $SIG_OF{$what} // $what;
    my $pid = $self->pid or croak "no pid file";
    $self->{last_pid} = $pid;
    kill $sig, $pid or croak "kill $sig $pid: $!";
}

sub status_auto ($self, $timeout = 5) {
    my $r = Loom::HTTP::get_raw($self->{port}, "GET /server-status?auto HTTP/1.0\r\n"
                                . "Host: localhost\r\n\r\n", $timeout) // '';
    return undef unless $r =~ m{^HTTP/1\.\d 200 };
    my (undef, $body) = split /\r\n\r\n/, $r, 2;
    my %h = map { /^([^:]+):\s*(.*?)\s*$/ ? ($1 => $2) : () } split /\n/, $body // '';
    return \%h;
}

sub status_rows ($self, $timeout = 5) {
    my $html = Loom::HTTP::get_raw($self->{port}, "GET /server-status HTTP/1.0\r\n"
                                   . "Host: localhost\r\n\r\n", $timeout) // '';
    my @rows;
    for my $row (split m{</tr>}, $html) {
        my @td = map { s/<[^>]*>//gr =~ s/^\s+|\s+$//gr } split /<td[^>]*>/, $row;
        shift @td;                          # what precedes the first cell
        my ($slot, $gen) = ($td[0] // '') =~ /^(\d+)-(\d+)$/ or next;
        my ($acc) = ($td[2] // '') =~ m{^\d+/(\d+)/};
        push @rows, { slot => $slot, gen => $gen, pid => $td[1],
                      acc => $acc // 0, mode => $td[3] // '',
                      request => $td[-1] // '' };
    }
    return @rows;
}

sub wait_until ($self, $cond, $timeout = 10) {
    my $end = time + $timeout;
    while (time < $end) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return $cond->() ? 1 : 0;
}

sub alive ($self) {
    my $pid = $self->pid // $self->{last_pid} // return 0;
    return Loom::Proc::running($pid) ? 1 : 0;
}

sub stop ($self) {
    return 0 if $$ != $self->{owner};   # a forked helper process: not ours
    my $pid = $self->pid // $self->{last_pid};
    if ($pid && Loom::Proc::running($pid)) {
        kill 'TERM', $pid;
        $self->wait_until(sub { !Loom::Proc::running($pid) }, 15)
            or kill 'KILL', $pid;
    }
    # Whatever the stop left behind dies with it: no stray servers.
    kill 'KILL', $_ for _instance_pids($self->{dir});
    @LIVE = grep { $_ != $self } @LIVE;
    return 1;
}

sub _instance_pids ($dir) {
    my @p;
    for my $cmd (glob '/proc/[0-9]*/cmdline') {
        open my $fh, '<', $cmd or next;
        my $c = <$fh> // next;
        push @p, $cmd =~ m{/proc/(\d+)/} if index($c, "$dir/httpd.conf") >= 0;
    }
    return @p;
}

# Every process of this instance, parent included.
sub all_pids ($self) { _instance_pids($self->{dir}) }

sub DESTROY ($self) {
    $self->stop if ${^GLOBAL_PHASE} ne 'DESTRUCT' && $$ == $self->{owner}
                   && $self->alive;
}

END {
    my @mine = grep { $$ == $_->{owner} } @LIVE;   # stop() edits @LIVE
    $_->stop for @mine;
}


1;
