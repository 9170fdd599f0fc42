package Loom::HTTP;
# Reading HTTP/1.1 responses off a raw socket (IO::Socket::INET or
# IO::Socket::SSL), for tests that keep one connection open over several
# requests. Every read is bounded by a deadline.
use v5.36;
use Exporter 'import';
use Time::HiRes qw(time);

our @EXPORT_OK = qw(read_response);

=head1 Loom::HTTP

C<read_response($sock, $timeout)> reads one response (body framed by
Content-Length, chunked, or, for a response that has neither, the end of
the connection) within C<$timeout> seconds (default 20) and returns
C<< { status, headers => { lowercase name => value }, body } >>, or undef
(with the reason in C<$@>) on timeout, early close or a malformed head.
Bytes read past the end of the response are kept for the next call on the
same socket.

=cut

sub read_response ($sock, $timeout = 20) {
    # Bytes read beyond the previous response live in the handle's glob.
    my $buf = delete ${*$sock}{loom_http_left} // '';
    my $eof = 0;
    my $fill = sub {
        die "connection closed\n" if $eof;
        my $n = sysread($sock, my $chunk, 65536);
        die "read: $!\n" unless defined $n;
        $eof = 1, return if $n == 0;
        $buf .= $chunk;
    };
    my $r = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm($timeout);
        $fill->() until $buf =~ /\r\n\r\n/ || $eof;
        die "connection closed before a response\n" unless $buf =~ /\r\n\r\n/;
        my ($head, $rest) = split /\r\n\r\n/, $buf, 2;
        $buf = $rest;
        my ($status) = $head =~ m{^HTTP/1\.\d (\d{3})} or die "bad head\n";
        my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1, $2) : () }
                split /\r\n/, $head;
        my $body = '';
        if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
            while (1) {
                $fill->() until $buf =~ /\r\n/;
                my ($len) = $buf =~ /^([0-9a-fA-F]+)/ or die "bad chunk\n";
                $len = hex $len;
                $buf =~ s/^[^\r]*\r\n//;
                $fill->() while length($buf) < $len + 2;
                $body .= substr($buf, 0, $len);
                $buf = substr($buf, $len + 2);
                last if $len == 0;
            }
        } elsif (defined $h{'content-length'}) {
            $fill->() while length($buf) < $h{'content-length'};
            $body = substr($buf, 0, $h{'content-length'}, '');
        } else {
            $fill->() until $eof;
            ($body, $buf) = ($buf, '');
        }
        alarm 0;
        { status => $status, headers => \%h, body => $body };
    };
    alarm 0;
    ${*$sock}{loom_http_left} = $buf if $r && length $buf;
    return $r;
}

1;
