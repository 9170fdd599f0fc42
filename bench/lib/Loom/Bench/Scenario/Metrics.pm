package Loom::Bench::Scenario::Metrics;
# 10: what a scrape costs the server while N idle keep-alive connections
# are held: Loom's loom-metrics against stock's mod_status ?auto (what
# apache_exporter scrapes), event only.
use v5.36;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use Loom::Bench::Util qw(note);
use Loom::Bench::Runner qw(start_servers stop_servers interleave summarize);
use Loom::Bench::Helper qw(conns_start conns_cmd conns_stop);
use Loom::Bench::Proc qw(sample);

our @MPMS = qw(event);
my $SCRAPES = 3000;       # /proc counts CPU in 10 ms ticks: 3.3 µs a scrape

sub cases ($ctx) {
    my $n = $ctx->{opts}{idle};
    return ({ id => 'metrics', title => "metrics: the cost of a scrape with $n idle keep-alive connections held",
              what => "A helper opens $n idle keep-alive connections (one GET each, then held); then one "
                    . "client asks $SCRAPES times in a row, on keep-alive connections of 50 requests each, for Loom's "
                    . '`SetHandler loom-metrics` page (Loom) or `/server-status?auto` (stock: what '
                    . 'apache_exporter reads). CPU: the server\'s own (every process, from /proc), '
                    . 'less what it used while idle over as long, per scrape. "% of a CPU at 1/s": '
                    . 'that CPU time over one second. "without the crowd": the same scrapes '
                    . 'just before the idle connections were opened. nginx is left out: it has no '
                    . 'such page.',
              show => [qw(us_scrape cpu_pct_1s scrape_ms scrape_kb held asked us_scrape_base)],
              ratio => [qw(us_scrape us_scrape_base)], mpms => \@MPMS });
}

sub connect_to ($port) {
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 10)
        // die "connect to 127.0.0.1:$port: $!\n";
}

# Reads more of the answer into $buf; dies after 10 s without a byte (a
# server whose children stopped accepting may take the connection and
# never answer) or at EOF.
sub read_more ($s, $buf) {
    IO::Select->new($s)->can_read(10) or die "no answer in 10 s\n";
    sysread($s, $$buf, 65536, length $$buf) or die "the server closed the connection\n";
}

# $count GETs of $path on keep-alive connections (a new one every 50, below
# MaxKeepAliveRequests): seconds, bytes of the last body, or dies.
sub scrape_many ($port, $path, $count) {
    my $s;
    my ($t0, $size) = (time, 0);
    for my $i (0 .. $count - 1) {
        $s = connect_to($port) if $i % 50 == 0;
        print $s "GET $path HTTP/1.1\r\nHost: localhost\r\n\r\n";
        my $buf = '';
        read_more($s, \$buf) until $buf =~ /\r\n\r\n/;
        my ($head, $body) = split /\r\n\r\n/, $buf, 2;
        $head =~ m{^HTTP/1\.1 200 } or die "answer: " . ($head =~ s/\r\n.*//sr) . "\n";
        my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
        if (defined $len) {
            read_more($s, \$body) while length $body < $len;
        }
        else {               # chunked: read to the last chunk
            read_more($s, \$body) until $body =~ /\r\n0\r\n\r\n\z/;
        }
        $size = length $body;
    }
    return (time - $t0, $size);
}

# Server CPU per scrape over $SCRAPES scrapes, less what it uses idle over
# as long; with the time per scrape and the page's size. Dies as scrape_many.
sub cost ($srv, $path) {
    scrape_many($srv->port, $path, 5);                  # warm: first-use costs
    my ($b0, $w0) = (sample($srv->pid), time);
    my ($took, $size) = scrape_many($srv->port, $path, $SCRAPES);
    my ($b1, $w1) = (sample($srv->pid), time);
    sleep $w1 - $w0;
    my ($b2, $w2) = (sample($srv->pid), time);
    my $idle = ($b2->{cpu} - $b1->{cpu}) * ($w1 - $w0) / ($w2 - $w1);
    my $us = 1e6 * ($b1->{cpu} - $b0->{cpu} - $idle) / $SCRAPES;
    return ($us > 0 ? $us : 0, 1000 * $took / $SCRAPES, $size / 1024);
}

sub one ($ctx, $srv, $round) {
    my $o = $ctx->{opts};
    my $path = $srv->kind eq 'loom' ? '/metrics' : '/server-status?auto';
    my $m = { asked => $o->{idle} };
    ($m->{us_scrape_base}) = cost($srv, $path);
    my $h = conns_start(port => $srv->port, mode => 'idle', nofile => $ctx->{nofile},
                        limit => $o->{open_limit}, stall => $o->{stall}, dir => $ctx->{tmp});
    conns_cmd($h, sprintf 'open %d %.1f', $o->{idle}, $o->{open_budget});
    my @cost = eval { cost($srv, $path) };
    my $err = $@ =~ s/\n//r;
    $m->{held} = conns_cmd($h, 'check')->{held};
    conns_stop($h);
    if (!@cost) {
        push @{ $m->{notes} }, "no scrape answered with the idle connections held: $err";
        note sprintf "  metrics   round %d %-14s no scrape: %s", $round, $srv->name, $err;
        return $m;
    }
    @$m{qw(us_scrape scrape_ms scrape_kb)} = @cost;
    $m->{cpu_pct_1s} = $m->{us_scrape} / 1e4;
    note sprintf "  metrics   round %d %-14s %6.1f µs/scrape (%.1f without the crowd), "
        . "%.2f ms each, %.1f kB, held %d/%d", $round, $srv->name, $m->{us_scrape},
        $m->{us_scrape_base}, $m->{scrape_ms}, $m->{scrape_kb}, $m->{held}, $o->{idle};
    return $m;
}

sub run ($ctx) {
    my $s = start_servers($ctx, scenario => 'metrics', mpms => \@MPMS,
                          extra => "<Location /metrics>\n    SetHandler loom-metrics\n</Location>\n");
    my @apache = grep { $_->kind ne 'nginx' } @$s;
    my $res = interleave(\@apache, $ctx->{opts}{rounds}, sub { one($ctx, @_) });
    stop_servers($ctx, $s);
    my %sum = map {
        ($_ => summarize($res->{$_}, median => [qw(us_scrape cpu_pct_1s scrape_ms scrape_kb held asked
                                             us_scrape_base)]))
    } keys %$res;
    return { metrics => \%sum };
}

1;
