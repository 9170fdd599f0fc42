# MaxConnectionsPerChild retires children and replaces them: after many
# separate connections the set of children has changed, the count stays
# within bounds, and no request failed on the way.
use strict;
use warnings;
use Test::More;
use Loom::Server;
use Loom::Load qw(request_loop);

plan tests => 4;
my $s = Loom::Server->new(modules => ['status'],
    conf => "StartServers 2\nMaxConnectionsPerChild 5\n"
          . (Loom::Server::threaded()
             ? "ThreadsPerChild 2\nMinSpareThreads 2\nMaxSpareThreads 8\n"
             : "MinSpareServers 2\nMaxSpareServers 4\n"))->start;
my %before = map { $_ => 1 } $s->child_pids;
my $r = request_loop(port => $s->port, seconds => 2);
is $r->{failed}, 0, "no request failed ($r->{ok} served)";
ok $r->{ok} > 30, 'enough connections to retire children';
my @after = $s->child_pids;
ok !grep({ $before{$_} } @after), 'every first child was retired and replaced';
ok @after >= 1 && @after <= 8, scalar(@after) . ' children now';
$s->stop;
