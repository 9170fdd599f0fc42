# loom_prefork, parked: one process serves many connections, so it must
# share itself out fairly, and the parent must not mistake a child busy
# with short requests for one that is held up.
#  - On a server of one process, a client that pipelines 2,000 requests in
#    one go does not keep the process from another client: the other's
#    request (sent once the pipeline is being answered) is answered while
#    most of the pipeline is still to come. Each connection whose next
#    request came in with the end of its last waits its turn behind the
#    others ready (stock prefork serves the second client from another
#    process).
#  - 40 keep-alive clients under load (wrk) do not grow a server of
#    MinSpareServers 2 and MaxSpareServers 3 past 3 processes: a parked
#    child between short requests takes new connections within
#    milliseconds, and counts as idle (stock prefork, and parked prefork
#    that counts a serving child as busy, grow to MaxRequestWorkers).
#  - 40 keep-alive clients that connect one after another spread over the
#    children: none holds more than 60 % of them. (The kernel wakes the
#    first idle child in the listener's queue, the same one each time,
#    unless a child that holds more than the mean goes to its back.)
use v5.36;
use Test::More;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Slow qw(conns_by_pid connect_many get_all);
use Loom::Fault qw(running_kids);
use Loom::Wrk qw(wrk_start wrk_stop);

my $mpm = Loom::Server::mpm_or_skip('wrk');
plan skip_all => "LOOM_MPM=$mpm: LoomParkConnections is loom_prefork's"
    unless $mpm eq 'prefork';
$SIG{PIPE} = 'IGNORE';
plan tests => 6;

my $common = <<'CONF';
LoomParkConnections On
KeepAlive On
KeepAliveTimeout 30
MaxKeepAliveRequests 0
CONF

# -- a pipelining client does not keep the one process from another ------
{
    my $N = 2000;
    my $s = Loom::Server->new(modules => ['status'], conf => $common . <<'CONF');
StartServers 1
MinSpareServers 1
MaxSpareServers 1
ServerLimit 1
MaxRequestWorkers 1
CONF
    $s->write_doc('x.txt', "x\n");
    $s->start;
    $s->wait_until(sub { running_kids($s) == 1 }, 10);

    my $a = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port,
                                  Blocking => 0) or die "connect: $!";
    sleep 0.2;
    my $out = "GET /x.txt HTTP/1.1\r\nHost: localhost\r\n\r\n" x $N;
    my ($in, $answered, $b, $b_done, $a_at_b) = ('', 0, undef, 0, undef);
    my $end = time + 30;
    while (time < $end && !$b_done) {
        my $rsel = IO::Select->new($a, $b ? $b : ());
        my $wsel = IO::Select->new(length $out ? $a : ());
        my ($r, $w) = IO::Select->select($rsel, $wsel, undef, 0.5);
        if ($w && @$w) {
            my $n = syswrite $a, $out;
            substr($out, 0, $n, '') if $n;
        }
        for my $fh ($r ? @$r : ()) {
            my $n = sysread $fh, my $buf, 65536;
            if ($fh == $a) {
                last unless $n;
                # Counted across reads: a status line may be cut in two.
                $in .= $buf;
                $answered += () = $in =~ m{HTTP/1\.1 200 }g;
                $in = substr $in, -12;
            }
            elsif (!$n) {
                $b_done = 1;
                $a_at_b = $answered;
            }
        }
        if (!$b && $answered > 0) {
            # The pipeline is being answered: the second client asks once.
            $b = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port)
                or die "connect: $!";
            syswrite $b, "GET /x.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        }
    }
    ok $b_done, 'the second client is answered';
    ok defined $a_at_b && $a_at_b < $N / 2,
       sprintf 'while the pipelining client had %s of its %d answers: it waits its turn '
       . 'behind the other, and does not keep the one process from it',
       $a_at_b // 'none', $N;
    close $a;
    close $b if $b;
    $s->stop;
}

# -- short requests under load do not grow the server; clients spread -----
{
    my $s = Loom::Server->new(modules => ['status'], conf => $common . <<'CONF')->start;
StartServers 2
MinSpareServers 2
MaxSpareServers 3
ServerLimit 6
MaxRequestWorkers 6
CONF
    $s->wait_until(sub { running_kids($s) == 2 }, 10);
    my $wrk = wrk_start(url => $s->url('/'), conns => 40);
    my $most = 0;
    my $end = time + 4;
    while (time < $end) {
        my $n = running_kids($s);
        $most = $n if $n > $most;
        sleep 0.25;
    }
    my $r = wrk_stop($wrk);
    note sprintf 'wrk: %d requests, %d errors; most processes seen: %d',
        $r->{requests} // 0, ($r->{errors} // 0) + ($r->{non2xx} // 0), $most;
    ok $r->{requests} > 0 && ($r->{errors} // 0) + ($r->{non2xx} // 0) == 0,
       'wrk, 40 keep-alive clients for 4 s: no request failed';
    ok $most <= 3,
       "under that load the server stays within MaxSpareServers 3 (most seen: $most; "
       . 'MaxRequestWorkers would allow 6)';

    # Let wrk's connections close, then 40 clients one after another.
    $s->wait_until(sub { my $by = conns_by_pid($s); my $t = 0; $t += $_ for values %$by; $t <= 1 }, 10);
    my @socks;
    for (1 .. 40) {
        my ($c) = connect_many($s->port, 1);
        my ($st) = get_all([$c], timeout => 5);
        push @socks, $c if ($st // 0) == 200;
    }
    is scalar @socks, 40, '40 keep-alive clients, one after another, each served';
    my $by = conns_by_pid($s);
    my ($max) = sort { $b <=> $a } values %$by;
    note 'per process: ' . join(' ', map { "$_:$by->{$_}" } sort keys %$by);
    ok defined $max && $max <= 24,
       "they spread over the children: none holds more than 24 of 40 (most: "
       . ($max // 'none') . ')';
    close $_ for @socks;
    $s->stop;
}
