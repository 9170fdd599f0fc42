package Loom::Bench::Site;
# The content every server serves: one docroot with the test files, and a
# throw-away self-signed certificate for the TLS scenario.
use v5.36;
use Exporter 'import';
use Loom::Bench::Util qw(spurt fail run_bounded);

our @EXPORT_OK = qw(make_docroot make_cert %FILES);

# URL path => size in bytes.
our %FILES = ('/small.html' => 100, '/10k.bin' => 10 * 1024, '/1m.bin' => 1024 * 1024);

sub make_docroot ($dir) {
    mkdir $dir, 0755 or fail "mkdir $dir: $!";
    chmod 0755, $dir;
    my $small = "<!doctype html><title>loom</title><p>"
              . ('x' x 100);
    $small = substr($small, 0, 99) . "\n";
    spurt("$dir/small.html", $small, 0644);
    spurt("$dir/index.html", $small, 0644);
    for my $f ('/10k.bin', '/1m.bin') {
        my $chunk = join '', map { chr(($_ * 7 + 13) % 256) } 0 .. 1023;
        spurt("$dir$f", $chunk x ($FILES{$f} / 1024), 0644);
    }
    return $dir;
}

# Writes cert.pem and key.pem (EC P-256, valid 2 days) into $dir.
sub make_cert ($dir) {
    my $r = run_bounded(limit => 30, dir => $dir, cmd => [
        'openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
        'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', "$dir/key.pem", '-out', "$dir/cert.pem"]);
    fail "openssl could not make a certificate: $r->{err}" if $r->{rc} != 0;
    chmod 0644, "$dir/cert.pem";
    chmod 0600, "$dir/key.pem";
    return ("$dir/cert.pem", "$dir/key.pem");
}

1;
