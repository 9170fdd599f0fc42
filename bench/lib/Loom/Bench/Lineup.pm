package Loom::Bench::Lineup;
# Which servers take part: each Loom MPM that is built (or named with
# --mpms), its stock twin, and nginx as an outside reference.
use v5.36;
use Exporter 'import';
use Loom::Bench::Util qw(fail);
use Loom::Bench::ApacheConf;

our @EXPORT_OK = qw(lineup);
our @MPMS = qw(prefork worker event);

# Returns [ { name, kind, mpm, so, module, built }, ... ] in pair order,
# loom before stock, nginx last; and a list of notes.
sub lineup (%a) {
    my $root = $a{root};
    my %built = map { m{modules/(\w+)/mod_mpm_loom_\1\.so$} ? ($1 => $_) : () }
                glob "$root/modules/*/mod_mpm_loom_*.so";
    my @notes;
    my @want;
    if ($a{mpms}) {
        for my $m (@{ $a{mpms} }) {
            fail "unknown MPM '$m' (use: @MPMS)" unless grep { $_ eq $m } @MPMS;
            push @want, $m;
            push @notes, "Loom $m is not built (modules/$m/mod_mpm_loom_$m.so): only the stock $m was measured"
                unless $built{$m};
        }
    } else {
        @want = grep { $built{$_} } @MPMS;
        fail "no Loom MPM is built (no modules/*/mod_mpm_loom_*.so): run make first, "
           . "or name MPMs with --mpms to measure the stock ones alone" unless @want;
        push @notes, "Loom $_ is not built yet and was skipped" for grep { !$built{$_} } @MPMS;
    }
    my @l;
    for my $m (@want) {
        push @l, { name => "loom-$m", kind => 'loom', mpm => $m, so => $built{$m},
                   module => "mpm_loom_${m}_module",
                   extra => $m eq 'prefork' && $a{prefork_classic}
                            ? "LoomParkConnections Off\n" : '' } if $built{$m};
        my $so = "$Loom::Bench::ApacheConf::MODDIR/mod_mpm_$m.so";
        fail "stock MPM $so is missing (is apache2 installed?)" unless -f $so;
        push @l, { name => "stock-$m", kind => 'stock', mpm => $m, so => $so,
                   module => "mpm_${m}_module" };
    }
    if ($a{nginx}) {
        fail "nginx is not installed (/usr/sbin/nginx); use --no-nginx to leave it out"
            unless -x '/usr/sbin/nginx';
        push @l, { name => 'nginx', kind => 'nginx', mpm => 'nginx' };
    }
    return (\@l, \@notes);
}

1;
