package Loom::Load;
# Load for the tests: a small request loop that counts failures while
# something happens to the server (a restart, a crash). wrk is Loom::Wrk's.
use v5.36;
use Exporter 'import';
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(request_loop get_raw);

=head1 Loom::Load

C<request_loop(port => ..., seconds => ..., path => '/')> runs requests
one after another on fresh connections and returns { ok, failed };
C<get_raw($port, $request_text)> returns the raw response text.

=cut

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
