package Loom::Fault;
# Helpers for the fault tests (t/reliability/faults_*.t): load in the
# background, requests bounded in time, what the kernel says about a
# process (CPU time, descriptors, connections, limits, SysV IPC), and
# mod_status's pages.
use v5.36;
use Exporter 'import';
use POSIX ();
use Time::HiRes qw(sleep time);
use IO::Socket::INET;
use IO::Select;
use Loom::Proc ();

our @EXPORT_OK = qw(background collect
                    prlimit_get prlimit_set ipc_snapshot log_lines
                    running_kids);

=head1 Loom::Fault

Load in the background: C<background(sub { ...; return {k => v} })> runs
the sub in a forked process and returns a handle; C<collect($h)> waits for
it and returns the hash (flat: numbers and strings); wrk is Loom::Wrk's.

Requests that cannot hang are Loom::HTTP's C<get_raw> and Loom::Load's
C<request_loop>: their whole exchange is bounded. mod_status's pages are
Loom::Server's (C<status_auto>, C<status_rows>).

What the kernel says about a process beyond Loom::Proc's /proc figures:
C<prlimit_get($pid, 'nofile')>: (soft, hard);
C<prlimit_set($pid, 'nproc', $soft)> sets the soft limit (1 on success).
C<ipc_snapshot()>: the SysV shared memory segments { id => creator pid }
and semaphore sets { id => [pids of the last operations] } owned by the
current user.

The server: C<log_lines($server, qr/.../)>: the error log lines matching.
C<running_kids($server)>: child pids that are not zombies.

=cut

sub background ($code) {
    pipe(my $rd, my $wr) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $rd;
        my $r = eval { $code->() } // { error => ($@ || 'undef') =~ s/\n/ /gr };
        for my $k (sort keys %$r) {
            my $v = $r->{$k} // '';
            $v =~ s/\n/\\n/g;
            print $wr "$k\t$v\n";
        }
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;
    return { pid => $pid, fh => $rd };
}

sub collect ($h) {
    my $fh = $h->{fh};
    my %r;
    while (my $line = <$fh>) {
        chomp $line;
        my ($k, $v) = split /\t/, $line, 2;
        $r{$k} = ($v // '') =~ s/\\n/\n/gr;
    }
    close $fh;
    waitpid $h->{pid}, 0;
    return \%r;
}

sub ipc_snapshot {
    my $me = getpwuid($<) // $<;
    my (%shm, %sem);
    for my $l (split /\n/, `ipcs -m -p 2>/dev/null`) {
        my @c = split ' ', $l;          # shmid owner cpid lpid
        $shm{$c[0]} = $c[2] if @c >= 4 && $c[0] =~ /^\d+$/ && ($c[1] eq $me || $c[1] eq $<);
    }
    for my $l (split /\n/, `ipcs -s 2>/dev/null`) {
        my @c = split ' ', $l;          # key semid owner perms nsems
        next unless @c >= 5 && $c[0] =~ /^0x/ && ($c[2] eq $me || $c[2] eq $<);
        my @pids;
        for my $sl (split /\n/, `ipcs -s -i $c[1] 2>/dev/null`) {
            my @f = split ' ', $sl;    # semnum value ncount zcount pid
            push @pids, $f[4] if @f == 5 && $f[0] =~ /^\d+$/;
        }
        $sem{$c[1]} = \@pids;
    }
    return { shm => \%shm, sem => \%sem };
}

sub prlimit_get ($pid, $res) {
    my $out = `prlimit --pid $pid --noheadings --raw --output=SOFT,HARD --$res 2>/dev/null`;
    my ($soft, $hard) = split ' ', ($out // '');
    return ($soft, $hard);
}

sub prlimit_set ($pid, $res, $soft, $hard = '') {
    system('prlimit', '--pid', $pid, "--$res=$soft:$hard") == 0
        or return 0;
    return 1;
}

sub log_lines ($s, $re) {
    return grep { $_ =~ $re } split /\n/, $s->errlog;
}

sub running_kids ($s) {
    return grep { Loom::Proc::running($_) } $s->child_pids;
}

1;
