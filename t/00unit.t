#!/usr/bin/perl
# Builds and runs the C unit tests of the core's pure parts (t/unit/*_test.c;
# each #includes the .c file it tests) and passes their TAP through.
use v5.36;
use Test::More;
use File::Basename qw(dirname basename);
use File::Temp qw(tempdir);
use Cwd qw(abs_path);

my $top = abs_path(dirname(__FILE__) . '/..');
my $tmp = tempdir('loom-unit-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chomp(my $inc = `apxs -q INCLUDEDIR 2>/dev/null` || '/usr/include/apache2');
chomp(my $apr = `apr-1-config --includes --cppflags`);
my @files = sort glob "$top/t/unit/*_test.c";
plan tests => scalar @files;

for my $src (@files) {
    my $name = basename($src, '.c');
    my $bin = "$tmp/$name";
    my $cc = "cc -std=gnu11 -g -Wall -Wextra -Wno-unused-parameter "
           . ($ENV{LOOM_UNIT_CFLAGS} // '') . ' '
           . "-I$top/t/unit -I$top/include -I$inc $apr -o $bin $src "
           . "-lapr-1 -laprutil-1 -lpthread 2>&1";
    my $err = `$cc`;
    subtest $name => sub {
        if ($? != 0) {
            fail("compiles");
            diag($err);
            return;
        }
        my @tap = `$bin`;
        my $status = $?;
        my ($plan) = map { /^1\.\.(\d+)/ ? $1 : () } @tap;
        ok($plan, "$name has tests") or return;
        for (@tap) {
            if (/^(not )?ok \d+ - (.*)$/) { ok(!$1, $2) }
            elsif (/^# (.*)$/) { diag($1) }
        }
        is($status, 0, "$name exits 0");
    };
}
