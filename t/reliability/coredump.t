# What it proves: a child that crashes leaves its core where the admin
# asked with CoreDumpDirectory, as under stock httpd, and the parent's
# LOOM0401 line says it dumped a core and where.
#
# httpd's fatal-signal handler moves the crashing process into
# CoreDumpDirectory before the signal kills it, and mod_unixd marks a
# child that changed user as dumpable again when that directive is set.
# The kernel writes the core into the working directory only when its
# core_pattern is a relative name; a pattern that pipes cores to a
# handler (systemd-coredump, apport) or names an absolute folder sends it
# elsewhere for every program, so the test cannot look for it here then.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
use Loom::Server;

my $mpm = Loom::Server::mpm_or_skip();
my $pattern = do { open my $fh, '<', '/proc/sys/kernel/core_pattern'; <$fh> } // '';
chomp $pattern;
plan skip_all => "kernel core_pattern '$pattern' does not write into the working directory"
    if $pattern =~ m{^[|/]};
plan skip_all => 'AddressSanitizer builds do not dump cores'
    if ($ENV{LOOM_MODULES_DIR} // '') =~ /asan/;
plan skip_all => 'the hard limit forbids core files (ulimit -Hc is 0)'
    if `sh -c 'ulimit -Hc'` =~ /^0$/;

my $s = Loom::Server->new(conf => "CoreDumpDirectory \@DIR\@/cores\nStartServers 1\n");
my $cores = $s->dir . '/cores';
mkdir $cores;
chmod 01777, $cores;
$s->start(core => 1);

my ($victim) = $s->child_pids;
ok($victim, "a child to crash (pid $victim)");
kill 'SEGV', $victim;
my $line;
$s->wait_until(sub { ($line) = grep { /LOOM0401|AH00051|AH00052/ } $s->crashes; $line }, 20);
ok($line, 'the parent reports the crash') or diag($s->errlog);
opendir(my $dh, $cores) or die "$cores: $!";
my @files = grep { /^core/ } readdir $dh;
closedir $dh;
ok(@files, "a core file in CoreDumpDirectory: @files");
if ($mpm !~ /^stock-/) {
    like($line // '', qr/LOOM0401: child pid $victim .*died on signal 11 .*core dumped in \Q$cores\E;/,
         'LOOM0401 says the core was dumped, and where');
}
unlink map { "$cores/$_" } @files;
ok($s->wait_until(sub { scalar(grep { $_ != $victim } $s->child_pids) }, 10),
   'a replacement child runs');
done_testing();
