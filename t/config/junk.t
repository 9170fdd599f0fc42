# What it proves: no value, however wrong, makes `apache2 -t` crash or hang
# with the MPM under test, every refusal names the directive, every
# adjustment is a WARNING naming it, and Loom accepts what the stock twin
# accepts except where stock's atoi() reads junk as a number.
# A generator (t/config/directives.t is the hand-written table; rows it
# already has are skipped here) feeds every directive the MPM accepts:
#  - Loom's numeric directives (StartServers, MinSpare/MaxSpare*, ServerLimit,
#    ThreadLimit, ThreadsPerChild, MaxRequestWorkers, MaxClients,
#    GracefulShutdownTimeout, LoomDrainTimeout): plain integers around every limit and at the
#    int extremes, values beyond int, fractions, hex, exponents, signs,
#    whitespace-padded, empty, long, non-ASCII digits, a format string, junk
#    words, random printable strings (fixed seed, printed; LOOM_JUNK_SEED
#    overrides), a missing argument, two and three arguments, and each
#    directive inside <VirtualHost> and <Directory>;
#  - event: AsyncRequestWorkerFactor (numbers, inf, nan, exponents, junk)
#    and the flags LoomWaitForHead / EnableExceptionHook;
#  - httpd's own directives the MPM declares or reads (ListenBacklog,
#    ListenCoresBucketsRatio, Send/ReceiveBufferSize, ListenTCPDeferAccept,
#    MaxConnectionsPerChild, MaxRequestsPerChild, MaxMemFree,
#    ThreadStackSize): Loom's output must be byte for byte stock's;
#  - incompatible combinations (ThreadsPerChild > ThreadLimit,
#    MaxRequestWorkers < ThreadsPerChild, MinSpare > MaxSpare, ServerLimit 1
#    with MaxRequestWorkers 1000, all zero, all negative, all at INT_MIN and
#    INT_MAX, repeated and aliased directives, ...).
# Each config runs through `apache2 -t` for the MPM under test and its twin
# (Loom <-> stock), two at a time, each killed after 10 s. Per config, one
# test: never a signal or "Segmentation"/"AddressSanitizer", never a hang;
# for Loom: a refusal (exit non-zero) names the directive (Loom's numeric
# ones say "<D> must be a whole number from MIN to MAX, not '<value>'"), an
# accepted plain integer warns exactly when stock's rules adjust it (the
# oracle below) and the WARNING names the directive, an accepted non-plain
# value is a whitespace- or sign-decorated integer; and the acceptance
# (exit 0 or not) equals the twin's, except the documented "stricter"
# cases: Loom refuses, stock accepts, and the value is not a plain integer
# within int (or is a negative GracefulShutdownTimeout). Those are listed at
# the end. Under LOOM_MPM=stock-*, stock is the one asserted never to
# crash or hang, against Loom as the twin.
use strict;
use warnings;
use Test::More;
use POSIX qw(WNOHANG);
use File::Basename qw(dirname);
use Time::HiRes qw(sleep time);
use Loom::Server;

my $mpm = $ENV{LOOM_MPM} // 'prefork';
my ($model) = $mpm =~ /^(?:stock-)?(prefork|worker|event)$/
    or plan skip_all => "LOOM_MPM=$mpm is not prefork, worker, event or stock-*";
my $stock = $mpm =~ /^stock-/;
my (undef, $so) = Loom::Server::mpm_module($mpm);
plan skip_all => "$mpm is not built ($so missing)" unless -f $so;
my $twin = $stock ? $model : "stock-$model";
my $twin_built = -f (Loom::Server::mpm_module($twin))[1];
my ($loom_side, $stock_side) = $stock ? ($twin, $mpm) : ($mpm, $twin);
my $HTTPD = $Loom::Server::HTTPD // '/usr/sbin/apache2';
my $DEADLINE = 10;

my $SEED = $ENV{LOOM_JUNK_SEED} // 1905;
srand $SEED;
note "random seed $SEED (LOOM_JUNK_SEED=$SEED reproduces this run)";

my $INT_MAX = 2147483647;
my $threaded = $model ne 'prefork';
my $tl_max = $model eq 'worker' ? 20000 : 100000;

# Loom's numeric directives of this model: [name, lo, hi] (hi as printed
# in the "whole number" message).
my @numeric = $threaded
    ? (['StartServers', 1, 20000], ['MinSpareThreads', 1, $INT_MAX],
       ['MaxSpareThreads', 1, $INT_MAX], ['ThreadLimit', 1, $tl_max],
       ['ThreadsPerChild', 1, $tl_max], ['ServerLimit', 1, 20000],
       ['MaxRequestWorkers', 1, $INT_MAX], ['MaxClients', 1, $INT_MAX],
       ['GracefulShutdownTimeout', 0, $INT_MAX], ['LoomDrainTimeout', 0, $INT_MAX])
    : (['StartServers', 1, 200000], ['MinSpareServers', 1, 200000],
       ['MaxSpareServers', 1, 200000], ['ServerLimit', 1, 200000],
       ['MaxRequestWorkers', 1, $INT_MAX], ['MaxClients', 1, $INT_MAX],
       ['GracefulShutdownTimeout', 0, $INT_MAX], ['LoomDrainTimeout', 0, $INT_MAX]);
# LoomDrainTimeout is Loom's own: stock refuses it as an unknown command.
my %absent = (LoomDrainTimeout => 1);

# Whether stock's rules adjust (and so warn about) the plain integer $v
# given alone for directive $d, the others at their defaults (prefork:
# ServerLimit 256, MaxRequestWorkers 256; threaded: ServerLimit 16,
# ThreadLimit 64, ThreadsPerChild 25, MaxRequestWorkers 400).
sub adjusts {
    my ($d, $v) = @_;
    return 0 if $d =~ /^(?:MaxSpare|GracefulShutdownTimeout|LoomDrainTimeout)/;
    return $v < 1 if $d =~ /^(?:StartServers|MinSpare)/;
    if (!$threaded) {
        return $v < 1 || $v > 256 if $d =~ /^Max(?:RequestWorkers|Clients)$/;
        return $v < 256 || $v > 200000 if $d eq 'ServerLimit';
    }
    return !($v >= 25 && $v % 25 == 0 && $v / 25 <= 16)
        if $d =~ /^Max(?:RequestWorkers|Clients)$/;
    return $v < 16 || $v > 20000 if $d eq 'ServerLimit';
    return $v < 25 || $v > $tl_max if $d eq 'ThreadLimit';
    return !($v >= 25 && $v <= 64 && 400 % $v == 0) if $d eq 'ThreadsPerChild';
    die "no rule for $d";
}

# A plain integer ([+-]digits) within int: what atoi() and Loom agree on.
sub plain_int {
    my ($v) = @_;
    return 0 unless $v =~ /^([+-]?)0*(\d+)$/;
    my ($sign, $digits) = ($1, $2);
    my $limit = $sign eq '-' ? '2147483648' : '2147483647';
    return length($digits) < 10 || (length($digits) == 10 && $digits le $limit);
}

# --- The rows directives.t already has: skipped here --------------------
my %known;
if (open my $fh, '<', dirname(__FILE__) . '/directives.t') {
    while (<$fh>) {
        $known{"$1 $2"} = 1 while /\['(\w+) ([^'\\]*)'/g;
    }
}

# --- Values --------------------------------------------------------------
sub random_string {
    my @chars = grep { $_ ne '"' && $_ ne '\\' && $_ ne '$' } map { chr } 0x21 .. 0x7e;
    my $n = 1 + int rand 12;
    my $s = join '', map { $chars[int rand @chars] } 1 .. $n;
    substr($s, int rand length $s, 0, ' ') if rand() < 0.3;
    return $s;
}

sub random_numberish {
    my $s = int rand 100000;
    my @junk = ('#', '.', ',', '_', 'k', 'M', '-', '+', '/', '%', ':', 'e');
    substr($s, int rand(length($s) + 1), 0, $junk[int rand @junk]);
    return $s;
}

my @plain = qw(-2147483648 -1 0 1 2 16 25 40 65 256 257 20001 200001
               2147483647 +8);
# Every directive gets the first six; the others rotate, four each.
my @odd_all = ('2147483648', '1.5', '0x1F', '12 ', '', "\xef\xbc\x95");  # U+FF15, a fullwidth 5
my @odd_rot = ('-2147483649', '9223372036854775808', '1' . '0' x 30, '.5',
               '3.', '1e3', ' 12', "\t3", '3 4', '%s%n%x', '9' x 3000,
               'x' x 3000, '-', '+', '--1', '1,000');
my @words = qw(abc many none on off unlimited default auto max true NaN
               infinity half twenty);

# Writes a directive line with its value quoted when it must be.
sub line {
    my ($d, $v) = @_;
    return "$d \"$v\"" if $v eq '' || $v =~ /\s/;
    return "$d $v";
}

# A value as shown in a test name: long ones shortened, bytes escaped.
sub show {
    my ($v) = @_;
    $v = substr($v, 0, 12) . '...(' . length($v) . ' chars)' if length $v > 24;
    $v =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    return $v;
}

# Job: { label, conf, kind, d, v, ...expectations }.
my (@jobs, $skipped);
sub job {
    my (%j) = @_;
    if ($j{conf} !~ /\n/ && $known{ $j{conf} }) { $skipped++; return }
    push @jobs, \%j;
}

my ($wi, $oi) = (0, 0);
for my $n (@numeric) {
    my ($d, $lo, $hi) = @$n;
    my @vals = (@plain, @odd_all,
                map({ $odd_rot[$oi++ % @odd_rot] } 1 .. 4),
                map({ $words[$wi++ % @words] } 1 .. 2),
                map({ random_string() } 1 .. 2), random_numberish());
    for my $v (@vals) {
        job(label => "$d '" . show($v) . "'", conf => line($d, $v), kind => 'numeric',
            d => $d, v => $v, lo => $lo, hi => $hi, absent => $absent{$d});
    }
    job(label => "$d (no argument)", conf => $d, kind => 'arity', d => $d, absent => $absent{$d});
    job(label => "$d 5 6", conf => "$d 5 6", kind => 'arity', d => $d, absent => $absent{$d});
    job(label => "$d 5 6 7", conf => "$d 5 6 7", kind => 'arity', d => $d, absent => $absent{$d});
    job(label => "$d in <Directory>", conf => "<Directory /tmp>\n$d 4\n</Directory>",
        kind => 'context', d => $d, absent => $absent{$d});
    job(label => "$d in <VirtualHost>", conf => "<VirtualHost 127.0.0.1:80>\n$d 4\n</VirtualHost>",
        kind => 'context', d => $d, absent => $absent{$d})
        unless $d =~ /^(?:GracefulShutdownTimeout|StartServers|MaxRequestWorkers|LoomDrainTimeout)$/;   # in directives.t
}

if ($model eq 'event') {
    for my $v ('3', '1', '0.25', '1000000', '10000000', '1e2', '1e300', 'inf',
               'nan', '0x10', ' 2', '2 ', '-0.5', '0.0', '', 'two',
               random_string(), random_numberish()) {
        job(label => "AsyncRequestWorkerFactor '" . show($v) . "'", conf => line('AsyncRequestWorkerFactor', $v),
            kind => 'real', d => 'AsyncRequestWorkerFactor', v => $v);
    }
    job(label => 'AsyncRequestWorkerFactor (no argument)', conf => 'AsyncRequestWorkerFactor',
        kind => 'arity', d => 'AsyncRequestWorkerFactor');
    job(label => 'AsyncRequestWorkerFactor 2 3', conf => 'AsyncRequestWorkerFactor 2 3',
        kind => 'arity', d => 'AsyncRequestWorkerFactor');
    for my $v ('On', 'off', 'ON', 'yes', '1', '0', '', random_string()) {
        job(label => "LoomWaitForHead '" . show($v) . "'", conf => line('LoomWaitForHead', $v),
            kind => 'flag', d => 'LoomWaitForHead', v => $v, absent => 1);
    }
    # httpd's parser of On/Off directives ignores words after the first
    # (stock's own flags, such as ExtendedStatus On Off, are accepted too):
    # only the crash and naming checks apply.
    job(label => 'LoomWaitForHead Off On', conf => 'LoomWaitForHead Off On',
        kind => 'flag', d => 'LoomWaitForHead', absent => 1);
}
for my $v ('on', 'OFF', 'yes', '', random_string()) {
    job(label => "EnableExceptionHook '$v'", conf => line('EnableExceptionHook', $v),
        kind => 'flag', d => 'EnableExceptionHook', v => $v, absent => 1);
}

# httpd's own handlers: Loom must not change a byte of what they say.
for my $d (qw(ListenBacklog ListenCoresBucketsRatio SendBufferSize
              ReceiveBufferSize ListenTCPDeferAccept MaxConnectionsPerChild
              MaxRequestsPerChild MaxMemFree ThreadStackSize)) {
    for my $v ('abc', '-7', '0', '2147483648', '7.5', '', random_string()) {
        job(label => "$d '" . show($v) . "'", conf => line($d, $v), kind => 'httpd', d => $d, v => $v);
    }
    job(label => "$d (no argument)", conf => $d, kind => 'httpd', d => $d);
    job(label => "$d 1 2", conf => "$d 1 2", kind => 'httpd', d => $d);
}

# Incompatible combinations: [conf lines, directive a WARNING must name
# (or undef: no warning)]. All values are plain integers, so the twin's
# acceptance must be the same.
my $M = $INT_MAX;
my @combos = $threaded ? (
    ["ThreadLimit 8\nThreadsPerChild 9\nMaxRequestWorkers 64", 'ThreadLimit'],
    ["ThreadsPerChild 32\nMaxRequestWorkers 31", 'ThreadsPerChild'],
    ["ThreadsPerChild 30\nMaxRequestWorkers 100", 'ThreadsPerChild'],
    ["MinSpareThreads 300\nMaxSpareThreads 50", undef],
    ["MinSpareThreads 75\nMaxSpareThreads 76", undef],
    ["ServerLimit 1\nMaxRequestWorkers 1000", 'ServerLimit'],
    ["ServerLimit 1\nThreadLimit 1\nThreadsPerChild 1\nMaxRequestWorkers 1\nStartServers 1\nMinSpareThreads 1\nMaxSpareThreads 1", undef],
    ["StartServers 50\nServerLimit 4\nMaxRequestWorkers 100", undef],
    ["ServerLimit 20000\nThreadLimit $tl_max\nThreadsPerChild $tl_max\nMaxRequestWorkers $M", 'ServerLimit'],
    ["ServerLimit 20000\nThreadLimit $tl_max\nThreadsPerChild 1\nMaxRequestWorkers 20000", undef],
    ["ServerLimit 0\nThreadLimit 0\nThreadsPerChild 0\nMaxRequestWorkers 0\nStartServers 0\nMinSpareThreads 0\nMaxSpareThreads 0", 'ThreadsPerChild'],
    ["ServerLimit -1\nThreadLimit -1\nThreadsPerChild -1\nMaxRequestWorkers -1\nStartServers -1\nMinSpareThreads -1\nMaxSpareThreads -1", 'ThreadsPerChild'],
    [join("\n", map { "$_ -2147483648" } qw(ServerLimit ThreadLimit ThreadsPerChild MaxRequestWorkers StartServers MinSpareThreads MaxSpareThreads)), 'ThreadsPerChild'],
    [join("\n", map { "$_ $M" } qw(ServerLimit ThreadLimit ThreadsPerChild MaxRequestWorkers StartServers MinSpareThreads MaxSpareThreads GracefulShutdownTimeout)), 'ThreadLimit'],
    ["MaxClients 100\nMaxRequestWorkers 200", undef],
    ["MaxRequestWorkers 200\nMaxClients 7", 'MaxRequestWorkers'],
    ["ThreadLimit 64\nThreadLimit 32\nThreadsPerChild 40\nMaxRequestWorkers 320", 'ThreadLimit'],
    ["StartServers 3\nStartServers 0", 'StartServers'],
    ["MaxRequestWorkers 10\nServerLimit 0\nThreadsPerChild 100", 'ThreadsPerChild'],
    ["ListenCoresBucketsRatio 1\nStartServers 1\nMinSpareThreads 1\nMaxSpareThreads 1", undef],
    ["GracefulShutdownTimeout 5\nGracefulShutdownTimeout 0", undef],
    ($model eq 'event'
        ? (["AsyncRequestWorkerFactor 0.0001\nThreadLimit 1\nThreadsPerChild 1\nMaxRequestWorkers 1", undef],
           ["AsyncRequestWorkerFactor 1000000\nThreadsPerChild 50\nMaxRequestWorkers 800", undef])
        : ()),
) : (
    ["MinSpareServers 10\nMaxSpareServers 5", undef],
    ["ServerLimit 1\nMaxRequestWorkers 1000", 'ServerLimit'],
    ["StartServers 100\nServerLimit 10\nMaxRequestWorkers 10", undef],
    ["ServerLimit 1\nMaxRequestWorkers 1\nStartServers 1\nMinSpareServers 1\nMaxSpareServers 1", undef],
    ["ServerLimit 0\nMaxRequestWorkers 0\nStartServers 0\nMinSpareServers 0\nMaxSpareServers 0", 'ServerLimit'],
    ["ServerLimit -1\nMaxRequestWorkers -1\nStartServers -1\nMinSpareServers -1\nMaxSpareServers -1", 'MaxRequestWorkers'],
    [join("\n", map { "$_ -2147483648" } qw(ServerLimit MaxRequestWorkers StartServers MinSpareServers MaxSpareServers)), 'StartServers'],
    [join("\n", map { "$_ $M" } qw(ServerLimit MaxRequestWorkers StartServers MinSpareServers MaxSpareServers GracefulShutdownTimeout)), 'ServerLimit'],
    ["ServerLimit 200000\nMaxRequestWorkers 200000\nStartServers 200000", undef],
    ["MaxClients 100\nMaxRequestWorkers 200", undef],
    ["MaxRequestWorkers 200\nMaxClients 0", 'MaxRequestWorkers'],
    ["ServerLimit 300\nServerLimit 20", 'ServerLimit'],
    ["MinSpareServers 3\nMinSpareServers -3", 'MinSpareServers'],
    ["ListenCoresBucketsRatio 1\nStartServers 1\nMinSpareServers 1\nMaxSpareServers 1", undef],
    ["GracefulShutdownTimeout 5\nGracefulShutdownTimeout 0", undef],
);
for my $c (@combos) {
    job(label => 'combo: ' . ($c->[0] =~ s/\n/; /gr), conf => $c->[0], kind => 'combo',
        warns => $c->[1]);
}

# --- Running apache2 -t, two at a time ----------------------------------
my $port = Loom::Server::free_port();
my @slots = map { Loom::Server::_scratch() } 1 .. 2;

# Runs every job for the given MPM; stores { exit, signal, hung, out }.
sub run_all {
    my ($which, $key) = @_;
    my @todo = @jobs;
    my %busy;               # pid => [job, slot, deadline, outfile]
    my @free = (0, 1);
    while (@todo || %busy) {
        while (@todo && @free) {
            my $j = shift @todo;
            my $slot = shift @free;
            my $dir = $slots[$slot];
            Loom::Server::_write_conf(mpm => $which, conf => "$j->{conf}\n", dir => $dir, port => $port);
            my $out = "$dir/out";
            my $pid = fork // die "fork: $!";
            if ($pid == 0) {
                open STDOUT, '>', $out or POSIX::_exit(126);
                open STDERR, '>&', \*STDOUT;
                { exec $HTTPD, '-t', '-f', "$dir/httpd.conf" }
                POSIX::_exit(127);
            }
            $busy{$pid} = [$j, $slot, time + $DEADLINE, $out];
        }
        my $pid = waitpid(-1, WNOHANG);
        if ($pid > 0 && $busy{$pid}) {
            my ($j, $slot, undef, $out) = @{ delete $busy{$pid} };
            my $st = $?;
            open my $fh, '<', $out;
            local $/;
            my $text = <$fh> // '';
            $text =~ s{\Q$slots[$slot]\E}{SCRATCH}g;
            $j->{$key} = { exit => $st >> 8, signal => $st & 127, hung => $j->{_hung},
                           out => $text };
            delete $j->{_hung};
            push @free, $slot;
            next;
        }
        for my $p (keys %busy) {
            next if time < $busy{$p}[2];
            $busy{$p}[0]{_hung} = 1;
            kill 'KILL', $p;
        }
        sleep 0.002;
    }
}

my $t0 = time;
run_all($mpm, 'self');
run_all($twin, 'twin') if $twin_built;
note sprintf '%d configs (%d more are rows of directives.t, skipped), %d apache2 -t runs in %.1f s',
    scalar(@jobs), $skipped // 0, scalar(@jobs) * ($twin_built ? 2 : 1), time - $t0;

plan tests => scalar @jobs;

# --- Checks ---------------------------------------------------------------
sub crashed {
    my ($r) = @_;
    return "killed after $DEADLINE s (hang)" if $r->{hung};
    return "died on signal $r->{signal}" if $r->{signal};
    return 'crash in the output' if $r->{out} =~ /Segmentation|AddressSanitizer|core dumped|Aborted/;
    return "exit status $r->{exit}" if $r->{exit} > 1;
    return '';
}

# $v as httpd's log escapes it (ap_escape_logitem): what a message echoes.
sub logged {
    my ($v) = @_;
    my %c = ("\b" => '\b', "\n" => '\n', "\r" => '\r', "\t" => '\t', "\x0b" => '\v');
    $v =~ s/([\\"])/\\$1/g;
    $v =~ s{([^\x20-\x7e])}{$c{$1} // sprintf('\\x%02x', ord $1)}ge;
    return $v;
}


my @stricter;
for my $j (@jobs) {
    my @why;
    my ($self, $tw) = ($j->{self}, $j->{twin});
    my ($L, $S) = $stock ? ($tw, $self) : ($self, $tw);   # Loom's and stock's results
    if (my $c = crashed($self)) { push @why, "$mpm: $c" }
    if ($tw && (my $c = crashed($tw))) { push @why, "$twin: $c" }
    my $d = $j->{d};

    # Loom's messages (Loom's own directives; httpd's are compared below).
    if ($L && !$L->{hung} && !$L->{signal}) {
        my ($ok, $out) = ($L->{exit} == 0, $L->{out});
        my @warn = grep { /WARNING/ } split /\n/, $out;
        if (!$ok && $d && index($out, $d) < 0) {
            push @why, "refused without naming $d";
        }
        if ($j->{kind} eq 'numeric') {
            my $v = $j->{v};
            my $int = plain_int($v) ? $v + 0 : undef;
            if ($ok) {
                if ($v !~ /^\s*[+-]?\d+$/ || !plain_int($v =~ s/^\s+//r)) {
                    push @why, "accepted '$v', which is not a whole number within int";
                }
                else {
                    my $n = ($v =~ s/^\s+//r) + 0;
                    push @why, "accepted a negative GracefulShutdownTimeout"
                        if $d eq 'GracefulShutdownTimeout' && $n < 0;
                    my $named = $d eq 'MaxClients' ? 'MaxRequestWorkers' : $d;
                    if (adjusts($d, $n)) {
                        push @why, "no WARNING naming $named for $n"
                            unless grep { index($_, $named) >= 0 } @warn;
                    }
                    elsif (@warn) {
                        push @why, "a WARNING for $n, which needs no adjustment: $warn[0]";
                    }
                }
            }
            elsif ($L->{out} !~ /\Q$d\E must be a whole number from $j->{lo} to $j->{hi}, not '(?:\Q$v\E|\Q${\ logged($v)}\E)'/
                   && !($v eq '' && $L->{out} =~ /\Q$d\E takes one argument/)) {   # httpd: "" is no argument
                push @why, 'refused without the "must be a whole number from .. to .., not \'value\'" message';
            }
            elsif (defined $int && !($d =~ /^(?:GracefulShutdownTimeout|LoomDrainTimeout)$/ && $int < 0)) {
                push @why, "refused the plain integer $v";
            }
        }
        elsif ($j->{kind} eq 'arity' && $ok) {
            push @why, 'accepted a wrong number of arguments';
        }
        elsif ($j->{kind} eq 'context' && $ok) {
            push @why, 'accepted outside the main server config';
        }
        elsif ($j->{kind} eq 'combo') {
            if (!$ok) {
                push @why, 'refused a combination of plain integers';
            }
            elsif (defined $j->{warns}) {
                push @why, "no WARNING naming $j->{warns}"
                    unless grep { index($_, $j->{warns}) >= 0 } @warn;
            }
            elsif (@warn) {
                push @why, "an unexpected WARNING: $warn[0]";
            }
            for my $w (@warn) {
                my @in = $j->{conf} =~ /^(\w+)/mg;
                push @why, "a WARNING naming none of the directives given: $w"
                    unless grep { index($w, $_) >= 0 } @in, ('MaxRequestWorkers');
            }
        }
        elsif ($j->{kind} eq 'httpd' && $S) {
            (my $lo = $L->{out}) =~ s/SCRATCH/X/g;
            (my $so_ = $S->{out}) =~ s/SCRATCH/X/g;
            push @why, "output differs from stock's:\n  loom:  $lo  stock: $so_"
                if $lo ne $so_;
        }
        if ($S && $ok && $S->{exit} == 0 && ($j->{kind} eq 'numeric' || $j->{kind} eq 'combo')) {
            my $lw = grep { /WARNING/ } split /\n/, $L->{out};
            my $sw = grep { /WARNING/ } split /\n/, $S->{out};
            push @why, 'Loom ' . ($lw ? 'warns' : 'does not warn') . ', stock '
                       . ($sw ? 'warns' : 'does not')
                if !!$lw != !!$sw;
        }
    }

    # Acceptance against stock.
    if ($L && $S && !crashed($L) && !crashed($S) && !$j->{absent}) {
        my ($la, $sa) = ($L->{exit} == 0, $S->{exit} == 0);
        if ($la != $sa) {
            my $v = $j->{v} // '';
            my $documented = !$la && $sa
                && (($j->{kind} eq 'numeric' && (!plain_int($v)
                                                 || ($d eq 'GracefulShutdownTimeout' && $v < 0)))
                    || ($j->{kind} eq 'real' && $v !~ /^\s*\d+(?:\.\d+)?$/));
            if ($documented) {
                push @stricter, $j->{label};
            }
            else {
                push @why, sprintf 'Loom %s, stock %s', $la ? 'accepts' : 'refuses', $sa ? 'accepts' : 'refuses';
            }
        }
    }
    elsif ($L && $S && $j->{absent} && $S->{exit} == 0) {
        push @why, "stock accepts $d, which it does not have?";
    }

    ok !@why, $j->{label} or diag join("\n", @why,
        "config: $j->{conf}",
        map({ "$_->[0] (exit $_->[1]{exit}): $_->[1]{out}" }
            grep { $_->[1] } ['loom', $L], ['stock', $S]),
        "seed $SEED");
}
my %by;
for (@stricter) { my ($d, $v) = /^(\w+) (.*)$/; push @{ $by{$d} }, $v }
note 'stricter than stock on purpose (Loom refuses what atoi()/strtod() read as a number), '
     . scalar(@stricter) . " configs:\n" . join("\n", map { "  $_: " . join(', ', @{ $by{$_} }) } sort keys %by);
