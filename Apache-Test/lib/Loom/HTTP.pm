package Loom::HTTP;
# HTTP/1.1 over raw sockets (IO::Socket::INET or IO::Socket::SSL): one
# request bounded in time, responses read off a connection kept open over
# several requests, and responses parsed out of what a client read. Every
# read is bounded by a deadline.
use v5.36;
use Exporter 'import';
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);

our @EXPORT_OK = qw(get_raw read_response read_all parse_responses
                    status_code);

=head1 Loom::HTTP

C<read_response($sock, $timeout)> reads one response (body framed by
Content-Length, chunked, or, for a response that has neither, the end of
the connection) within C<$timeout> seconds (default 20) and returns
C<< { status, headers => { lowercase name => value }, body } >>, or undef
(with the reason in C<$@>) on timeout, early close or a malformed head.
Bytes read past the end of the response are kept for the next call on the
same socket.

C<get_raw($port, $request_text, $timeout = 10)> sends the text on a fresh
connection to 127.0.0.1 and returns everything read until the server
closes or $timeout seconds pass (undef if it could not connect).

C<read_all($sock, $secs)>: everything the peer sends until it closes,
resets or $secs pass: ($data, $how) with $how 'eof', 'reset' or 'timeout'.
C<parse_responses($buf)>: the complete responses at the start of $buf
(each { status, headers, body }; a body is framed by Content-Length, none
meaning empty) and the number of bytes they use.
C<status_code($text)>: the status of a response text, or undef.

=cut

# The status and the headers (names in lower case) of a response head, or
# () if it is not one.
sub _head ($head) {
    my ($status) = $head =~ m{^HTTP/1\.\d (\d{3})} or return;
    my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1, $2) : () } split /\r\n/, $head;
    return ($status, \%h);
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
        my ($status, $hh) = _head($head) or die "bad head\n";
        my %h = %$hh;
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

sub read_all ($c, $secs) {
    my $sel = IO::Select->new($c);
    my ($data, $end) = ('', time + $secs);
    while ((my $left = $end - time) > 0) {
        next unless $sel->can_read($left > 0.2 ? 0.2 : $left);
        my $n = sysread($c, my $buf, 262144);
        return ($data, 'reset') unless defined $n;
        return ($data, 'eof') if $n == 0;
        $data .= $buf;
    }
    return ($data, 'timeout');
}

sub parse_responses ($buf) {
    my (@r, $pos);
    $pos = 0;
    while (1) {
        my $end = index($buf, "\r\n\r\n", $pos);
        last if $end < 0;
        my ($status, $h) = _head(substr($buf, $pos, $end - $pos)) or last;
        my $len = $h->{'content-length'} // 0;
        last if length($buf) < $end + 4 + $len;
        push @r, { status => $status, headers => $h,
                   body => substr($buf, $end + 4, $len) };
        $pos = $end + 4 + $len;
    }
    return (\@r, $pos);
}

sub status_code ($text) {
    return undef unless defined $text;
    return $text =~ m{^HTTP/1\.\d (\d{3}) } ? $1 : undef;
}

1;
