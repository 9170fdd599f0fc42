#!/usr/bin/perl
# The benchmark driver must keep working: run it in its quickest form on one
# scenario (keepalive) and one MPM pair, into a temporary directory, and check
# that the report has the table with numbers in it. Needs no root.
use v5.36;
use Test::More;
use File::Temp qw(tempdir);
use FindBin;

my $root = "$FindBin::RealBin/../..";
my $run = "$root/bench/run";

for my $tool (qw(wrk taskset timeout curl gnuplot)) {
    plan skip_all => "$tool is not installed (make deps)"
        unless grep { -x "$_/$tool" } split /:/, "$ENV{PATH}:/usr/bin:/usr/sbin";
}
plan skip_all => 'apache2 is not installed (make deps)' unless -x '/usr/sbin/apache2';
my $cpus = `nproc --all 2>/dev/null` // 0;
plan skip_all => 'needs 2 CPUs (server on CPU 0, load on CPU 1)' if $cpus < 2;

# One Loom MPM that is built (prefork first: the simplest); with none, the
# stock prefork alone keeps the driver itself tested.
my @built = grep { -f "$root/modules/$_/mod_mpm_loom_$_.so" } qw(prefork worker event);
my $mpm = $built[0] // 'prefork';

my $out = tempdir('loom-bench-smoke-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my @cmd = ('timeout', '300', $run, '--quick', '--scenarios', 'keepalive',
           '--mpms', $mpm, '--no-nginx', '--out', $out);
my $log = qx{@cmd 2>&1};
is $?, 0, "bench/run --quick --scenarios keepalive --mpms $mpm exits 0" or diag $log;

my $md = do { local (@ARGV, $/) = "$out/benchmarks.md"; <> } // '';
ok length $md, 'benchmarks.md written to --out' or diag $log;
like $md, qr/^## Machine and run/m, 'report has the machine section';
like $md, qr/^### keepalive:/m, 'report has the keepalive table';

# The keepalive table's row (the targets summary at the top has rows that
# start with the MPM's name too).
my ($table) = $md =~ /^### keepalive:.*?\n(.*?)(?=^### |\z)/ms;
my ($row) = ($table // '') =~ /^(\| \Q$mpm\E \|.*)$/m;
ok $row, "keepalive table has a row for $mpm" or diag $md;
my (undef, $loom, $stock, $ratio) = split / \| /, $row // '';
like $stock // '', qr/(?:^|>)[1-9][\d,]* req\/s/, 'stock figure is a positive rate';
like $stock // '', qr/CPU [\d.]+ µs\/req/, 'stock CPU per request is there';
like $stock // '', qr/ctx switches [\d.]+ \/req/, 'stock context switches per request are there';
if (@built) {
    like $loom, qr/(?:^|>)[\d,]+ req\/s/, 'Loom figure is a rate';
    like $ratio, qr/req\/s \d+\.\d\dx/, 'ratio Loom/stock is there';
} else {
    like $loom, qr/not built/, 'no Loom MPM built: its column says so';
}
ok -s "$out/img/rps.png", 'throughput plot written';
ok -s "$out/img/latency.png", 'latency plot written';

done_testing;
