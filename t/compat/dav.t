# What it proves: mod_dav with mod_dav_fs's lock database (an apr-util
# DBM file) works across connections and over keep-alive, and no child
# dies doing it.
#
# apr-util keeps its table of DBM drivers in "the process's pool", which
# it finds by walking up from the pool it is given to the top. Under
# loom_event a connection's pool once had no parent, so the first
# connection that opened the lock database became that top, and the
# table went with it when the connection closed: the next LOCK-protected
# PUT on another connection read freed memory and its child died on
# SIGSEGV, with no response (the client then found the file gone).
#
# The sequence that showed it: LOCK a file, enough other requests that
# the locking connection is long gone, then PUT with the lock token in an
# If header, on a new connection, and UNLOCK. Then the same round trip on
# one keep-alive connection, with a PROPFIND that sees the lock. One child with
# a few threads, so every request runs in the child that served the LOCK.
use strict;
use warnings;
use Test::More;
use LWP::UserAgent;
use HTTP::Request;
use Loom::Server;

my $mpm = Loom::Server::mpm_or_skip();

my $sizing = Loom::Server::threaded()
    ? "StartServers 1\nServerLimit 1\nThreadsPerChild 5\nMaxRequestWorkers 5\n"
      . "MinSpareThreads 1\nMaxSpareThreads 5\n"
    : "StartServers 1\nServerLimit 1\nMaxRequestWorkers 1\n"
      . "MinSpareServers 1\nMaxSpareServers 1\n";
my $s = Loom::Server->new(
    modules => ['dav', 'dav_fs'],
    conf => $sizing . "KeepAlive On\nDavLockDB \@DIR\@/logs/davlock\n"
          . "<Directory \@DIR\@/htdocs>\n  Dav On\n</Directory>\n");
$s->write_doc('dav.html', "before\n");
$s->start;
# The server writes the document root and the lock database.
chmod 0777, $s->dir . '/htdocs', $s->dir . '/logs';
chmod 0666, $s->dir . '/htdocs/dav.html';

my $LOCKINFO = '<?xml version="1.0" encoding="utf-8"?>'
    . '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
    . '<D:locktype><D:write/></D:locktype><D:owner>loom</D:owner></D:lockinfo>';

sub send_req {
    my ($ua, $method, $path, $headers, $body) = @_;
    my $req = HTTP::Request->new($method, $s->url($path), $headers, $body);
    return $ua->request($req);
}

sub fresh_ua { LWP::UserAgent->new(timeout => 15, keep_alive => 0) }

sub lock_token {
    my ($res) = @_;
    my ($token) = ($res->header('Lock-Token') // '') =~ /<([^>]+)>/;
    return $token;
}

# Across connections: each request on a connection of its own.
my $res = send_req(fresh_ua(), 'LOCK', '/dav.html',
                   ['Timeout' => 'Second-600', 'Content-Type' => 'text/xml'],
                   $LOCKINFO);
is($res->code, 200, 'LOCK on a new connection: 200');
my $token = lock_token($res);
ok($token, 'LOCK gave a lock token') or diag($res->as_string);
$token //= 'opaquelocktoken:none';

my $gets = 0;
for (1 .. 60) {
    $gets++ if fresh_ua()->get($s->url('/dav.html'))->code == 200;
}
is($gets, 60, 'sixty GETs on new connections between LOCK and PUT');

$res = send_req(fresh_ua(), 'PUT', '/dav.html', ['If' => "(<$token>)"],
                "after\n");
like($res->code, qr/^20[14]$/, 'PUT with the lock token on a new connection: '
     . $res->code);
$res = send_req(fresh_ua(), 'PUT', '/dav.html', [], "no token\n");
is($res->code, 423, 'PUT without the token is refused: Locked');
$res = send_req(fresh_ua(), 'UNLOCK', '/dav.html', ['Lock-Token' => "<$token>"]);
is($res->code, 204, 'UNLOCK on a new connection: 204');
$res = fresh_ua()->get($s->url('/dav.html'));
is($res->content, "after\n", 'the file holds what the PUT sent');

# Over keep-alive: the same round trip on one connection.
my $ka = LWP::UserAgent->new(timeout => 15, keep_alive => 1);
$res = send_req($ka, 'LOCK', '/dav.html',
                ['Timeout' => 'Second-600', 'Content-Type' => 'text/xml'],
                $LOCKINFO);
is($res->code, 200, 'LOCK over keep-alive: 200');
$token = lock_token($res) // 'opaquelocktoken:none';
$res = send_req($ka, 'PUT', '/dav.html', ['If' => "(<$token>)"], "again\n");
like($res->code, qr/^20[14]$/, 'PUT over keep-alive: ' . $res->code);
$res = send_req($ka, 'PROPFIND', '/dav.html', ['Depth' => '0']);
is($res->code, 207, 'PROPFIND of the file: 207 Multi-Status');
like($res->content, qr/lockdiscovery/, 'PROPFIND reports the lock');
$res = send_req($ka, 'UNLOCK', '/dav.html', ['Lock-Token' => "<$token>"]);
is($res->code, 204, 'UNLOCK over keep-alive: 204');

is(join('', $s->crashes), '', 'no child crashed');
done_testing();
