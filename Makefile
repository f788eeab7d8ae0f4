# fulcrum: a TLS-terminating L4/L7 load balancer. Plain GNU make; see README.md.
#   make demo    install missing Debian packages, build, run on the embedded config
#   make test    install missing packages, build, run unit tests (plain and sanitized) and e2e
#   make check   the whole suite (unit + e2e) under AddressSanitizer + UBSan

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
SANITIZE ?= 0

CC      ?= cc
VERSION := 0.1.0
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

# Debian packages the build, the tests and the demo need.
DEB_BUILD := gcc make pkg-config libev-dev libssl-dev libconfig-dev libcurl4-openssl-dev libcmocka-dev libcjson-dev
DEB_RUN   := python3 python3-flask gunicorn python3-websockets curl openssl procps testssl.sh
DEB_PKGS  := $(DEB_BUILD) $(DEB_RUN)
# Only `make soak` needs these (a fast backend and load generator).
DEB_SOAK  := wrk nginx

PKG_LIBS := openssl libconfig libcurl libcjson
# Debian's libev-dev ships no pkg-config file; fall back to plain -lev.
EV_CFLAGS := $(shell pkg-config --cflags libev 2>/dev/null)
EV_LIBS   := $(shell pkg-config --libs libev 2>/dev/null || echo -lev)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -pthread -MMD -MP
CFLAGS  += -Iinclude $(EV_CFLAGS) $(shell pkg-config --cflags $(PKG_LIBS) 2>/dev/null)
CFLAGS  += -DFULCRUM_VERSION='"$(VERSION)"' -DFULCRUM_GIT_REV='"$(GIT_REV)"'
CFLAGS  += $(EXTRA_CFLAGS)
LDLIBS  += $(shell pkg-config --libs $(PKG_LIBS) 2>/dev/null || echo -lssl -lcrypto -lconfig -lcurl -lcjson) $(EV_LIBS) -pthread -lm

ifeq ($(SANITIZE),1)
CFLAGS  += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRCS  := $(filter-out lb/main.c,$(wildcard lb/*.c)) $(wildcard health/*.c) \
             $(filter-out control/fulcrumctl.c,$(wildcard control/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all demo test check unit e2e deps install clean bench fuzz fuzz-build fuzz-replay soak
all: $(BUILD)/fulcrum $(BUILD)/fulcrumctl

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libfulcrum.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fulcrum: $(BUILD)/lb/main.o $(BUILD)/libfulcrum.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The control API's client: libcurl and cJSON only, none of the load balancer.
$(BUILD)/fulcrumctl: $(BUILD)/control/fulcrumctl.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Each unit test links the library; a test may add fakes with --wrap in TEST_WRAP_<name>.
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libfulcrum.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(TEST_WRAP_$*) -o $@ $^ $(LDLIBS) -lcmocka

# Installs the Debian packages that are missing (apt-get update first). Needs root
# only when something is missing.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing missing Debian packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "error: run as root (or install:$$missing)" >&2; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

demo: deps
	@$(MAKE) --no-print-directory all
	./tests/e2e/demo.sh $(BUILD)/fulcrum

unit: $(TEST_BINS)
	@pass=0; fail=0; for t in $(TEST_BINS); do \
	  echo "== $$t"; if $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED: $$t"; fi; \
	done; echo "unit: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

e2e: $(BUILD)/fulcrum $(BUILD)/fulcrumctl
	FULCRUM=$(abspath $(BUILD)/fulcrum) ./tests/e2e/run.sh

test: deps
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory BUILD=build/san SANITIZE=1 unit fuzz-replay
	@$(MAKE) --no-print-directory e2e

check: deps
	@$(MAKE) --no-print-directory BUILD=build/san SANITIZE=1 unit fuzz-replay e2e

# The memory soak (minutes; not in make test): a million requests with reloads and API
# churn, RSS after warm-up vs at the end, then a leak check of the sanitized build.
# SOAK_REQUESTS, SOAK_MAX_S, SOAK_SAN_S tune it (tests/soak/soak.sh, docs/reliability.md).
soak: deps
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(DEB_SOAK)"
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILD=build/san SANITIZE=1 all
	FULCRUM=$(abspath $(BUILD)/fulcrum) FULCRUM_SAN=$(abspath build/san/fulcrum) ./tests/soak/soak.sh

bench: all
	./bench/flask_scenario.sh $(BUILD)/fulcrum

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

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/fulcrum $(DESTDIR)/lib/systemd/system
	install -m 0755 $(BUILD)/fulcrum $(DESTDIR)$(PREFIX)/bin/fulcrum
	install -m 0755 $(BUILD)/fulcrumctl $(DESTDIR)$(PREFIX)/bin/fulcrumctl
	install -m 0644 deploy/systemd/fulcrum.service $(DESTDIR)/lib/systemd/system/fulcrum.service
	install -m 0644 docs/fulcrum.example.cfg $(DESTDIR)$(PREFIX)/share/fulcrum/fulcrum.example.cfg

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
