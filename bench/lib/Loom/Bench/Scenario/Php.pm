package Loom::Bench::Scenario::Php;
# 11 (prefork only): mod_php serving a small PHP page to 50 keep-alive
# clients, then the same load while N idle keep-alive connections are held
# (default 2000): the rate with them against the rate without, and the
# whole server's memory (PSS) in both.
use v5.36;
use Loom::Bench::Util qw(note fmt_num spurt);
use Loom::Bench::Runner qw(start_servers stop_servers measure_load interleave summarize);
use Loom::Bench::Helper qw(conns_start conns_cmd conns_stop);
use Loom::Bench::Proc qw(server_pids);
use Loom::Proc qw(pss_kb);

# Where `make deps` unpacks Debian's libapache2-mod-php8.2.
our $MOD_PHP = $ENV{LOOM_MOD_PHP}
    // '/var/cache/loom/mod-php/usr/lib/apache2/modules/libphp8.2.so';
my $IDLE = 2000;

sub _idle ($ctx) { $ctx->{opts}{quick} ? 200 : $IDLE }

sub cases ($ctx) {
    my $n = _idle($ctx);
    return ({ id => 'php', mpms => ['prefork'],
              title => "php: a small PHP page, 50 keep-alive clients, then with $n idle keep-alive connections held",
              what => 'Debian\'s mod_php (libapache2-mod-php8.2) serves /small.php (`<?php echo "ok ",'
                    . ' PHP_VERSION;`) to wrk, 1 thread, 50 keep-alive connections ("without"); then a '
                    . "helper opens $n connections, one GET each, holds them, and the same load runs again. "
                    . 'Memory: PSS of all server processes, in both.',
              show => [qw(rps_base rps rps_vs_base p99 cpu_us_req socket_errors non2xx held asked
                          pss_base_mb pss_mb)],
              ratio => [qw(rps_base rps pss_mb)] });
}

sub pss_mb ($srv) { pss_kb(@{ server_pids($srv->pid) }) / 1024 }

sub one ($ctx, $srv, $round) {
    my $o = $ctx->{opts};
    my $n = _idle($ctx);
    my %load = (path => '/small.php', conns => 50, duration => $o->{duration});
    my $base = measure_load($ctx, $srv, %load);
    my $pss0 = pss_mb($srv);
    my $h = conns_start(port => $srv->port, mode => 'idle', nofile => $ctx->{nofile},
                        limit => $o->{open_limit}, stall => $o->{stall}, dir => $ctx->{tmp});
    my $a = conns_cmd($h, sprintf 'open %d %.1f', $n, $o->{open_budget});
    my $m = measure_load($ctx, $srv, %load);
    my $pss = pss_mb($srv);
    my $chk = conns_cmd($h, 'check');
    conns_stop($h);
    $m->{rps_base} = $base->{rps};
    $m->{rps_vs_base} = $base->{rps} ? 100 * $m->{rps} / $base->{rps} : undef;
    $m->{held} = $chk->{held};
    $m->{asked} = $n;
    $m->{pss_base_mb} = $pss0;
    $m->{pss_mb} = $pss;
    push @{ $m->{notes} }, "only $a->{answered} of $n idle connections got an answer"
        if $a->{answered} < $n;
    note sprintf "  php       round %d %-14s %9s req/s (without: %s), held %d/%d, %.1f MB",
        $round, $srv->name, fmt_num($m->{rps}), fmt_num($base->{rps}), $chk->{held}, $n, $pss;
    return $m;
}

sub run ($ctx) {
    die "mod_php is not at $MOD_PHP (make deps unpacks it there)\n" unless -f $MOD_PHP;
    spurt("$ctx->{docroot}/small.php", '<?php echo "ok ", PHP_VERSION, "\n";' . "\n");
    my $conf = "LoadModule php_module $MOD_PHP\n"
             . "<FilesMatch \"\\.php\$\">\n    SetHandler application/x-httpd-php\n</FilesMatch>\n";
    my $s = start_servers($ctx, scenario => 'php', mpms => ['prefork'], extra => $conf);
    my $res = interleave($s, $ctx->{opts}{rounds_other}, sub { one($ctx, @_) });
    stop_servers($ctx, $s);
    my %sum = map {
        ($_ => summarize($res->{$_}, median => [qw(rps rps_base rps_vs_base p99 cpu_us_req held asked
                                                    pss_base_mb pss_mb)],
                                     sum => [qw(socket_errors non2xx failed)]));
    } keys %$res;
    return { php => \%sum };
}

1;
