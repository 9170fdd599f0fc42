# What it proves: every directive the MPM under test accepts takes its good
# values, and its bad values are handled as the contract says, through
# `apache2 -t`:
#  - a value that is not a whole number (junk, trailing junk, a fraction,
#    beyond the int range) is a syntax error whose message names the
#    directive and says "must be a whole number from MIN to MAX";
#  - where stock warns and adjusts (below 1, above a compile-time limit,
#    MaxRequestWorkers against ServerLimit / ThreadsPerChild, ...), Loom also
#    exits 0 and prints a WARNING naming the directive, the value given and
#    the value it uses;
#  - directives of the other models are invalid commands, like stock's.
# Every row whose value stock reads sanely is also run against the stock
# twin (stock-<model>), and the acceptance (exit status) must match.  Rows
# marked "stricter" are junk that stock's atoi() reads as a number: Loom
# refuses them on purpose, so only Loom's side is asserted there (run under
# LOOM_MPM=stock-*, such a row asserts that stock indeed accepts it).
# Rows marked "absent" name a directive Debian's stock MPMs do not have.
use strict;
use warnings;
use Test::More;
use Loom::Server;

my $mpm = $ENV{LOOM_MPM} // 'prefork';
my ($model) = $mpm =~ /^(?:stock-)?(prefork|worker|event)$/
    or plan skip_all => "LOOM_MPM=$mpm is not prefork, worker, event or stock-*";
my $stock = $mpm =~ /^stock-/;
my (undef, $so) = Loom::Server::mpm_module($mpm);
plan skip_all => "$mpm is not built yet ($so missing): its rows are skipped"
    unless -f $so;
my $twin = "stock-$model";

# Row: [conf, expect, pattern, twin].
#  expect  ok    exit 0, no WARNING
#          warn  exit 0 and the pattern (a WARNING naming the adjustment)
#          error exit non-zero and the pattern
#  pattern one regex for both Loom and stock, or { loom => qr, stock => qr }
#  twin    same (default): the stock twin's acceptance must be the same;
#          stricter: Loom refuses what stock's atoi() accepts (Loom only);
#          absent: stock has no such directive (refuses it as invalid).
# A "\n" in conf separates lines.
sub whole { my ($d, $min, $max, $v) = @_;
            return { loom => qr/\Q$d\E must be a whole number from $min to $max, not '\Q$v\E'/ } }

my @prefork_counts = (
    # StartServers
    ['StartServers 3', 'ok'],
    ['StartServers 1', 'ok'],
    ['StartServers 300000', 'ok'],            # capped silently at run time
    ['StartServers 0', 'warn', qr/WARNING: StartServers of 0 .*increasing to 1\b/],
    ['StartServers -4', 'warn', qr/WARNING: StartServers of -4 .*increasing to 1\b/],
    ['StartServers -2147483648', 'warn', qr/WARNING: StartServers of -2147483648 .*increasing to 1\b/],
    ['StartServers abc', 'error', whole('StartServers', 1, 200000, 'abc'), 'stricter'],
    ['StartServers 12abc', 'error', whole('StartServers', 1, 200000, '12abc'), 'stricter'],
    ['StartServers 1.5', 'error', whole('StartServers', 1, 200000, '1.5'), 'stricter'],
    ['StartServers 0x10', 'error', whole('StartServers', 1, 200000, '0x10'), 'stricter'],
    ['StartServers 2147483648', 'error', whole('StartServers', 1, 200000, '2147483648'), 'stricter'],
    ['StartServers -2147483649', 'error', whole('StartServers', 1, 200000, '-2147483649'), 'stricter'],
    ['StartServers 99999999999', 'error', whole('StartServers', 1, 200000, '99999999999'), 'stricter'],
    ['StartServers ""', 'error', qr/StartServers takes one argument/],
    ['StartServers', 'error', qr/StartServers takes one argument/],
    ['StartServers 1 2', 'error', qr/StartServers takes one argument/],
    # ServerLimit
    ['ServerLimit 10\nMaxRequestWorkers 10', 'ok'],
    ['ServerLimit 200000', 'ok'],
    ['ServerLimit 0', 'warn', qr/WARNING: ServerLimit of 0 .*increasing to 1\b/],
    ['ServerLimit -1', 'warn', qr/WARNING: ServerLimit of -1 .*increasing to 1\b/],
    ['ServerLimit x', 'error', whole('ServerLimit', 1, 200000, 'x'), 'stricter'],
    ['ServerLimit 2147483648', 'error', whole('ServerLimit', 1, 200000, '2147483648'), 'stricter'],
    # MaxRequestWorkers and its old name
    ['MaxRequestWorkers 150', 'ok'],
    ['MaxRequestWorkers 0', 'warn', qr/WARNING: MaxRequestWorkers of 0 .*increasing to 1\b/],
    ['MaxRequestWorkers -1', 'warn', qr/WARNING: MaxRequestWorkers of -1 .*increasing to 1\b/],
    ['MaxRequestWorkers many', 'error', whole('MaxRequestWorkers', 1, 2147483647, 'many'), 'stricter'],
    ['MaxRequestWorkers 7.5', 'error', whole('MaxRequestWorkers', 1, 2147483647, '7.5'), 'stricter'],
    ['MaxClients 150', 'ok'],
    ['MaxClients 0', 'warn', qr/WARNING: MaxRequestWorkers of 0 .*increasing to 1\b/],
    ['MaxClients x', 'error', whole('MaxClients', 1, 2147483647, 'x'), 'stricter'],
);

my @common = (
    # GracefulShutdownTimeout: 0 means forever; negative is an error in Loom
    ['GracefulShutdownTimeout 30', 'ok'],
    ['GracefulShutdownTimeout 0', 'ok'],
    ['GracefulShutdownTimeout 2147483647', 'ok'],
    ['GracefulShutdownTimeout -5', 'error', whole('GracefulShutdownTimeout', 0, 2147483647, '-5'), 'stricter'],
    ['GracefulShutdownTimeout soon', 'error', whole('GracefulShutdownTimeout', 0, 2147483647, 'soon'), 'stricter'],
    ['GracefulShutdownTimeout 1.5', 'error', whole('GracefulShutdownTimeout', 0, 2147483647, '1.5'), 'stricter'],
    ['GracefulShutdownTimeout 2147483648', 'error', whole('GracefulShutdownTimeout', 0, 2147483647, '2147483648'), 'stricter'],
    ['<VirtualHost 127.0.0.1:80>\nGracefulShutdownTimeout 3\n</VirtualHost>', 'error',
     qr/GracefulShutdownTimeout cannot occur within <VirtualHost> section/],
    ['<VirtualHost 127.0.0.1:80>\nStartServers 3\n</VirtualHost>', 'error',
     qr/StartServers cannot occur within <VirtualHost> section/],
    ['<VirtualHost 127.0.0.1:80>\nMaxRequestWorkers 3\n</VirtualHost>', 'error',
     qr/MaxRequestWorkers cannot occur within <VirtualHost> section/],
    # The core's listener directives, declared by the MPM
    ['Listen 127.0.0.2:8081', 'ok'],
    ['Listen 127.0.0.2:8081 http', 'ok'],
    ['Listen abc', 'error', qr/Port must be specified/],
    ['Listen 127.0.0.1:70000', 'error', qr/Invalid address or port/],
    ['Listen 127.0.0.1:8081 http extra', 'error', qr/Listen requires 1 or 2 arguments/],
    ['Listen 127.0.0.2:8081\nListen 127.0.0.2:8081', 'error', qr/Cannot define multiple Listeners on the same IP:port/],
    ['ListenBacklog 100', 'ok'],
    ['ListenBacklog 0', 'error', qr/ListenBacklog must be > 0/],
    ['ListenBacklog -1', 'error', qr/ListenBacklog must be > 0/],
    ['ListenCoresBucketsRatio 1', 'ok'],
    ['ListenCoresBucketsRatio 4', 'ok'],
    ['ListenCoresBucketsRatio 0', 'error', qr/ListenCoresBucketsRatio must be > 0/],
    ['ListenCoresBucketsRatio -1', 'error', qr/ListenCoresBucketsRatio must be > 0/],
    ['SendBufferSize 65536', 'ok'],
    ['SendBufferSize 0', 'ok'],
    ['SendBufferSize 100', 'error', qr/SendBufferSize must be >= 512 bytes/],
    ['ReceiveBufferSize 65536', 'ok'],
    ['ReceiveBufferSize 0', 'ok'],
    ['ReceiveBufferSize 100', 'error', qr/ReceiveBufferSize must be >= 512 bytes/],
    ['ListenTCPDeferAccept 5', 'ok'],
    ['ListenTCPDeferAccept 0', 'error', qr/ListenTCPDeferAccept must be > 0/],
    # Debian's httpd has no exception hook, so stock refuses the directive;
    # Loom accepts it (a notice for On) so that configs written for other
    # builds still load.
    # LoomDrainTimeout: Loom's bounded drain after a graceful restart
    ['LoomDrainTimeout 30', 'ok', undef, 'absent'],
    ['LoomDrainTimeout 0', 'ok', undef, 'absent'],
    ['LoomDrainTimeout -1', 'error', whole('LoomDrainTimeout', 0, 2147483647, '-1'), 'absent'],
    ['LoomDrainTimeout soon', 'error', whole('LoomDrainTimeout', 0, 2147483647, 'soon'), 'absent'],
    ['LoomDrainTimeout', 'error', qr/LoomDrainTimeout takes one argument/, 'absent'],
    ['<VirtualHost 127.0.0.1:80>\nLoomDrainTimeout 3\n</VirtualHost>', 'error',
     { loom => qr/LoomDrainTimeout cannot occur within <VirtualHost> section/ }, 'absent'],
    ['EnableExceptionHook Off', 'ok', undef, 'absent'],
    ['EnableExceptionHook On', 'ok', undef, 'absent'],
    ['EnableExceptionHook maybe', 'error', { loom => qr/EnableExceptionHook must be On or Off/ }, 'absent'],
    # The core's and mod_unixd's directives the MPM reads
    ['MaxConnectionsPerChild 1000', 'ok'],
    ['MaxConnectionsPerChild 0', 'ok'],
    ['MaxConnectionsPerChild -1', 'ok'],      # core's handler: no check
    ['MaxRequestsPerChild 1000', 'ok'],
    ['MaxMemFree 1024', 'ok'],
    ['MaxMemFree 0', 'ok'],
    ['MaxMemFree -1', 'error', qr/Invalid MaxMemFree value: -1/],
    ['MaxMemFree 99999999999999999999', 'error', qr/Invalid MaxMemFree value/],
    ['PidFile logs/other.pid', 'ok'],
    ['PidFile', 'error', qr/PidFile takes one argument/],
    ['ScoreBoardFile logs/apache_runtime_status', 'ok'],
    ['CoreDumpDirectory /tmp', 'ok'],
    ['CoreDumpDirectory /nonexistent-loom', 'error', qr{CoreDumpDirectory /nonexistent-loom does not exist}],
    ['CoreDumpDirectory /etc/hostname', 'error', qr{CoreDumpDirectory /etc/hostname is not a directory}],
    ['ThreadStackSize 1048576', 'ok'],
    ['ThreadStackSize -1', 'error', qr/Invalid ThreadStackSize value: -1/],
);

my @prefork = (
    @prefork_counts,
    ['MinSpareServers 3', 'ok'],
    ['MinSpareServers 300000', 'ok'],
    ['MinSpareServers 0', 'warn', qr/WARNING: MinSpareServers of 0 .*increasing to 1\b/],
    ['MinSpareServers -1', 'warn', qr/WARNING: MinSpareServers of -1 .*increasing to 1\b/],
    ['MinSpareServers nope', 'error', whole('MinSpareServers', 1, 200000, 'nope'), 'stricter'],
    ['MinSpareServers 1.5', 'error', whole('MinSpareServers', 1, 200000, '1.5'), 'stricter'],
    ['MaxSpareServers 20', 'ok'],
    ['MaxSpareServers 0', 'ok'],               # raised silently at run time
    ['MaxSpareServers bad', 'error', whole('MaxSpareServers', 1, 200000, 'bad'), 'stricter'],
    ['MaxSpareServers 1.5', 'error', whole('MaxSpareServers', 1, 200000, '1.5'), 'stricter'],
    ['ServerLimit 300000', 'warn', qr/WARNING: ServerLimit of 300000 exceeds .*decreasing to 200000\b/],
    ['ServerLimit 2147483647', 'warn', qr/WARNING: ServerLimit of 2147483647 exceeds .*decreasing to 200000\b/],
    ['ServerLimit 10\nMaxRequestWorkers 20', 'warn',
     qr/WARNING: MaxRequestWorkers of 20 exceeds ServerLimit.* 10\b.*decreasing.* to 10\b/],
    ['MaxRequestWorkers 300', 'warn',
     qr/WARNING: MaxRequestWorkers of 300 exceeds ServerLimit.* 256\b.*decreasing.* to 256\b/],
    ['Mutex default mpm-accept', 'ok'],
    ['Mutex pthread mpm-accept', 'ok'],
    ['Mutex bogus mpm-accept', 'error', qr/Invalid Mutex argument bogus/],
    ['ThreadsPerChild 25', 'error', qr/Invalid command 'ThreadsPerChild'/],
    ['MinSpareThreads 25', 'error', qr/Invalid command 'MinSpareThreads'/],
    ['MaxSpareThreads 75', 'error', qr/Invalid command 'MaxSpareThreads'/],
    ['ThreadLimit 64', 'error', qr/Invalid command 'ThreadLimit'/],
    ['AsyncRequestWorkerFactor 2', 'error', qr/Invalid command 'AsyncRequestWorkerFactor'/],
);

# The largest sane ThreadLimit / ThreadsPerChild: stock worker caps them at
# 20000, stock event at 100000; threaded ServerLimit stops at 20000.
my $thread_max = $model eq 'worker' ? 20000 : 100000;
my @threaded = (
    ['StartServers 3', 'ok'],
    ['StartServers 0', 'warn', qr/WARNING: StartServers of 0 .*increasing to 1\b/],
    ['StartServers abc', 'error', whole('StartServers', 1, 20000, 'abc'), 'stricter'],
    ['StartServers 1.5', 'error', whole('StartServers', 1, 20000, '1.5'), 'stricter'],
    ['MinSpareThreads 25', 'ok'],
    ['MinSpareThreads 0', 'warn', qr/WARNING: MinSpareThreads of 0 .*increasing to 1\b/],
    ['MinSpareThreads z', 'error', whole('MinSpareThreads', 1, 2147483647, 'z'), 'stricter'],
    ['MinSpareThreads 1.5', 'error', whole('MinSpareThreads', 1, 2147483647, '1.5'), 'stricter'],
    ['MaxSpareThreads 75', 'ok'],
    ['MaxSpareThreads 0', 'ok'],               # raised silently at run time
    ['MaxSpareThreads x', 'error', whole('MaxSpareThreads', 1, 2147483647, 'x'), 'stricter'],
    ['ThreadsPerChild 25', 'ok'],
    ['ThreadsPerChild 0\nMaxRequestWorkers 16', 'warn', qr/WARNING: ThreadsPerChild of 0 .*increasing to 1\b/],
    ['ThreadsPerChild 1.5', 'error', whole('ThreadsPerChild', 1, $thread_max, '1.5'), 'stricter'],
    ['ThreadsPerChild 100\nMaxRequestWorkers 128', 'warn',
     qr/WARNING: ThreadsPerChild of 100 exceeds ThreadLimit of 64\b.*decreasing to 64\b/],
    ['ThreadLimit 64', 'ok'],
    ['ThreadLimit 0', 'warn', qr/WARNING: ThreadLimit of 0 .*increasing to 1\b/],
    ['ThreadLimit abc', 'error', whole('ThreadLimit', 1, $thread_max, 'abc'), 'stricter'],
    ['ThreadLimit 10\nThreadsPerChild 20\nMaxRequestWorkers 160', 'warn',
     qr/WARNING: ThreadsPerChild of 20 exceeds ThreadLimit of 10\b.*decreasing to 10\b/],
    ['ServerLimit 16', 'ok'],
    ['ServerLimit 30000', 'warn', qr/WARNING: ServerLimit of 30000 exceeds .*decreasing to 20000\b/],
    ['ServerLimit 0\nMaxRequestWorkers 25', 'warn', qr/WARNING: ServerLimit of 0 .*increasing to 1\b/],
    ['ServerLimit abc', 'error', whole('ServerLimit', 1, 20000, 'abc'), 'stricter'],
    ['MaxRequestWorkers 150', 'ok'],
    ['MaxRequestWorkers many', 'error', whole('MaxRequestWorkers', 1, 2147483647, 'many'), 'stricter'],
    ['ThreadsPerChild 25\nMaxRequestWorkers 10', 'warn',
     qr/WARNING: MaxRequestWorkers of 10 is less than ThreadsPerChild of 25, increasing to 25\b/],
    ['ThreadsPerChild 25\nMaxRequestWorkers 0', 'warn',
     qr/WARNING: MaxRequestWorkers of 0 is less than ThreadsPerChild of 25, increasing to 25\b/],
    ['ThreadsPerChild 25\nMaxRequestWorkers 110', 'warn',
     qr/WARNING: MaxRequestWorkers of 110 is not a.* multiple of ThreadsPerChild of 25, decreasing to\D*\b100\b/],
    # Stock says the workers go down to ServerLimit x ThreadsPerChild; Loom
    # says the same in other words: both must name the 50 that results.
    ['ServerLimit 2\nThreadsPerChild 25\nMaxRequestWorkers 100', 'warn',
     { loom => qr/WARNING: MaxRequestWorkers of 100 needs 4 processes but ServerLimit is 2\b.*= 50 workers/,
       stock => qr/WARNING: MaxRequestWorkers of 100 would require 4 servers .*ServerLimit of 2, decreasing to 50\b/ }],
    ['MaxClients 150', 'ok'],
    ['MaxClients x', 'error', whole('MaxClients', 1, 2147483647, 'x'), 'stricter'],
    ['MinSpareServers 3', 'error', qr/Invalid command 'MinSpareServers'/],
    ['MaxSpareServers 3', 'error', qr/Invalid command 'MaxSpareServers'/],
);

my @worker = (
    @threaded,
    ['ThreadLimit 30000', 'warn', qr/WARNING: ThreadLimit of 30000 exceeds .*decreasing to 20000\b/],
    ['Mutex default mpm-accept', 'ok'],
    ['AsyncRequestWorkerFactor 2', 'error', qr/Invalid command 'AsyncRequestWorkerFactor'/],
);

my $arwf = { loom => qr/AsyncRequestWorkerFactor must be a number above 0/ };
my @event = (
    @threaded,
    ['ThreadLimit 30000', 'ok'],
    ['ThreadLimit 200000', 'warn', qr/WARNING: ThreadLimit of 200000 exceeds .*decreasing to 100000\b/],
    ['Mutex default mpm-accept', 'error', qr/Mutex type mpm-accept is not valid/],
    ['AsyncRequestWorkerFactor 2', 'ok'],
    ['AsyncRequestWorkerFactor 1.5', 'ok'],
    ['AsyncRequestWorkerFactor 0.5', 'ok'],
    ['AsyncRequestWorkerFactor 0', 'error', { %$arwf, stock => qr/AsyncRequestWorkerFactor argument must be a positive number/ }],
    ['AsyncRequestWorkerFactor -1', 'error', { %$arwf, stock => qr/AsyncRequestWorkerFactor argument must be a positive number/ }],
    ['AsyncRequestWorkerFactor junk', 'error', { %$arwf, stock => qr/error parsing value/ }],
    ['AsyncRequestWorkerFactor 2x', 'error', { %$arwf, stock => qr/error parsing value/ }],
    ['LoomWaitForHead Off', 'ok', undef, 'absent'],
    ['LoomWaitForHead maybe', 'error', { loom => qr/LoomWaitForHead/ }, 'absent'],
);

my %rows = (prefork => \@prefork, worker => \@worker, event => \@event);
my @rows = (@{ $rows{$model} }, @common);

my $twin_built = -f (Loom::Server::mpm_module($twin))[1];
my $n = 0;
for my $r (@rows) {
    my $kind = $r->[3] // 'same';
    $n += $stock ? ($kind eq 'same' ? 2 : 1)
                 : ($kind eq 'same' ? 3 : 2);
}
plan tests => $n;

sub pattern {
    my ($re, $side) = @_;
    return $re unless ref $re eq 'HASH';
    return $re->{$side};
}

my (@stricter, @absent);
for my $row (@rows) {
    my ($conf, $expect, $re, $kind) = @$row;
    $kind //= 'same';
    (my $label = $conf) =~ s/\\n/; /g;
    $conf =~ s/\\n/\n/g;
    my ($exit, $out) = Loom::Server::config_test(mpm => $mpm, conf => "$conf\n");

    if ($stock && $kind ne 'same') {
        if ($kind eq 'stricter') {
            # Loom is stricter here on purpose; stock reads the junk as a number.
            is $exit, 0, "$label: stock accepts it (atoi), Loom refuses it: loom stricter"
                or diag $out;
        }
        else {
            like $out, qr/Invalid command/, "$label: stock has no such directive"
                or diag $out;
        }
        next;
    }
    push @stricter, $label if $kind eq 'stricter';
    push @absent, $label if $kind eq 'absent';
    my $side = $stock ? 'stock' : 'loom';
    my $pat = pattern($re, $side);
    if ($expect eq 'error') {
        isnt $exit, 0, "$label: refused" or diag $out;
        if ($pat) {
            like $out, $pat, "$label: says why";
        }
        else {
            like $out, qr/Syntax error on line/, "$label: a syntax error";
        }
    }
    else {
        is $exit, 0, "$label: accepted" or diag $out;
        if ($expect eq 'warn') {
            like $out, $pat, "$label: warns, naming the directive and the value used";
        }
        else {
            unlike $out, qr/WARNING/, "$label: no warning";
        }
    }
    next if $stock || $kind ne 'same';
    # The same config against the stock twin: the same acceptance.
    SKIP: {
        skip "$twin is not installed", 1 unless $twin_built;
        my ($texit, $tout) = Loom::Server::config_test(mpm => $twin, conf => "$conf\n");
        is(($texit == 0 ? 'accepted' : 'refused'), ($exit == 0 ? 'accepted' : 'refused'),
           "$label: acceptance matches $twin") or diag $tout;
    }
}
note "loom stricter than stock (only Loom's side asserted): " . join(', ', @stricter) if @stricter;
note "not in Debian's stock MPM: " . join(', ', @absent) if @absent;
