# What it proves: MaxConnectionsPerChild 5 retires children and the server
# replaces them. 30 separate connections (HTTP/1.0, one request each):
#  - every one is answered with 200 (retiring loses no connection);
#  - under prefork (mod_cgi runs the script from the child that serves the
#    connection, so the script's parent pid names that child): no child
#    served more than 5 connections, hence at least 6 children served;
#  - the set of child pids changed (the first children were retired and
#    replaced), the number of children stayed within ServerLimit all along,
#    and the server still answers afterwards.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use Loom::Server;
use Loom::Load qw(request_loop);
use Loom::HTTP qw(get_raw);

my $mpm = Loom::Server::mpm_or_skip();
my $threaded = Loom::Server::threaded();
my $limit = 6;                                  # ServerLimit: processes
my $s = Loom::Server->new(
    # No CGI under threaded MPMs: cgid's daemon would be one more child.
    modules => [$threaded ? () : 'cgi', 'status'],
    conf => "StartServers 2\nMaxConnectionsPerChild 5\nServerLimit $limit\n"
          . ($threaded
             ? "ThreadsPerChild 2\nMaxRequestWorkers 12\nMinSpareThreads 2\nMaxSpareThreads 6\n"
             : "MaxRequestWorkers $limit\nMinSpareServers 2\nMaxSpareServers 4\n"));
$s->write_doc('pid.cgi', "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nchild %s\\n' \$PPID\n");
$s->start;
my $path = $threaded ? '/' : '/pid.cgi';

plan tests => 6;

my %first = map { $_ => 1 } $s->child_pids;
my (%served_by, %seen, $ok, $failed, $most);
($ok, $failed, $most) = (0, 0, 0);
my $end = time + 40;                            # bound: 30 connections
for my $i (1 .. 30) {
    last if time > $end;
    my $resp = get_raw($s->port, "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n", 10) // '';
    if ($resp =~ m{^HTTP/1\.\d 200 }) {
        $ok++;
        $served_by{$1}++ if $resp =~ /^child (\d+)$/m;
    }
    else {
        $failed++;
    }
    my @kids = $s->child_pids;
    $seen{$_} = 1 for @kids;
    $most = @kids if @kids > $most;
}
is "$ok/$failed", "30/0", 'all 30 connections answered with 200';

SKIP: {
    skip 'threaded MPMs: no mod_cgi to tell which child served', 1 if $threaded;
    my @over = grep { $served_by{$_} > 5 } sort keys %served_by;
    ok !@over && keys(%served_by) >= 6,
       sprintf('no child served more than 5 connections; %d children served (%s)',
               scalar(keys %served_by),
               join(' ', map { "$_:$served_by{$_}" } sort keys %served_by))
        or diag "over the limit: @over";
}
my @now = $s->child_pids;
ok scalar(grep { !$first{$_} } keys %seen) >= 1 && grep({ !$first{$_} } @now),
   'new children replaced retired ones (' . scalar(keys %seen) . ' pids seen)';
ok !grep({ $first{$_} } @now),
   'every first child was retired (each had at most 5 connections to give)';
my $bound = $limit;
ok $most <= $bound && @now >= 1, "children within bounds: at most $most (limit $bound), now " . scalar(@now);
my $r = request_loop(port => $s->port, seconds => 0.5);
ok $r->{ok} > 0 && $r->{failed} == 0, 'still answering';
$s->stop;
