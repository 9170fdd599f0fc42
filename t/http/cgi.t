# CGI: through mod_cgi on prefork and mod_cgid on threaded MPMs (the
# shared server), and through mod_cgid on every MPM (an extra server):
# environment, a request body on stdin, and a status set by the script.
use strict;
use warnings;
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Loom::Server;

plan tests => 8;

my $r = GET '/cgi/echo.cgi?a=1';
ok $r->code == 200;
ok $r->content =~ /^gateway=CGI\/1\.1$/m && $r->content =~ /^query=a=1$/m;
$r = POST '/cgi/echo.cgi', content => 'x' x 5000;
ok $r->content =~ /^length=5000$/m;
$r = GET '/cgi/status.cgi';
ok $r->code == 418;

# mod_cgid explicitly, whatever the MPM.
my $s = Loom::Server->new(modules => ['cgid']);
$s->write_doc('echo.cgi', <<'CGI');
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
echo "method=$REQUEST_METHOD"
echo "length=$(wc -c | tr -d ' ')"
CGI
$s->start;
require LWP::UserAgent;
my $ua = LWP::UserAgent->new(timeout => 10);
$r = $ua->get($s->url('/echo.cgi'));
ok $r->code == 200;
ok $r->content =~ /^method=GET$/m;
$r = $ua->post($s->url('/echo.cgi'), Content => 'y' x 1234);
ok $r->content =~ /^length=1234$/m;
ok !$s->crashes;
$s->stop;
