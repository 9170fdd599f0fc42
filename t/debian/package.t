# As root only (t/run-suite runs it before it drops to nobody): the Debian
# package in a scratch Debian 12 root (t/debian/make-root, t/debian/in-root),
# never in this machine's /etc. It builds the package (make deb: lintian has
# no error), installs it (nothing switches), runs each Loom MPM enabled the
# Debian way, then loom-takeover prefork with the real libapache2-mod-php8.2
# (a PHP page served by Loom, a2query -M, a reinstall of mod_php keeps it),
# --undo, and apt-get remove and purge leaving nothing behind.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use FindBin;

plan skip_all => 'needs root (t/run-suite runs it before dropping to nobody)'
    if $> != 0;
my $top = "$FindBin::Bin/../..";
my $tmp = tempdir('loom-deb-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $root = `$top/t/debian/make-root`;
chomp $root;
ok $? == 0 && -d $root, 'the scratch Debian 12 root' or BAIL_OUT('no root');

my $out = `make -s -C $top deb 2>&1`;
is $?, 0, 'make deb builds the package and lintian reports no error'
    or BAIL_OUT($out);
my ($deb) = glob "$top/build/deb/libapache2-mod-mpm-loom_*_*.deb";
system("mkdir -p $tmp/state/upper/tmp && cp $deb $tmp/state/upper/tmp/loom.deb");

sub inroot {       # (exit status, output) of a shell command in the root
    my $o = `$top/t/debian/in-root $root $tmp/state '$_[0]' 2>&1`;
    return ($? >> 8, $o);
}
my $page = 'curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1/';
sub serve {        # starts apache2 as Debian does, fetches URL, stops it
    my ($url) = @_;
    return inroot("apache2ctl start && sleep 1 && curl -s http://127.0.0.1$url;"
        . ' echo; apache2ctl -V | grep "Server MPM"; apache2ctl stop; sleep 1;'
        . ' cat /var/log/apache2/error.log; : > /var/log/apache2/error.log');
}

my ($rc, $o) = inroot('apt-get install -y -q /tmp/loom.deb && a2query -M');
is $rc, 0, 'apt-get install of the package' or diag $o;
like $o, qr/^prefork$/m, 'installing switched no MPM (mod_php\'s prefork stays)';

# Side by side, each Loom MPM the Debian way, switching Loom to Loom.
($rc, $o) = inroot('a2dismod -q php8.2 mpm_prefork');
my $prev;
for my $m (qw(prefork worker event)) {
    my $off = $prev ? "a2dismod -q mpm_loom_$prev && " : '';
    ($rc, $o) = inroot("${off}a2enmod -q mpm_loom_$m && a2query -M");
    # a2query -M asks apache2ctl -V, which reports the model's name.
    like $o, qr/^$m$/m, "a2enmod mpm_loom_$m; a2query -M says $m";
    ($rc, $o) = serve('/');
    like $o, qr/Apache2 Debian Default Page/, "mpm_loom_$m serves Debian's page";
    like $o, qr/Server MPM:\s+$m\n/, "-V reports the model name $m";
    like $o, qr/\[mpm_loom_$m:notice\].*LOOM0415/, "and it is Loom's code";
    $prev = $m;
}
($rc, $o) = inroot('a2enmod -q mpm_event; apache2ctl configtest; a2dismod -q mpm_event');
like $o, qr/Two MPMs are enabled: mpm_loom_event and mpm_event/,
    'a2enmod mpm_event beside mpm_loom_event: configtest names both';
($rc, $o) = inroot('a2enmod -q mpm_loom_prefork 2>&1; a2query -M');
like $o, qr/conflicts/i, 'and a2enmod mpm_loom_prefork beside it is refused';

# Taking over mpm_prefork for mod_php, from a side-by-side Loom MPM.
($rc, $o) = inroot('a2dismod -q mpm_loom_event && a2enmod -q mpm_loom_prefork'
    . ' && loom-takeover prefork && a2enmod -q php8.2 && a2query -M'
    . ' && echo "<?php echo 6 * 7;" > /var/www/html/t.php');
is $rc, 0, 'loom-takeover prefork, then a2enmod php8.2' or diag $o;
like $o, qr/^prefork$/m, 'a2query -M says prefork';
($rc, $o) = serve('/t.php');
like $o, qr/^42$/m, 'a PHP page is served';
like $o, qr/\[mpm_prefork:notice\].*LOOM0415/, 'by Loom\'s prefork';
($rc, $o) = inroot('apt-get install -y -q --reinstall libapache2-mod-php8.2 2>&1;'
    . ' a2query -M; ls /etc/apache2/mods-enabled');
unlike $o, qr/Enabling module|Switch to/, 'reinstalling mod_php switches nothing';
like $o, qr/^prefork$/m, 'a2query -M still says prefork';
($rc, $o) = serve('/t.php');
like $o, qr/\[mpm_prefork:notice\].*LOOM0415/s, 'and Loom still serves it';
like $o, qr/^42$/m, 'PHP too';

($rc, $o) = inroot('loom-takeover --undo prefork && grep LoadModule '
    . '/etc/apache2/mods-available/mpm_prefork.load');
like $o, qr{mod_mpm_prefork\.so}, '--undo: Debian\'s mpm_prefork.load is back';
($rc, $o) = serve('/t.php');
like $o, qr/^42$/m, 'stock prefork serves PHP';
unlike $o, qr/LOOM0415/, 'without Loom';

# Removal: a takeover and a side-by-side Loom MPM both go back to stock.
($rc, $o) = inroot('loom-takeover prefork && apt-get remove -y -q '
    . 'libapache2-mod-mpm-loom && a2query -M && dpkg-divert --list');
is $rc, 0, 'apt-get remove with mpm_prefork taken over' or diag $o;
unlike $o, qr/^diversion of .* by libapache2-mod-mpm-loom$/m, 'no diversion is left';
($rc, $o) = serve('/t.php');
like $o, qr/^42$/m, 'stock prefork serves PHP after the removal';
($rc, $o) = inroot('apt-get install -y -q /tmp/loom.deb && a2dismod -q php8.2'
    . ' mpm_prefork && a2enmod -q mpm_loom_worker && apt-get purge -y -q '
    . 'libapache2-mod-mpm-loom && a2query -M; find / -xdev -name "*loom*"'
    . ' ! -path "/tmp/*" ! -path "/proc/*"');
like $o, qr/^worker$/m, 'removing with mpm_loom_worker on switches to stock worker';
unlike $o, qr{^/}m, 'after purge no file named *loom* is left' or diag $o;
done_testing;
