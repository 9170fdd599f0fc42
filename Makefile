# Loom: drop-in MPMs for Apache httpd 2.4, built with Debian's apxs.
#
# make            build every MPM under modules/ (core first, as a PIC archive)
# make deb        a Debian package of the modules, snippets and loom-takeover
# make install    copy the .so files to apxs's LIBEXECDIR, snippets to mods-available
# make deps       install (as root) every Debian package build, tests and bench need
# make check      build, then the C unit tests (prove t/00unit.t): a few
#                 seconds, any user, nothing installed; needs apache2-dev
# make test       deps + build (plain and ASan), then the whole suite for every
#                 Loom MPM, then the unit tests and loom_event's suite again
#                 under AddressSanitizer (t/run-suite)
# make asan       the unit tests and the whole suite of every MPM under ASan
# make valgrind   each MPM in one process (-X) under memcheck (t/memcheck/run)
# make demo       deps + build, then a sample site on 127.0.0.1:8080 (foreground)
# make bench      the benchmark against the stock MPMs (bench/run)
# make soak       a long steady load; every child's RSS and fds over time (bench/soak)

APXS     ?= apxs
CC       := $(shell $(APXS) -q CC 2>/dev/null || echo cc)
LIBEXEC  := $(shell $(APXS) -q LIBEXECDIR 2>/dev/null)
SYSCONF  := $(shell $(APXS) -q SYSCONFDIR 2>/dev/null)
HTTPD_INC := $(shell $(APXS) -q INCLUDEDIR 2>/dev/null)
APR_INC  := $(shell apr-1-config --includes 2>/dev/null)

CFLAGS_APXS := $(shell $(APXS) -q CFLAGS CPPFLAGS EXTRA_CPPFLAGS 2>/dev/null | tr ';' ' ')
WARN     := -Wall -Wextra -Wswitch -Wno-unused-parameter -Wmissing-prototypes
EXTRA_CFLAGS ?=
CFLAGS   := $(CFLAGS_APXS) $(WARN) -std=gnu11 -fPIC -fvisibility=hidden \
            -Iinclude -I$(HTTPD_INC) $(APR_INC) $(EXTRA_CFLAGS)
LDFLAGS  := -shared -Wl,-z,relro -Wl,-z,now $(EXTRA_LDFLAGS)

BUILT    := $(notdir $(patsubst %/,%,$(dir $(wildcard modules/*/mpm.mk))))
CORE_SRC := $(wildcard modules/core/*.c)
CORE_OBJ := $(CORE_SRC:.c=.o)
CORE_LIB := modules/core/libloomcore.a
SOS      := $(foreach m,$(BUILT),modules/$(m)/mod_mpm_loom_$(m).so)
HEADERS  := $(wildcard include/loom/*.h modules/*/*.h)

.PHONY: all install uninstall clean deps check tools test demo bench soak \
        asan asan-build valgrind apxs-check deb
all: $(SOS)

# The flags above come from apxs when this file is read. Without apache2-dev
# they are empty, and the compiler would stop on a missing httpd.h; say why.
apxs-check:
	@test -n "$(HTTPD_INC)" || { echo "'$(APXS) -q INCLUDEDIR' answered nothing:" \
	  "apache2-dev is missing (install it, or run 'make deps' as root)" >&2; exit 1; }

modules/%.o: modules/%.c $(HEADERS) | apxs-check
	$(CC) $(CFLAGS) -c -o $@ $<

$(CORE_LIB): $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

# Each MPM folder has an mpm.mk naming its sources (SRC_<name>).
include $(wildcard modules/*/mpm.mk)

# Each module is also exported under the stock MPM's symbol (mpm_event_module
# for loom_event), so that loom-takeover's "LoadModule mpm_event_module
# .../mod_mpm_loom_event.so" works and Debian's <IfModule mpm_event_module>
# sizing applies to it.
stock_sym = mpm_$(patsubst mod_mpm_loom_%.so,%,$(notdir $(1)))_module
modules/%.so: $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(CORE_LIB) \
	  -Wl,--defsym=$(call stock_sym,$@)=$(subst mpm_,mpm_loom_,$(call stock_sym,$@))

install: all
	install -d $(DESTDIR)$(LIBEXEC) $(DESTDIR)$(SYSCONF)/mods-available
	install -m 644 $(SOS) $(DESTDIR)$(LIBEXEC)/
	for m in $(BUILT); do \
	  install -m 644 conf-snippets/mpm_loom_$$m.load conf-snippets/mpm_loom_$$m.conf \
	    $(DESTDIR)$(SYSCONF)/mods-available/; done

uninstall:
	for m in $(BUILT); do rm -f $(DESTDIR)$(LIBEXEC)/mod_mpm_loom_$$m.so \
	  $(DESTDIR)$(SYSCONF)/mods-available/mpm_loom_$$m.load \
	  $(DESTDIR)$(SYSCONF)/mods-available/mpm_loom_$$m.conf; done

deps:
	./.ci/deps

# The quick loop: no root, no package installed, no server started.
check: tools
	$(MAKE) all
	prove t/00unit.t

# What the build and the unit tests need from the system, said plainly
# rather than as a compiler error about a missing httpd.h.
tools:
	@for tool in $(APXS) apr-1-config prove; do \
	  command -v $$tool >/dev/null 2>&1 || { \
	    echo "make: '$$tool' not found: install apache2-dev and perl" \
	         "(make deps does, as root), or set APXS=/path/to/apxs" >&2; \
	    exit 1; }; \
	done

# Targets that start with deps build in a second make, which reads apxs's
# flags only after deps has installed apache2-dev.
test: deps
	$(MAKE) all asan-build
	LOOM_ASAN_MPMS="$${LOOM_ASAN_MPMS-event}" ./t/run-suite

# The modules again, instrumented, in build/asan (a copy of the sources, so
# the plain build stays as it is).
ASAN_DIR := build/asan
asan-build:
	rm -rf $(ASAN_DIR) && mkdir -p $(ASAN_DIR)
	cp -r Makefile include modules $(ASAN_DIR)/
	$(MAKE) -s -C $(ASAN_DIR) clean
	$(MAKE) -s -C $(ASAN_DIR) \
	  EXTRA_CFLAGS="-fsanitize=address -fno-omit-frame-pointer" \
	  EXTRA_LDFLAGS="-fsanitize=address"

asan: deps
	$(MAKE) all asan-build
	LOOM_MPMS=none LOOM_ASAN_MPMS="$(BUILT)" ./t/run-suite

valgrind: deps
	$(MAKE) all
	./t/memcheck/run $(BUILT)

demo: deps
	$(MAKE) all
	./conf-snippets/demo/run

bench: all
	./bench/run $(if $(QUICK),--quick) $(if $(SCENARIOS),--scenarios $(SCENARIOS)) $(if $(MPMS),--mpms $(MPMS))

soak: all
	./bench/soak $(if $(SECONDS),--seconds $(SECONDS)) $(if $(MPMS),--mpms "$(MPMS)")

# The Debian package, built from a clean copy of the sources in build/deb
# (dpkg-buildpackage writes beside the tree it builds); lintian then fails
# the target on any error.
DEB_DIR := build/deb
deb:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/loom
	cp -r Makefile include modules conf-snippets debian docs README.md LICENSE NOTICE \
	  $(DEB_DIR)/loom/
	$(MAKE) -s -C $(DEB_DIR)/loom clean
	cd $(DEB_DIR)/loom && dpkg-buildpackage -b -us -uc
	lintian --fail-on error $(DEB_DIR)/*.changes
	@ls $(DEB_DIR)/*.deb

clean:
	rm -f modules/*/*.o modules/*/*.so $(CORE_LIB) t/unit/*.bin
	rm -rf build
