# fulcrum: a TLS-terminating L4/L7 load balancer. Plain GNU make; see README.md.
#   make demo    install the missing build and demo packages, build, run on the embedded config
#   make test    install missing packages, build, run unit tests (plain and sanitized) and e2e
#   make check   the whole suite (unit + e2e) under AddressSanitizer + UBSan

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
SANITIZE ?= 0

CC      ?= cc
VERSION := 0.1.0
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

# Debian packages: the build's, the demo's (gunicorn and Flask for its three instances,
# curl for its first requests) and the rest the tests need. `make demo` installs only the
# first two lists (the target-specific values below reach its deps prerequisite).
DEB_BUILD := gcc make pkg-config libev-dev libssl-dev libconfig-dev libcurl4-openssl-dev libcjson-dev libpcre2-dev \
             libbrotli-dev libzstd-dev zlib1g-dev libnghttp2-dev
DEB_DEMO  := python3 python3-flask gunicorn curl
DEB_TEST  := libcmocka-dev python3-websockets openssl procps testssl.sh prometheus brotli zstd wrk \
             yamllint python3-yaml debhelper lintian fakeroot man-db etcd-server etcd-client \
             nghttp2-client python3-h2
# (etcd-server and etcd-client: t_etcd_store runs a 3-member etcd cluster, and etcdctl
# on it, against the cluster store's etcd client.)
# (wrk: t_cluster_failover sends load through the replicas while etcd fails over.)
# (brotli and zstd: t_compress decompresses what fulcrum sends with their commands.)
# (debhelper, lintian, fakeroot and man-db: t_deb_package builds, checks and installs the
# package with `make deb` and renders its man pages.)
# (prometheus is there for promtool: t_metrics runs `promtool check metrics`. On a host
# with systemd the package also enables a Prometheus service; the tests do not use it,
# and `make demo` does not install it.)
DEB_PKGS  := $(DEB_BUILD) $(DEB_DEMO) $(DEB_TEST)
# Only `make bench` needs these: the peers, the load generators and callgrind.
DEB_BENCH := haproxy nginx libnginx-mod-stream wrk nghttp2-client valgrind util-linux varnish

# The status page's browser test (tests/e2e/control/t_status_page*.sh) and `make screenshot`
# need a headless browser; the demo does not, so only these targets install it (a
# target-specific value reaches the deps prerequisite).
DEB_BROWSER := chromium chromium-driver
test check screenshot: DEB_PKGS += $(DEB_BROWSER)

# Commands the tests need that may come from outside Debian too, as command:package; the
# package is installed only when the command is missing (kubectl: Debian's package is
# kubernetes-client, while e.g. Google's kubectl package provides the same command).
DEB_CMDS  := kubectl:kubernetes-client

# The demo: the build and the demo's own packages, no test tools, no kubectl.
demo: DEB_PKGS = $(DEB_BUILD) $(DEB_DEMO)
demo: DEB_CMDS =

# Only `make soak` needs these (a fast backend and load generator).
DEB_SOAK  := wrk nginx

PKG_LIBS := openssl libconfig libcurl libcjson libpcre2-8 libbrotlienc libzstd zlib libnghttp2
# Debian's libev-dev ships no pkg-config file; fall back to plain -lev.
EV_CFLAGS := $(shell pkg-config --cflags libev 2>/dev/null)
EV_LIBS   := $(shell pkg-config --libs libev 2>/dev/null || echo -lev)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -pthread -MMD -MP
CFLAGS  += -Iinclude $(EV_CFLAGS) $(shell pkg-config --cflags $(PKG_LIBS) 2>/dev/null)
CFLAGS  += -DFULCRUM_VERSION='"$(VERSION)"' -DFULCRUM_GIT_REV='"$(GIT_REV)"'
CFLAGS  += $(EXTRA_CFLAGS)
LDLIBS  += $(shell pkg-config --libs $(PKG_LIBS) 2>/dev/null || echo -lssl -lcrypto -lconfig -lcurl -lcjson -lpcre2-8 -lbrotlienc -lzstd -lz -lnghttp2) $(EV_LIBS) -pthread -lm

ifeq ($(SANITIZE),1)
CFLAGS  += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# The source folders are layers (docs/architecture.md, "Layers"; make deps-check):
# util < proto < tls < core < {lb, health} < control; cli/ (fulcrumctl) uses util and
# proto only.
LAYERS    := util proto tls core lb health control
CTL_SRCS  := $(wildcard cli/*.c)
LIB_SRCS  := $(filter-out control/main.c,$(foreach d,$(LAYERS),$(wildcard $(d)/*.c)))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB_OBJS  += $(BUILD)/gen/status_page.o
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all demo test test-programs check-programs check unit e2e e2e-tools deps deps-check request-path install deb clean bench fuzz fuzz-build fuzz-replay screenshot soak
all: $(BUILD)/fulcrum $(BUILD)/fulcrumctl

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The status page (control/status_page.html) is compiled in as a byte array. od and sed
# are in every Debian (coreutils, sed: Essential), unlike xxd, and the array is named
# here, not after the file's path as with xxd -i or ld -b binary; the generated C is
# plain data that any compiler and sanitizer take.
$(BUILD)/gen/status_page.c: control/status_page.html
	@mkdir -p $(dir $@)
	@{ echo '/* generated by the Makefile from control/status_page.html: edit that file */'; \
	  echo '#include "ctl_page.h"'; \
	  echo 'const unsigned char ctl_status_page_html[] = {'; \
	  od -An -v -tx1 $< | sed -e 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo 'const size_t ctl_status_page_html_len = sizeof(ctl_status_page_html);'; } >$@.tmp
	@mv $@.tmp $@

$(BUILD)/gen/status_page.o: $(BUILD)/gen/status_page.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libfulcrum.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fulcrum: $(BUILD)/control/main.o $(BUILD)/libfulcrum.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The control API's client: libcurl, cJSON and a few of util/, none of the load balancer.
CTL_UTIL := $(addprefix $(BUILD)/util/,clock.o array.o textbuf.o)
$(BUILD)/fulcrumctl: $(CTL_SRCS:%.c=$(BUILD)/%.o) $(CTL_UTIL)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Each unit test links the library; a test may add fakes with --wrap in TEST_WRAP_<name>.
TEST_WRAP_test_array := -Wl,--wrap=realloc
TEST_WRAP_test_textbuf := -Wl,--wrap=realloc
TEST_WRAP_test_body := -Wl,--wrap=open,--wrap=pwrite,--wrap=pread,--wrap=ftruncate,--wrap=malloc
TEST_WRAP_test_generation := -Wl,--wrap=config_free -Wl,--wrap=stats_backend_free
TEST_WRAP_test_change_pipeline := -Wl,--wrap=generation_build -Wl,--wrap=fdatasync
TEST_WRAP_test_conn_driver := -Wl,--wrap=upstream_attach,--wrap=client_update
# ... and libraries only it needs in TEST_LIBS_<name> (the decoders the round trips use).
TEST_LIBS_test_compress := $(shell pkg-config --libs libbrotlidec 2>/dev/null || echo -lbrotlidec)
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libfulcrum.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(TEST_WRAP_$*) -o $@ $^ $(LDLIBS) $(TEST_LIBS_$*) -lcmocka

# Installs the Debian packages that are missing (apt-get update first). Needs root
# only when something is missing.
deps:
	@missing=""; for p in $(DEB_PKGS) $(EXTRA_DEBS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	for c in $(DEB_CMDS); do \
	  command -v $${c%%:*} >/dev/null || missing="$$missing $${c#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing missing Debian packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "error: run as root (or install:$$missing)" >&2; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

demo: deps
	@$(MAKE) --no-print-directory all
	./scripts/demo.sh $(BUILD)/fulcrum

unit: $(TEST_BINS)
	@pass=0; fail=0; for t in $(TEST_BINS); do \
	  echo "== $$t"; if $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED: $$t"; fi; \
	done; echo "unit: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# Every arrow between the source folders points down the layers (tools/deps_check.py:
# the symbols each object takes from another folder's objects, and the #include lines).
deps-check: $(BUILD)/fulcrum $(BUILD)/fulcrumctl
	@python3 tools/deps_check.py $(BUILD)

# The source files one plain HTTP request passes through (a traced build in build/trace;
# tools/request_path.sh; docs/internals/layers.md, "Following one request"); fails when
# its calls between files are not one direction (make test runs it).
request-path:
	@tools/request_path.sh --check

# Programs only the end-to-end scenarios run (tests/tools/*.c, each on the library):
# etcd_store_tool drives the cluster store for t_etcd_store.
E2E_TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(wildcard tests/tools/*.c))
$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(BUILD)/libfulcrum.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
e2e-tools: $(E2E_TOOLS)

e2e: $(BUILD)/fulcrum $(BUILD)/fulcrumctl $(E2E_TOOLS)
	FULCRUM=$(abspath $(BUILD)/fulcrum) ./tests/e2e/run.sh

# make test builds what its tests run two at a time (CI's machines have two cores: the
# builds took over a minute of the suite's 20 serially), then runs the tests one after
# another, as before.
test-programs: all $(TEST_BINS) $(E2E_TOOLS)
check-programs: $(TEST_BINS) $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)

test: deps
	@$(MAKE) -j2 --no-print-directory test-programs
	@$(MAKE) --no-print-directory all unit deps-check request-path
	@$(MAKE) -j2 --no-print-directory BUILD=build/san SANITIZE=1 check-programs
	@$(MAKE) --no-print-directory BUILD=build/san SANITIZE=1 unit fuzz-replay
	@$(MAKE) --no-print-directory e2e

check: deps
	@$(MAKE) --no-print-directory BUILD=build/san SANITIZE=1 unit fuzz-replay e2e

# docs/status-page.png: the status page of a live fulcrum with traffic, in headless
# chromium (about two minutes: the page gathers history first).
screenshot: deps
	@$(MAKE) --no-print-directory all
	FULCRUM=$(abspath $(BUILD)/fulcrum) ./scripts/screenshot.sh docs/status-page.png

# The benchmark beside HAProxy and nginx (bench/README.md): about 20 minutes; results in
# bench/results/latest.md and docs/benchmarks.md; then HTTP/2 (bench/h2.sh, ~3 minutes,
# its summary in bench/results/h2.txt; skipped when BENCH_ONLY names no "h2").
# BENCH_QUICK=1: one short round, for development (docs/benchmarks.md untouched).
# Then cluster mode's write-to-applied latency (bench/cluster.sh, ~1 minute, needs etcd-server
# and etcd-client from the test packages; its summary in bench/results/cluster.txt; skipped
# when BENCH_ONLY names no "cluster").
bench:
	@$(MAKE) --no-print-directory deps EXTRA_DEBS="$(DEB_BENCH)"
	@$(MAKE) --no-print-directory all
	./bench/run.sh $(BUILD)/fulcrum
	case " $${BENCH_ONLY:-h2} " in *" h2 "*) ./bench/h2.sh $(BUILD)/fulcrum ;; esac
	case " $${BENCH_ONLY:-cluster} " in *" cluster "*) ./bench/cluster.sh $(BUILD)/fulcrum ;; esac

# The memory soak (minutes; not in make test): a million requests with reloads and API
# churn, RSS after warm-up vs at the end, then a leak check of the sanitized build.
# SOAK_REQUESTS, SOAK_MAX_S, SOAK_SAN_S tune it (tests/soak/soak.sh, docs/reliability.md).
soak: deps
	@$(MAKE) --no-print-directory deps EXTRA_DEBS="$(DEB_SOAK)"
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILD=build/san SANITIZE=1 all
	FULCRUM=$(abspath $(BUILD)/fulcrum) FULCRUM_SAN=$(abspath build/san/fulcrum) ./tests/soak/soak.sh

# Fuzz targets (tests/fuzz/fuzz_<name>.c). `make fuzz` runs each under libFuzzer (clang,
# -fsanitize=fuzzer,address,undefined) for FUZZ_SECONDS, growing tests/fuzz/corpus/<name>;
# `fuzz-replay` (part of make test) feeds every corpus file to each target built with
# gcc and the sanitizers, so each input ever found stays a regression case.
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build/fuzz

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(BUILD)/libfulcrum.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

fuzz-replay: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)
	@pass=0; fail=0; for t in $(FUZZ_TARGETS); do \
	  if LSAN_OPTIONS=suppressions=$(abspath tests/fuzz/lsan.supp) $(BUILD)/fuzz/replay_$$t tests/fuzz/corpus/$$t/*; then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED: fuzz corpus $$t"; fi; \
	done; echo "fuzz-replay: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# FUZZ_RUNS=N runs each target for N executions instead of FUZZ_SECONDS (docs/fuzzing.md).
# The config target runs without libFuzzer's per-input leak check: libconfig leaks a token
# on nearly every syntax error, and the scan that follows each one cut it to ~160 runs/s;
# fuzz-replay's LeakSanitizer still checks every corpus input for fulcrum's own leaks.
FUZZ_RUNS ?=
FUZZ_LIMIT = $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS))

fuzz-build: deps
	@command -v clang >/dev/null || { echo "make fuzz needs clang (apt-get install clang libclang-rt-14-dev)"; exit 1; }
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang \
	  EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" $(FUZZ_BUILD)/libfulcrum.a
	@for t in $(FUZZ_TARGETS); do \
	  clang $(filter-out -MMD -MP,$(CFLAGS)) -fsanitize=fuzzer,address,undefined -o $(FUZZ_BUILD)/fuzz_$$t \
	    tests/fuzz/fuzz_$$t.c $(FUZZ_BUILD)/libfulcrum.a $(LDLIBS) || exit 1; \
	done

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/new/$$t; \
	  echo "== fuzz $$t ($(FUZZ_LIMIT))"; \
	  case $$t in config) extra=-detect_leaks=0;; *) extra=;; esac; \
	  LSAN_OPTIONS=suppressions=$(abspath tests/fuzz/lsan.supp) $(FUZZ_BUILD)/fuzz_$$t $(FUZZ_LIMIT) $$extra -print_final_stats=1 \
	    -artifact_prefix=tests/fuzz/corpus/$$t/crash- $(FUZZ_BUILD)/new/$$t tests/fuzz/corpus/$$t \
	    >$(FUZZ_BUILD)/fuzz_$$t.log 2>&1; rc=$$?; \
	  grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' $(FUZZ_BUILD)/fuzz_$$t.log; \
	  if [ $$rc -ne 0 ]; then tail -40 $(FUZZ_BUILD)/fuzz_$$t.log; exit 1; fi; \
	done

# The unit names its binaries under /usr/local/bin: installed with PREFIX's bin instead
# (/usr/bin for the Debian package).
MANDIR ?= $(PREFIX)/share/man
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/fulcrum $(DESTDIR)/lib/systemd/system
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/fulcrum $(DESTDIR)$(PREFIX)/bin/fulcrum
	install -m 0755 $(BUILD)/fulcrumctl $(DESTDIR)$(PREFIX)/bin/fulcrumctl
	sed -e 's|/usr/local/bin/|$(PREFIX)/bin/|g' deploy/systemd/fulcrum.service >$(BUILD)/fulcrum.service
	install -m 0644 $(BUILD)/fulcrum.service $(DESTDIR)/lib/systemd/system/fulcrum.service
	install -m 0644 docs/fulcrum.example.cfg $(DESTDIR)$(PREFIX)/share/fulcrum/fulcrum.example.cfg
	install -m 0644 man/fulcrumctl.1 $(DESTDIR)$(MANDIR)/man1/fulcrumctl.1
	install -m 0644 man/fulcrum.cfg.5 $(DESTDIR)$(MANDIR)/man5/fulcrum.cfg.5
	install -m 0644 man/fulcrum.8 $(DESTDIR)$(MANDIR)/man8/fulcrum.8

# The Debian package (debian/, docs/packaging.md): dpkg-buildpackage on a clean copy of
# the files git tracks (as they are in the work tree; new files need `git add`) in
# build/deb/src, so nothing built or left here leaks in; the .deb lands in build/deb.
# Then lintian, failing on any error (E:). DEB_BUILD_OPTIONS passes through (nocheck,
# parallel=N, noddebs).
DEB_PKG_TOOLS := debhelper lintian fakeroot dpkg-dev
DEB_DIR ?= build/deb
deb:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(DEB_BUILD)" DEB_CMDS= EXTRA_DEBS="$(DEB_PKG_TOOLS)"
	@git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "make deb needs a git checkout (it packages the files git tracks)" >&2; exit 1; }
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	git ls-files -z --cached | tar --null -T - --ignore-failed-read -cf - | tar -xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b >../build.log 2>&1 || { tail -40 ../build.log; exit 1; }
	@ls $(DEB_DIR)/*.deb
	@rc=0; lintian --info $(DEB_DIR)/*.changes >$(DEB_DIR)/lintian.txt 2>&1 || rc=$$?; \
	cat $(DEB_DIR)/lintian.txt; \
	e=$$(grep -c '^E:' $(DEB_DIR)/lintian.txt); w=$$(grep -c '^W:' $(DEB_DIR)/lintian.txt); \
	echo "lintian: $$e errors, $$w warnings ($(DEB_DIR)/lintian.txt)"; \
	if [ "$$e" != 0 ] || [ $$rc != 0 ]; then echo "lintian failed (exit $$rc)" >&2; exit 1; fi

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
