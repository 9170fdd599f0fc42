package Loom::Bench::Machine;
# Facts about the machine and the tools, for the report's header.
use v5.36;
use Exporter 'import';
use Loom::Bench::Util qw(run_bounded slurp);

our @EXPORT_OK = qw(machine_facts load_average);

# The 1-minute load average: other work on the machine skews every figure.
sub load_average () { (split ' ', slurp('/proc/loadavg') // '?')[0] }

sub _cmd (@cmd) {
    my $r = run_bounded(limit => 10, cmd => \@cmd);
    return "$r->{out}$r->{err}";
}

sub machine_facts () {
    my %f;
    chomp($f{nproc} = _cmd('nproc'));
    chomp($f{kernel} = _cmd('uname', '-r'));
    ($f{cpu}) = (slurp('/proc/cpuinfo') // '') =~ /^model name\s*:\s*(.+)$/m;
    $f{cpu} //= 'unknown';
    ($f{apache}) = _cmd('/usr/sbin/apache2', '-v') =~ m{Server version:\s*(\S+(?: \S+)?)};
    ($f{nginx}) = _cmd('/usr/sbin/nginx', '-v') =~ m{nginx version:\s*(\S+)};
    ($f{wrk}) = _cmd('wrk', '--version') =~ m{^(wrk \S+)}m;
    ($f{h2load}) = _cmd('h2load', '--version') =~ m{^(h2load \S+)}m;
    ($f{mem}) = (slurp('/proc/meminfo') // '') =~ /^MemTotal:\s*(\d+)/m;
    $f{mem} = sprintf '%.1f GiB', ($f{mem} // 0) / 1024 / 1024;
    $f{load_start} = load_average();
    $_ //= 'not found' for values %f;
    return \%f;
}

1;
