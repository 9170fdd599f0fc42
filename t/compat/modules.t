# What it proves: with nearly every module Debian's apache2-bin ships
# loaded at once, a mix of requests that touches many of them gets the
# same answers from the Loom MPM as from its stock twin, on new
# connections and over keep-alive, and no Loom child dies on a signal.
#
# The modules: every mod_*.so that `dpkg -L apache2-bin` lists, bases
# first (a module that links against another's symbols loads after it),
# less the stock MPMs, and less the one CGI module that does not fit the
# MPM (mod_cgi for prefork, mod_cgid for the threaded ones), as Debian's
# a2enmod chooses. Each server is checked with `apache2 -t` first.
#
# The mix: static files, an autoindex listing, server-side includes, a
# disk cache, a reverse proxy to a second port of the same server, a Lua
# handler, rewrites (internal and redirect), content negotiation
# (MultiViews), CGI, Basic auth against a DBM file (apr-util's DBM driver
# table, what once crashed loom_event children under mod_dav), deflate, an
# .asis file, mod_substitute, mod_status and mod_info, and a DAV
# LOCK/PUT/PROPFIND/UNLOCK round trip; then mod_echo on a port of its own.
#
# Each request's status (and, where a module decides it, a word of the
# body or a header) is compared with the stock twin's, request by request;
# the counts of both, and of crashed children, are printed side by side.
use strict;
use warnings;
use Test::More;
use LWP::UserAgent;
use HTTP::Request;
use IO::Socket::INET;
use IO::Select;
use Loom::Server;

my $mpm = Loom::Server::mpm_or_skip();
plan skip_all => 'this compares a Loom MPM with its stock twin' if $mpm =~ /^stock-/;
plan skip_all => 'htdbm (apache2-utils) is not installed'
    unless Loom::Server::have_tool('htdbm');
my $stock = "stock-$mpm";
my $threaded = Loom::Server::threaded($mpm);

# Bases first: modules whose symbols others link against.
my @BASES = qw(proxy cache dav session ldap dbd xml2enc socache_shmcb
               slotmem_shm slotmem_plain proxy_balancer lbmethod_byrequests
               authn_core authz_core);
sub module_list {
    my @all = map { m{/mod_(\w+)\.so$} ? $1 : () } `dpkg -L apache2-bin`;
    my %skip = map { $_ => 1 } qw(mpm_prefork mpm_worker mpm_event),
                                $threaded ? 'cgi' : 'cgid';
    my %base = map { $_ => 1 } @BASES;
    return (grep({ !$skip{$_} } @BASES),
            sort grep { !$base{$_} && !$skip{$_} } @all);
}
my @mods = module_list();
cmp_ok(scalar @mods, '>', 90, scalar(@mods) . ' modules from apache2-bin');

sub conf_for {
    my ($back, $echo) = @_;
    my $sizing = $threaded
        ? "StartServers 2\nServerLimit 2\nThreadsPerChild 16\nMaxRequestWorkers 32\n"
          . "MinSpareThreads 4\nMaxSpareThreads 32\n"
        : "StartServers 4\nMinSpareServers 2\nMaxSpareServers 10\nMaxRequestWorkers 16\n";
    return $sizing . <<"EOF";
KeepAlive On
Timeout 20
# Shared memory and sockets in the test's folder, not /run/apache2, which
# may be missing or belong to root (mod_heartmonitor's slotmem).
DefaultRuntimeDir \@DIR\@/logs
Listen 127.0.0.1:$back
Listen 127.0.0.1:$echo
DavLockDB \@DIR\@/logs/davlock
CacheRoot \@DIR\@/cache
CacheEnable disk /cached/
CacheIgnoreNoLastMod On
CacheDefaultExpire 300
MDStoreDir \@DIR\@/md
AddOutputFilter INCLUDES .shtml
AddHandler lua-script .lua
AddHandler send-as-is .asis
<Directory \@DIR\@/htdocs>
  Options +Indexes +Includes +ExecCGI +MultiViews
  AddHandler cgi-script .cgi
  Dav On
</Directory>
<Location /deflated/>
  SetOutputFilter DEFLATE
</Location>
<Location /subst/>
  AddOutputFilterByType SUBSTITUTE text/html
  Substitute "s/original/replaced/"
</Location>
<Location /private/>
  AuthType Basic
  AuthName loom
  AuthBasicProvider dbm
  AuthDBMUserFile \@DIR\@/users
  Require valid-user
</Location>
<Location /server-info>
  SetHandler server-info
</Location>
RewriteEngine On
RewriteRule ^/old\$ /index.html [PT]
RewriteRule ^/moved\$ /index.html [R=302,L]
ProxyPass /proxied/ http://127.0.0.1:$back/
ProxyPassReverse /proxied/ http://127.0.0.1:$back/
<VirtualHost 127.0.0.1:$back>
  DocumentRoot \@DIR\@/backend
  <Directory \@DIR\@/backend>
    Require all granted
  </Directory>
</VirtualHost>
<VirtualHost 127.0.0.1:$echo>
  ProtocolEcho On
</VirtualHost>
EOF
}

sub write_file {
    my ($path, $content, $mode) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $content;
    close $fh;
    chmod $mode // 0644, $path;
}

sub make_server {
    my ($which) = @_;
    my ($back, $echo) = (Loom::Server::free_port(), Loom::Server::free_port());
    my $s = Loom::Server->new(mpm => $which, modules => \@mods,
                              conf => conf_for($back, $echo), loglevel => 'warn');
    my $d = $s->dir;
    mkdir "$d/$_" for qw(logs htdocs htdocs/dir htdocs/cached htdocs/deflated
                        htdocs/subst htdocs/private backend cache md);
    $s->write_doc('index.html', "<html>index page</html>\n");
    $s->write_doc('dir/a.txt', "a\n");
    $s->write_doc('inc.shtml', qq{<p><!--#include virtual="/dir/a.txt" -->ssi-end</p>\n});
    $s->write_doc('cached/page.html', "cached page\n");
    $s->write_doc('deflated/big.html', ('deflate me ' x 200) . "\n");
    $s->write_doc('subst/page.html', "<p>original text</p>\n");
    $s->write_doc('private/secret.html', "secret\n");
    $s->write_doc('hello.lua', "function handle(r)\n  r.content_type = 'text/plain'\n"
                              . "  r:puts('lua says hi')\n  return apache2.OK\nend\n");
    $s->write_doc('neg.html.en', "english\n");
    $s->write_doc('neg.html.fr', "francais\n");
    $s->write_doc('env.cgi', "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\ncgi %s\\n' \"\$REQUEST_METHOD\"\n");
    $s->write_doc('custom.asis', "Status: 299 Custom\r\nContent-Type: text/plain\r\n\r\nas is\n");
    $s->write_doc('dav.html', "dav before\n");
    write_file("$d/backend/index.html", "backend page\n");
    my $out = `htdbm -cb $d/users loom secret 2>&1`;
    die "htdbm: $out" if $? != 0;
    system("chmod -R a+rwX $d");
    $s->{echo_port} = $echo;
    my ($rc, $test) = Loom::Server::config_test(mpm => $which, modules => \@mods,
                                                conf => conf_for($back, $echo));
    return ($s, "apache2 -t failed for $which:\n$test") if $rc != 0 && $test !~ /Syntax OK/;
    $s->start(timeout => 20);
    return ($s, undef);
}

my $LOCKINFO = '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">'
    . '<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>'
    . '</D:lockinfo>';

# The mix: [label, method, path, headers, body, what to keep of the answer].
sub mix {
    my $keep_word = sub { my ($re) = @_; sub { $_[0]->decoded_content =~ $re ? $1 : '-' } };
    return (
        ['static', 'GET', '/index.html', [], undef, $keep_word->(qr/(index page)/)],
        ['autoindex', 'GET', '/dir/', [], undef, $keep_word->(qr/(Index of)/)],
        ['include', 'GET', '/inc.shtml', [], undef, $keep_word->(qr/(a\s*ssi-end)/)],
        ['cache 1', 'GET', '/cached/page.html', [], undef, $keep_word->(qr/(cached page)/)],
        ['cache 2', 'GET', '/cached/page.html', [], undef, $keep_word->(qr/(cached page)/)],
        ['proxy', 'GET', '/proxied/index.html', [], undef, $keep_word->(qr/(backend page)/)],
        ['lua', 'GET', '/hello.lua', [], undef, $keep_word->(qr/(lua says hi)/)],
        ['rewrite', 'GET', '/old', [], undef, $keep_word->(qr/(index page)/)],
        ['redirect', 'GET', '/moved', [], undef, sub { $_[0]->header('Location') =~ m{(/index\.html)$} ? $1 : '-' }],
        ['negotiation', 'GET', '/neg.html', ['Accept-Language' => 'fr'], undef, $keep_word->(qr/(francais)/)],
        ['cgi', 'GET', '/env.cgi', [], undef, $keep_word->(qr/(cgi GET)/)],
        ['dbm auth, none', 'GET', '/private/secret.html', [], undef, sub { '-' }],
        ['dbm auth, right', 'GET', '/private/secret.html',
            ['Authorization' => 'Basic bG9vbTpzZWNyZXQ='], undef, $keep_word->(qr/(secret)/)],
        ['dbm auth, wrong', 'GET', '/private/secret.html',
            ['Authorization' => 'Basic bG9vbTp3cm9uZw=='], undef, sub { '-' }],
        ['deflate', 'GET', '/deflated/big.html', ['Accept-Encoding' => 'gzip'], undef,
            sub { $_[0]->header('Content-Encoding') // '-' }],
        ['substitute', 'GET', '/subst/page.html', [], undef, $keep_word->(qr/(replaced)/)],
        ['asis', 'GET', '/custom.asis', [], undef, $keep_word->(qr/(as is)/)],
        ['status', 'GET', '/server-status?auto', [], undef, $keep_word->(qr/(Total Accesses)/)],
        ['info', 'GET', '/server-info', [], undef, $keep_word->(qr/(Server Settings)/)],
        ['missing', 'GET', '/nothing-here', [], undef, sub { '-' }],
        ['dav lock', 'LOCK', '/dav.html', ['Timeout' => 'Second-600', 'Content-Type' => 'text/xml'],
            $LOCKINFO, sub { '-' }],
        ['dav put', 'PUT', '/dav.html', ['If' => '(<TOKEN>)'], "dav after\n", sub { '-' }],
        ['dav propfind', 'PROPFIND', '/dav.html', ['Depth' => '0'], undef,
            $keep_word->(qr/(lockdiscovery)/)],
        ['dav unlock', 'UNLOCK', '/dav.html', ['Lock-Token' => '<TOKEN>'], undef, sub { '-' }],
    );
}

# Runs the mix once; returns { label => "status word" }.
sub run_mix {
    my ($s, $keepalive) = @_;
    my %got;
    my $token = 'opaquelocktoken:none';
    my $ka = LWP::UserAgent->new(timeout => 20, keep_alive => 1, max_redirect => 0);
    for my $m (mix()) {
        my ($label, $method, $path, $headers, $body, $keep) = @$m;
        my @h = map { my $v = $_; $v =~ s/TOKEN/$token/; $v } @$headers;
        my $ua = $keepalive ? $ka
               : LWP::UserAgent->new(timeout => 20, keep_alive => 0, max_redirect => 0);
        my $res = $ua->request(HTTP::Request->new($method, $s->url($path), \@h, $body));
        if ($method eq 'LOCK') {
            ($token) = ($res->header('Lock-Token') // '') =~ /<([^>]+)>/;
            $token //= 'opaquelocktoken:none';
        }
        $got{$label} = $res->code . ' ' . $keep->($res);
    }
    return \%got;
}

sub echo_once {
    my ($port) = @_;
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 5)
        or return 'no connection';
    print $c "echo me\n";
    my $buf = '';
    my $sel = IO::Select->new($c);
    while ($buf !~ /\n/ && $sel->can_read(5)) {
        last unless sysread($c, $buf, 64, length $buf);
    }
    return $buf;
}

my %result;
for my $which ($mpm, $stock) {
    my ($s, $err) = make_server($which);
    if ($err) {
        fail("$which starts with every module");
        diag($err);
        next;
    }
    my @rounds = (run_mix($s, 0), run_mix($s, 1), run_mix($s, 0));
    my $echo = echo_once($s->{echo_port});
    $result{$which} = { rounds => \@rounds, echo => $echo,
                        crashes => [$s->crashes],
                        errors => join('', grep { /:error\]/ } split /^/m, $s->errlog) };
    $s->stop;
}

my ($ours, $theirs) = @result{$mpm, $stock};
SKIP: {
    skip 'a server did not start', 5 unless $ours && $theirs;
    my @labels = map { $_->[0] } mix();
    my ($same, $total, @diff) = (0, 0);
    for my $r (0 .. 2) {
        for my $l (@labels) {
            $total++;
            my ($a, $b) = ($ours->{rounds}[$r]{$l}, $theirs->{rounds}[$r]{$l});
            if ($a eq $b) { $same++ } else { push @diff, "round $r, $l: $mpm '$a', $stock '$b'" }
        }
    }
    is($same, $total, "every answer of the mix as $stock gives it ($same of $total)")
        or diag(join("\n", @diff) . "\n$mpm error log:\n$ours->{errors}");
    my @bad = map { my $r = $_; map { "$_: $r->{$_}" } grep { $r->{$_} !~ /^(2\d\d|30\d|401|404)/ } sort keys %$r } @{ $ours->{rounds} };
    is(scalar(@bad), 0, 'every answer is one the mix expects (2xx, 3xx, 401, 404)')
        or diag("@bad");
    is($ours->{echo}, "echo me\n", 'mod_echo answers on its own port');
    is(scalar @{ $ours->{crashes} }, 0, "no $mpm child crashed")
        or diag(join '', @{ $ours->{crashes} });
    my $ok = sub { my ($x) = @_; scalar grep { /^2/ } map { values %$_ } @{ $x->{rounds} } };
    diag(sprintf "%-14s %4s answers 2xx of %d, %d children crashed",
         $_->[0], $ok->($_->[1]), $total, scalar @{ $_->[1]{crashes} })
        for [$mpm, $ours], [$stock, $theirs];
    pass('counts printed side by side');
}
done_testing();
