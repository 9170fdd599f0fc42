package Loom::Load;
# Load for the tests: a small request loop that counts failures while
# something happens to the server (a restart, a crash). wrk is Loom::Wrk's.
use v5.36;
use Exporter 'import';
use Time::HiRes qw(time sleep);
use Loom::HTTP qw(get_raw);

our @EXPORT_OK = qw(request_loop);

=head1 Loom::Load

C<request_loop(port => ..., seconds => ..., path => '/')> runs requests
one after another on fresh connections (Loom::HTTP's get_raw) and
returns { ok, failed }.

=cut

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
