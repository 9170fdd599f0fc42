package Loom::Bench::Opts;
# Command line and the two sets of sizes: the default run (about 10 minutes
# on 2 cores with all three Loom MPMs) and --quick (about 2 minutes).
use v5.36;
use Exporter 'import';
use Getopt::Long qw(GetOptionsFromArray);
use Loom::Bench::Util qw(fail);

our @EXPORT_OK = qw(parse_options usage @SCENARIOS);

our @SCENARIOS = qw(keepalive close files tls tls-stall tls-slowloris idle slow restart ramp php metrics);

my %DEFAULT = (duration => 3, rounds => 3, rounds_other => 1, idle => 5000, idle_steps => 5,
               slow => 1000, restart_duration => 6, ramp_window => 2, ramp_limit => 10,
               open_limit => 8, open_budget => 12, stall => 1, h2_streams => 10, settle => 0.5);
my %QUICK   = (duration => 1, rounds => 1, rounds_other => 1, idle => 500, idle_steps => 1,
               slow => 200, restart_duration => 3, ramp_window => 1, ramp_limit => 4,
               open_limit => 4, open_budget => 4, stall => 0.5, h2_streams => 10, settle => 0.2);

sub usage () {
    return <<"END";
usage: bench/run [--quick] [--scenarios LIST] [--mpms LIST] [--out DIR] [--no-nginx]
                 [--duration S] [--rounds N] [--idle N] [--slow N] [--keep-tmp]
                 [--prefork-classic]

Benchmarks each built Loom MPM against its stock twin (and nginx) and writes
DIR/benchmarks.md and DIR/img/*.png (DIR: docs/ of the tree).
  --quick          short runs, one round, fewer connections (under 2 minutes)
  --scenarios L    comma-separated names or numbers: @{[ join ',', map { ($_ + 1) . "=$SCENARIOS[$_]" } 0 .. $#SCENARIOS ]}
  --mpms L         prefork,worker,event; an MPM named here without a Loom
                   build is measured on its stock side only
  --out DIR        where the report and plots go (default: docs/)
  --no-nginx       leave the nginx reference out
  --duration S     seconds per throughput run (default $DEFAULT{duration}, quick $QUICK{duration})
  --rounds N       interleaved rounds of the throughput scenarios (default $DEFAULT{rounds}, quick $QUICK{rounds})
  --idle N         idle connections (default $DEFAULT{idle}, quick $QUICK{idle})
  --slow N         slowloris connections, stalled TLS handshakes in tls-stall and slow
                   TLS heads in tls-slowloris (default $DEFAULT{slow}, quick $QUICK{slow})
  --keep-tmp       keep the servers' temporary ServerRoots (logs, configs)
  --prefork-classic  run Loom's prefork with LoomParkConnections Off (a process
                   per connection, as stock) instead of its default
END
}

sub _list ($s) { [grep { length } split /[,\s]+/, $s // ''] }

sub parse_options (@argv) {
    my %cli;
    GetOptionsFromArray(\@argv, \%cli, 'quick', 'scenarios=s', 'mpms=s', 'out=s', 'no-nginx',
        'duration=i', 'rounds=i', 'idle=i', 'slow=i', 'keep-tmp', 'prefork-classic',
        'help|h')
        or fail "bad options\n" . usage();
    if ($cli{help}) { print usage(); exit 0 }
    fail "unexpected arguments: @argv\n" . usage() if @argv;
    my %o = %{ $cli{quick} ? \%QUICK : \%DEFAULT };
    $o{quick} = $cli{quick} ? 1 : 0;
    for my $k (qw(duration rounds idle slow)) { $o{$k} = $cli{$k} if defined $cli{$k} }
    fail "--duration must be whole seconds from 1 to 600 (wrk takes whole seconds)" if $o{duration} < 1 || $o{duration} > 600;
    fail "--rounds must be between 1 and 50" if $o{rounds} < 1 || $o{rounds} > 50;
    fail "--idle must be between 10 and 100000" if $o{idle} < 10 || $o{idle} > 100_000;
    fail "--slow must be between 1 and 100000" if $o{slow} < 1 || $o{slow} > 100_000;
    $o{idle_steps} = 1 if $o{idle} < $o{idle_steps} * 10;
    my @sc;
    for my $s (@{ _list($cli{scenarios}) }) {
        $s = $SCENARIOS[$s - 1] if $s =~ /^\d+$/ && $s >= 1 && $s <= @SCENARIOS;
        fail "unknown scenario '$s' (use: @SCENARIOS)" unless grep { $_ eq $s } @SCENARIOS;
        push @sc, $s unless grep { $_ eq $s } @sc;
    }
    $o{scenarios} = @sc ? [grep { my $x = $_; grep { $_ eq $x } @sc } @SCENARIOS] : [@SCENARIOS];
    $o{mpms} = $cli{mpms} ? _list($cli{mpms}) : undef;
    $o{nginx} = $cli{'no-nginx'} ? 0 : 1;
    $o{out} = $cli{out};
    $o{keep_tmp} = $cli{'keep-tmp'} ? 1 : 0;
    $o{prefork_classic} = $cli{'prefork-classic'} ? 1 : 0;
    return \%o;
}

1;
