# The Debian snippets (conf-snippets/mpm_loom_*.load and .conf) on a
# pristine /etc/apache2, unpacked from the apache2 package of the installed
# version (never this machine's live one) and enabled as a fresh install
# enables it: a2enmod refuses our MPM while another MPM is enabled, enables
# it once that one is off, apache2 then loads it (-t passes, -V names the
# model), a sibling Loom MPM is refused while it is on, a stock MPM enabled
# beside it makes apache2 -t name the two .load files and the fix, and
# a2dismod removes it cleanly. t/run-suite (as root) finds or downloads the
# .deb and passes it in LOOM_APACHE2_DEB.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Loom::Server;

my $m = $ENV{LOOM_MPM} // 'prefork';
plan skip_all => "stock MPMs ship their own snippets" if $m =~ /^stock-/;
my $top = Loom::Server::top();
my (undef, $so, $name) = Loom::Server::mpm_module($m);
plan tests => 16;
ok -f "$top/conf-snippets/mpm_loom_$m.load", "mpm_loom_$m.load exists"
    or BAIL_OUT("no Debian snippet for the MPM under test");

my $tmp = tempdir('loom-debian-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $deb = $ENV{LOOM_APACHE2_DEB} // apache2_deb();
ok defined $deb && -r $deb, 'the apache2 package of the installed version'
    or BAIL_OUT('no apache2 .deb: run t/run-suite as root once, or '
                . "'apt-get download apache2' into /var/cache/loom/debs");
system('dpkg-deb', '-x', $deb, "$tmp/pkg") == 0 or die "dpkg-deb -x $deb";
my $etc = "$tmp/pkg/etc/apache2";
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

# What apache2's postinst enables on a fresh install.
my ($rc, $out) = sh('a2enmod -q mpm_event authz_host auth_basic access_compat '
    . 'authn_file authz_user alias dir autoindex env mime negotiation setenvif '
    . 'filter deflate status reqtimeout && a2enconf -q charset '
    . 'localized-error-pages other-vhosts-access-log security serve-cgi-bin '
    . '&& a2ensite -q 000-default');
is $rc, 0, 'the pristine tree enabled as a fresh install does' or diag $out;
($rc, $out) = sh("a2enmod mpm_loom_$m");
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

# Debian's mpm_*.load do not name Loom, so this a2enmod goes through; the
# snippet's .conf then names both .load files and the fix.
($rc, $out) = sh("a2enmod -q mpm_$m && apache2 -t -d $etc -f $etc/apache2.conf");
like $out, qr/Two MPMs are enabled: mpm_loom_$m and mpm_$m .*a2dismod mpm_$m/,
    "a stock mpm_$m beside it: apache2 -t names both and the fix" or diag $out;
sh("a2dismod -q mpm_$m");

($rc, $out) = sh("a2dismod mpm_loom_$m");
is $rc, 0, 'a2dismod' or diag $out;
ok !-e "$etc/mods-enabled/mpm_loom_$m.load"
   && !-e "$etc/mods-enabled/mpm_loom_$m.conf", 'links removed';
($rc, $out) = sh('a2enmod -q mpm_event');
is $rc, 0, 'and the stock MPM comes back';


# The cached .deb of the apache2 version installed here, if there is one.
sub apache2_deb {
    my $ver = `dpkg-query -W -f='\${Version}' apache2 2>/dev/null`;
    my $arch = `dpkg --print-architecture`;
    chomp $arch;
    $ver =~ s/:/%3a/;
    my ($f) = grep { -r } map { "$_/apache2_${ver}_$arch.deb" }
              qw(/var/cache/loom/debs /var/cache/apt/archives);
    return $f;
}
