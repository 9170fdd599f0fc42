package Loom::Load;
# Load for the tests: wrk bounded by wall clock, with its output parsed,
# and a small request loop that counts failures while something happens
# to the server (a restart, a crash).
use v5.36;
use Exporter 'import';
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(wrk request_loop get_raw);

=head1 Loom::Load

C<wrk(url => ..., conns => 20, seconds => 3, headers => [...], cpu => N)>
returns { requests, rps, p50_ms, p99_ms, errors (socket errors), non2xx,
raw }; with C<cpu>, wrk runs on that CPU only (taskset);
C<request_loop(port => ..., seconds => ..., path => '/')> runs requests
one after another on fresh connections and returns { ok, failed };
C<get_raw($port, $request_text)> returns the raw response text.

=cut

sub _ms ($v, $unit) {
    return $v * ({ us => 0.001, ms => 1, s => 1000 }->{$unit} // 1);
}

sub wrk (%a) {
    my $secs = $a{seconds} // 3;
    my @h = map { ('-H', $_) } @{ $a{headers} // [] };
    my @pin = defined $a{cpu} ? ('taskset', '-c', $a{cpu}) : ();
    my @cmd = ('timeout', '-k', '2', $secs + 10, @pin, 'wrk', '-t1',
               '-c' . ($a{conns} // 20), "-d${secs}s", '--latency', @h,
               $a{url});
    open my $fh, '-|', @cmd or die "wrk: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    my %r = (raw => $out, errors => 0, non2xx => 0);
    ($r{requests}) = $out =~ /(\d+) requests in/;
    ($r{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    if ($out =~ /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/) {
        $r{errors} = $1 + $2 + $3 + $4;
    }
    ($r{non2xx}) = $out =~ /Non-2xx or 3xx responses: (\d+)/;
    $r{non2xx} //= 0;
    $r{p50_ms} = _ms($1, $2) if $out =~ /50%\s+([\d.]+)(us|ms|s)/;
    $r{p99_ms} = _ms($1, $2) if $out =~ /99%\s+([\d.]+)(us|ms|s)/;
    return \%r;
}

sub get_raw ($port, $req, $timeout = 10) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => $timeout) or return undef;
    $s->autoflush(1);
    print $s $req;
    # The whole exchange is bounded: a server that accepts and never
    # answers must not hang the test.
    my $sel = IO::Select->new($s);
    my $resp = '';
    my $end = time + $timeout;
    while ((my $left = $end - time) > 0) {
        last unless $sel->can_read($left);
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $resp .= $buf;
    }
    return $resp;
}

sub request_loop (%a) {
    my $end = time + ($a{seconds} // 3);
    my %r = (ok => 0, failed => 0);
    my $req = "GET " . ($a{path} // '/') . " HTTP/1.1\r\nHost: localhost\r\n"
            . "Connection: close\r\n\r\n";
    while (time < $end) {
        my $resp = get_raw($a{port}, $req, 5) // '';
        $resp =~ m{^HTTP/1\.1 200 } ? $r{ok}++ : $r{failed}++;
    }
    return \%r;
}

1;
