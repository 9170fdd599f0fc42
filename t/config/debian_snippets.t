# The Debian snippets (conf-snippets/mpm_loom_*.load and .conf) on a
# scratch copy of /etc/apache2: a2enmod refuses our MPM while another MPM
# is enabled, enables it once that one is off, apache2 then loads it
# (-t passes, -V names it), a sibling Loom MPM is refused while it is on,
# and a2dismod removes it cleanly.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Loom::Server;

my $m = $ENV{LOOM_MPM} // 'prefork';
plan skip_all => "stock MPMs ship their own snippets" if $m =~ /^stock-/;
my $top = Loom::Server::top();
my (undef, $so, $name) = Loom::Server::mpm_module($m);
plan tests => 13;
ok -f "$top/conf-snippets/mpm_loom_$m.load", "mpm_loom_$m.load exists"
    or BAIL_OUT("no Debian snippet for the MPM under test");

my $tmp = tempdir('loom-debian-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $etc = "$tmp/etc";
system('cp', '-r', '/etc/apache2', $etc) == 0 or die "copy /etc/apache2";
mkdir "$tmp/$_" for qw(state run lock log);

# Our snippets, pointing at the modules this suite built.
for my $sib (qw(prefork worker event)) {
    for my $ext (qw(load conf)) {
        my $src = "$top/conf-snippets/mpm_loom_$sib.$ext";
        next unless -f $src;
        my (undef, $sib_so) = Loom::Server::mpm_module($sib);
        open my $in, '<', $src or die $!;
        open my $out, '>', "$etc/mods-available/mpm_loom_$sib.$ext" or die $!;
        while (<$in>) {
            s{/usr/lib/apache2/modules/mod_mpm_loom_\w+\.so}{$sib_so};
            print $out $_;
        }
    }
}

local $ENV{APACHE_CONFDIR} = $etc;
local $ENV{APACHE_STATE_DIRECTORY} = "$tmp/state";
my $env = ". $etc/envvars; export APACHE_RUN_DIR=$tmp/run "
        . "APACHE_LOCK_DIR=$tmp/lock APACHE_LOG_DIR=$tmp/log "
        . "APACHE_PID_FILE=$tmp/run/apache2.pid;";
sub sh { my $out = `$env $_[0] 2>&1`; return ($? >> 8, $out) }
my $mpm_links = sub { join ' ', sort map { m{/(mpm_\w+)\.load$} ? $1 : () }
                      glob "$etc/mods-enabled/mpm_*.load" };

sh('a2dismod -q -f mpm_worker mpm_prefork');
sh('a2enmod -q mpm_event');
my ($rc, $out) = sh("a2enmod mpm_loom_$m");
isnt $rc, 0, 'refused while stock mpm_event is enabled';
like $out, qr/conflict/i, 'a2enmod names the conflict';

($rc, $out) = sh("a2dismod -q mpm_event && a2enmod mpm_loom_$m");
is $rc, 0, "a2enmod mpm_loom_$m after a2dismod mpm_event" or diag $out;
is $mpm_links->(), "mpm_loom_$m", 'exactly our MPM is enabled';
ok -l "$etc/mods-enabled/mpm_loom_$m.conf", 'with its .conf';

($rc, $out) = sh("apache2 -t -d $etc -f $etc/apache2.conf");
is $rc, 0, 'apache2 -t accepts the Debian tree with it' or diag $out;
($rc, $out) = sh("apache2 -V -d $etc -f $etc/apache2.conf");
like $out, qr/Server MPM:\s+\Q$name\E/, "-V shows $name";

my ($sib) = grep { $_ ne $m && -f "$etc/mods-available/mpm_loom_$_.load" }
            qw(prefork worker event);
SKIP: {
    skip 'no sibling Loom MPM built', 2 unless $sib;
    ($rc, $out) = sh("a2enmod mpm_loom_$sib");
    isnt $rc, 0, "mpm_loom_$sib refused while mpm_loom_$m is on";
    is $mpm_links->(), "mpm_loom_$m", 'still only ours';
}

($rc, $out) = sh("a2dismod mpm_loom_$m");
is $rc, 0, 'a2dismod' or diag $out;
ok !-e "$etc/mods-enabled/mpm_loom_$m.load"
   && !-e "$etc/mods-enabled/mpm_loom_$m.conf", 'links removed';
($rc, $out) = sh('a2enmod -q mpm_event');
is $rc, 0, 'and the stock MPM comes back';
