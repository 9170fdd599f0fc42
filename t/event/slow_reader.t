# Event only: a slow reader costs no thread. Three clients fetch a 20 MB
# static file with a tiny receive window and read it a few KB at a time, on
# a server of one child with 2 threads: while they dawdle, mod_status shows
# them in write completion (ConnsAsyncWriting) and no thread busy for them
# (BusyWorkers is the status request alone), other clients are served at
# once, and in the end each slow reader gets the whole body, intact.
# Stock event does the same (its write completion), so stock must pass too,
# except for the counts: stock refreshes them only when it processes a
# queue's timeouts, so while nothing times out they lag (TODO for stock).
#
# EnableSendfile On: without sendfile, httpd's core output filter reads the
# file into memory and, beyond FlushMaxThreshold, writes it blocking on the
# thread, before any MPM gets a say; stock and Loom alike (measured). With
# sendfile the file stays a file bucket and is left to write completion.
use strict;
use warnings;
use Test::More;
use Digest::MD5;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Slow qw(event_sizing event_kind connect_many get_all status_counts wait_counts
                  fmt_counts figures);

my $kind = event_kind();
my $SIZE = 20 * 1024 * 1024;
my $SLOW = 3;                       # slow readers; more than the threads

my $s = Loom::Server->new(modules => ['status'], conf => event_sizing(start => 1, threads => 2, min_spare => 1)
        . <<'CONF');
KeepAlive On
KeepAliveTimeout 30
Timeout 30
EnableSendfile On
CONF
my $block = join '', map { sprintf "%015d\n", $_ } 0 .. 4095;   # 64 KB
my $big = $block x ($SIZE / length $block);
$s->write_doc('big.bin', $big);
my $want_md5 = Digest::MD5::md5_hex($big);
undef $big;
$s->start;

plan tests => 9;

my @slow = connect_many($s->port, $SLOW, rcvbuf => 4096);
for my $c (@slow) {
    syswrite $c, "GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n";
}
# Each reads its head and then a few KB every 100 ms.
my (@got, @md5, @clen);
for my $i (0 .. $#slow) {
    my $head = '';
    while ($head !~ /\r\n\r\n/) {
        sysread($slow[$i], $head, 4096, length $head) or last;
    }
    my ($h, $rest) = split /\r\n\r\n/, $head, 2;
    ($clen[$i]) = $h =~ /^Content-Length:\s*(\d+)/mi;
    $md5[$i] = Digest::MD5->new;
    $md5[$i]->add($rest // '');
    $got[$i] = length($rest // '');
}
is_deeply \@clen, [($SIZE) x $SLOW], "every slow reader is answered, Content-Length $SIZE";

my $dribble = sub {
    my ($secs) = @_;
    my $end = time + $secs;
    while (time < $end) {
        for my $i (0 .. $#slow) {
            my $n = sysread($slow[$i], my $buf, 4096);
            next unless $n;
            $md5[$i]->add($buf);
            $got[$i] += $n;
        }
        sleep 0.1;
    }
};

$dribble->(1.5);
my $during = status_counts($s) // {};
figures($kind, 'slow readers dribbling: ' . fmt_counts($during));
figures($kind, "read so far: @got bytes");
ok +(grep { $_ < $SIZE / 2 } @got) == $SLOW, 'they are still far from done';
{
    local our $TODO = $kind eq 'stock'
        ? 'stock event refreshes its counts only on queue timeouts' : undef;
    is $during->{ConnsAsyncWriting}, $SLOW,
        "mod_status: ConnsAsyncWriting is $SLOW (all in write completion)";
}
is $during->{BusyWorkers}, 1,
    'mod_status: BusyWorkers 1, the status request alone (no thread per slow reader)';

# Others are served meanwhile, although the slow readers outnumber threads.
my $t0 = time;
my @others = get_all([connect_many($s->port, 20)], close => 1, timeout => 10);
my $served = grep { ($_ // 0) == 200 } @others;
my $took = time - $t0;
figures($kind, sprintf '20 other clients: %d served in %.2f s', $served, $took);
is $served, 20, '20 other clients are all served while the slow readers read';
ok $took < 3, sprintf 'and promptly (%.2f s)', $took;

$dribble->(1);
# Now they read at full speed: each must get the whole body.
for my $i (0 .. $#slow) {
    while ($got[$i] < $SIZE) {
        my $n = sysread($slow[$i], my $buf, 1 << 20) or last;
        $md5[$i]->add($buf);
        $got[$i] += $n;
    }
}
is_deeply \@got, [($SIZE) x $SLOW], "every slow reader got all $SIZE bytes";
is_deeply [map { $_->hexdigest } @md5], [($want_md5) x $SLOW], 'and intact';

my $after = wait_counts($s, sub { $_[0]{ConnsAsyncWriting} == 0 }, 5);
figures($kind, 'after: ' . fmt_counts($after));
is +($after // {})->{ConnsAsyncWriting}, 0, 'ConnsAsyncWriting back to 0 once they are done';
$s->stop;
