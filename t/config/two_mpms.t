# Two MPMs loaded at once make `apache2 -t` fail (AH00534), whichever two.
use strict;
use warnings;
use Test::More;
use Loom::Server;

my $mods = '/usr/lib/apache2/modules';
my $which = $ENV{LOOM_MPM} // 'prefork';
my ($sym, $so) = Loom::Server::mpm_module($which);
my @others = grep { !/ \Q$sym\E / } ("LoadModule mpm_event_module $mods/mod_mpm_event.so");
for my $m (qw(prefork worker event)) {
    my ($osym, $oso) = Loom::Server::mpm_module($m);
    push @others, "LoadModule $osym $oso" if -f $oso && $osym ne $sym;
}
plan tests => 2 * @others;
for my $line (@others) {
    my ($exit, $out) = Loom::Server::config_test(conf => "$line\n");
    isnt $exit, 0, "refused: $line";
    like $out, qr/AH00534/, 'with AH00534';
}
