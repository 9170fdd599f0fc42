package Loom::Cgroup;
# A scratch control group for the root-stage tests (t/cgroup/*.t), in the
# hierarchy that holds a controller: cgroup v2 where its hierarchy has the
# controller for our group, else v1.
use v5.36;
use Exporter 'import';

our @EXPORT_OK = qw(scratch_group write_file);

=head1 Loom::Cgroup

C<scratch_group($controller)> makes a child group of the test process's
own group in the hierarchy that holds $controller ("cpu", "memory") and
returns an object, or (undef, $why) when the machine has no such
hierarchy or the group cannot be made. C<< $g->version >> is 1 or 2,
C<< $g->dir >> its directory, C<< $g->set($file, $text) >> writes one of
its files (true on success), C<< $g->run(sub { ... }) >> runs code with
the test process inside the group (what it starts stays there) and
brings it back, and C<< $g->remove >> removes the empty group.
C<write_file($path, $text)> writes a file, true on success.

=cut

sub write_file ($path, $text) {
    open my $fh, '>', $path or return 0;
    my $ok = print $fh $text;
    return close($fh) && $ok;
}

# [version, directory of our own group] of the hierarchy with $controller.
sub _hierarchy ($controller) {
    my (%mount, %group);
    open my $mi, '<', '/proc/self/mountinfo' or return;
    while (<$mi>) {
        my ($pre, $post) = split / - /;
        my (undef, undef, undef, $root, $dir) = split ' ', $pre;
        my ($fs, undef, $opts) = split ' ', $post;
        $mount{2} = [$dir, $root] if $fs eq 'cgroup2';
        $mount{1} = [$dir, $root] if $fs eq 'cgroup' && ",$opts," =~ /,\Q$controller\E,/;
    }
    open my $cg, '<', '/proc/self/cgroup' or return;
    while (<$cg>) {
        chomp;
        my ($id, $ctl, $path) = split /:/, $_, 3;
        $group{2} = $path if $id eq '0' && $ctl eq '';
        $group{1} = $path if ",$ctl," =~ /,\Q$controller\E,/;
    }
    for my $v (2, 1) {
        next unless $mount{$v} && defined $group{$v};
        my ($dir, $root) = @{ $mount{$v} };
        my $rel = $root eq '/' ? $group{$v} : substr($group{$v}, length $root);
        my $own = "$dir$rel" =~ s{/$}{}r;
        if ($v == 2) {
            open my $c, '<', "$own/cgroup.controllers" or next;
            next unless <$c> =~ /\b\Q$controller\E\b/;
        }
        return ($v, $own);
    }
    return;
}

sub scratch_group ($controller) {
    my ($v, $own) = _hierarchy($controller)
        or return (undef, "this machine has no cgroup $controller controller to test with");
    my $dir = "$own/loom-test-$controller-$$";
    mkdir $dir or return (undef, "mkdir $dir: $! (no cgroup can be made here)");
    # v2: the parent must hand the controller down (it may have already).
    write_file("$own/cgroup.subtree_control", "+$controller") if $v == 2;
    return bless { v => $v, own => $own, dir => $dir }, __PACKAGE__;
}

sub version ($self) { $self->{v} }
sub dir ($self) { $self->{dir} }
sub set ($self, $file, $text) { write_file("$self->{dir}/$file", $text) }

sub run ($self, $code) {
    write_file("$self->{dir}/cgroup.procs", $$) or die "joining $self->{dir}: $!";
    my @r = eval { $code->() };
    my $err = $@;
    write_file("$self->{own}/cgroup.procs", $$) or die "leaving $self->{dir}: $!";
    die $err if $err;
    return wantarray ? @r : $r[0];
}

sub remove ($self) {
    rmdir $self->{dir} or warn "rmdir $self->{dir}: $!\n";
}

1;
