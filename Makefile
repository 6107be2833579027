# pycstorm: make (build), make run (the default scenario), make check (tests).
#
#   make PYTHON_CONFIG=/usr/bin/python3.11-config   build against another CPython
#   make V=1                                         show the commands
#   make DEVELOPER=1                                 warnings are errors
#   make check SANITIZE=address,undefined            sanitizer build and tests
#   make install PREFIX=/usr DESTDIR=/tmp/stage      install

PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
LIBDIR = $(PREFIX)/lib/pycstorm
SHAREDIR = $(PREFIX)/share/pycstorm
MANDIR = $(PREFIX)/share/man

CC ?= cc
CFLAGS ?= -O2 -g
PYTHON_CONFIG ?= python3-config
# The interpreter that belongs to PYTHON_CONFIG: python3-config -> python3.
PYTHON ?= $(patsubst %-config,%,$(PYTHON_CONFIG))
# libfiu's own POSIX preload, for the `fiu` fault.
FIU_POSIX_PRELOAD ?= /usr/lib/fiu/fiu_posix_preload.so

ifeq ($(origin CC),default)
CC = cc
endif

BUILD = build
BIN = bin

ifneq ($(SANITIZE),)
BUILD = build/sanitize
BIN = build/sanitize/bin
SAN_FLAGS = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
# Workers load the inject library with LD_PRELOAD ahead of the ASan runtime;
# it intercepts no allocation, so the link-order check is safe to skip.
export ASAN_OPTIONS = verify_asan_link_order=0:abort_on_error=0
export LSAN_OPTIONS = suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS = print_stacktrace=1:halt_on_error=1
endif

WARN = -Wall -Wextra -Wshadow -Wno-missing-field-initializers
ifneq ($(DEVELOPER),)
WARN += -Werror
endif

ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN_FLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SAN_FLAGS)

ifeq ($(V),)
Q = @
say = @printf '  %-7s %s\n' $(1) $(2);
else
Q =
say =
endif

# Python, resolved once per make run; the worker is built against it.
PY_INCLUDES := $(shell $(PYTHON_CONFIG) --includes 2>/dev/null)
PY_LIBS := $(shell $(PYTHON_CONFIG) --embed --ldflags 2>/dev/null)
PY_LIBDIR := $(shell $(PYTHON_CONFIG) --configdir >/dev/null 2>&1 && $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))' 2>/dev/null)
PY_VERSION := $(shell $(PYTHON) -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)
PY_RELEASE := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
PY_EXE := $(shell $(PYTHON) -c 'import sys; print(sys.executable)' 2>/dev/null)

# The layout is the architecture (runners/README): each folder's code may
# include only the folders listed for it, so a dependency that crosses the
# layering fails to compile instead of creeping in.
BASE = runners/base
STRATEGIES = runners/strategies
WORKER = runners/worker
ORCHESTRATOR = runners/orchestrator
CLI = runners/cli
FAULTS = inject/faults
PRELOAD = inject/preload
MODEL = results/model
FORMATS = results/formats
INC_$(BASE) = $(BASE)
INC_$(STRATEGIES) = $(BASE) $(STRATEGIES)
INC_$(WORKER) = $(BASE) $(STRATEGIES) $(WORKER)
INC_$(FAULTS) = $(BASE) $(FAULTS)
INC_$(PRELOAD) = $(BASE) $(FAULTS) $(PRELOAD)
INC_$(MODEL) = $(BASE) $(MODEL)
INC_$(FORMATS) = $(BASE) $(MODEL) $(FORMATS)
INC_$(ORCHESTRATOR) = $(BASE) $(STRATEGIES) $(WORKER) $(FAULTS) $(MODEL) $(ORCHESTRATOR)
INC_ALL = $(BASE) $(STRATEGIES) $(WORKER) $(FAULTS) $(PRELOAD) $(MODEL) $(FORMATS) \
	$(ORCHESTRATOR) $(CLI) $(CLI)/exec
INC_$(CLI) = $(INC_ALL)
INC_$(CLI)/exec = $(INC_ALL)
# -I flags for a source file: its folder's list, or everything (tests).
includes = $(addprefix -I,$(or $(INC_$(patsubst %/,%,$(dir $(1)))),$(INC_ALL)))

# Linked into every program but the preload library.
COMMON_SRC = $(BASE)/common.c $(BASE)/die.c $(BASE)/outcome.c $(BASE)/pyc.c $(BASE)/strbuf.c $(BASE)/record.c \
	$(STRATEGIES)/strategy.c $(STRATEGIES)/atomic.c $(wildcard $(STRATEGIES)/strategy-*.c) \
	$(WORKER)/worker-args.c $(MODEL)/stats.c
# What the faults' hooks need, in the preload library and in the command.
INJECT_COMMON = $(FAULTS)/fault.c $(wildcard $(FAULTS)/fault-*.c) $(FAULTS)/lockstate.c \
	$(FAULTS)/rollback.c $(PRELOAD)/scope.c
CLI_SRC = $(wildcard $(CLI)/*.c) $(wildcard $(CLI)/exec/*.c) $(wildcard $(ORCHESTRATOR)/*.c) \
	$(BASE)/proc.c $(BASE)/owned.c $(BASE)/fsinfo.c \
	$(filter-out $(MODEL)/stats.c,$(wildcard $(MODEL)/*.c)) $(wildcard $(FORMATS)/*.c) \
	$(INJECT_COMMON) $(FAULTS)/holder.c $(PRELOAD)/written.c
# The preload library: position-independent, with the fault hooks compiled in.
# It runs inside the user's process, so it links no die.c: nothing in it may
# exit (preload-check proves it on the built library).
INJECT_SRC = $(PRELOAD)/preload.c $(PRELOAD)/written.c $(INJECT_COMMON) $(BASE)/common.c
# The strategies as a library, for the interpreter runner's driver (ctypes).
STRATLIB_SRC = $(STRATEGIES)/stratlib.c $(STRATEGIES)/strategy.c $(STRATEGIES)/atomic.c \
	$(wildcard $(STRATEGIES)/strategy-*.c) $(BASE)/pyc.c $(BASE)/common.c $(BASE)/die.c
WORKER_SRC = $(WORKER)/worker.c $(WORKER)/embed.c $(STRATEGIES)/stratlib.c

COMMON_OBJ = $(COMMON_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ = $(CLI_SRC:%.c=$(BUILD)/%.o)
WORKER_OBJ = $(WORKER_SRC:%.c=$(BUILD)/%.o)
INJECT_OBJ = $(INJECT_SRC:%.c=$(BUILD)/pic/%.o)
STRATLIB_OBJ = $(sort $(STRATLIB_SRC:%.c=$(BUILD)/pic/%.o))

PROGRAMS = $(BIN)/pycstorm $(BIN)/pycstorm-worker $(BIN)/libpycstorm-inject.so \
	$(BIN)/libpycstorm-strategies.so $(BIN)/pycstorm-driver.py $(BIN)/pycstorm-judge.py \
	$(BIN)/pycstorm-cache-judge.py

.PHONY: all deps run check fidelity preload-check unit-tests integration-tests install uninstall clean bench bench-latency
all: $(PROGRAMS)

# Installs what is missing (only when something is), then builds.
deps:
	$(Q)sh ci/install-deps.sh --if-missing

$(BUILD)/%.o: %.c
	$(call say,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(call includes,$<) -c -o $@ $<

$(BUILD)/pic/%.o: %.c
	$(call say,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(call includes,$<) -fPIC -fvisibility=hidden -DPYCSTORM_PRELOAD -DFIU_ENABLE=1 -c -o $@ $<

$(BIN)/libpycstorm-inject.so: $(INJECT_OBJ)
	$(call say,LINK,$@)
	$(Q)mkdir -p $(BIN)
	$(Q)$(CC) $(ALL_LDFLAGS) -shared -o $@ $^ -lfiu -ldl

$(BIN)/libpycstorm-strategies.so: $(STRATLIB_OBJ)
	$(call say,LINK,$@)
	$(Q)mkdir -p $(BIN)
	$(Q)$(CC) $(ALL_LDFLAGS) -shared -o $@ $^

# The driver restates nothing the C side defines: gen-driver-tables prints
# the worker options, record constants, outcome classes and limits as
# Python, and they go where driver.py says "# @GENERATED-TABLES@".
$(BUILD)/gen-driver-tables: $(BUILD)/$(WORKER)/gen-driver-tables.o $(BUILD)/$(WORKER)/worker-args.o $(BUILD)/$(BASE)/outcome.o \
		$(BUILD)/$(BASE)/common.o $(BUILD)/$(BASE)/die.o
	$(call say,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lm

$(BIN)/pycstorm-driver.py: $(WORKER)/driver.py $(BUILD)/gen-driver-tables
	$(call say,GEN,$@)
	$(Q)mkdir -p $(BIN)
	$(Q)$(BUILD)/gen-driver-tables > $(BUILD)/driver-tables.py
	$(Q)awk -v tables=$(BUILD)/driver-tables.py \
		'$$0 == "# @GENERATED-TABLES@" { while ((getline l < tables) > 0) print l; n++; next } \
		{ print } END { exit n != 1 }' $< > $@.tmp
	$(Q)mv $@.tmp $@

$(BIN)/pycstorm-judge.py: $(WORKER)/judge.py
	$(call say,COPY,$@)
	$(Q)mkdir -p $(BIN)
	$(Q)cp $< $@

$(BIN)/pycstorm-cache-judge.py: $(CLI)/exec/cache-judge.py
	$(call say,COPY,$@)
	$(Q)mkdir -p $(BIN)
	$(Q)cp $< $@

$(WORKER_OBJ): ALL_CFLAGS += $(PY_INCLUDES) -DPYTHON_EXE='"$(PY_EXE)"'
$(WORKER_OBJ): $(BUILD)/python-config.stamp
$(BUILD)/$(CLI)/pycstorm.o: ALL_CFLAGS += -DPYTHON_EXE='"$(PY_EXE)"' -DFIU_POSIX_PRELOAD='"$(FIU_POSIX_PRELOAD)"' \
	-DPYTHON_BUILD_VERSION='"$(PY_VERSION)"' -DSHAREDIR='"$(SHAREDIR)"' -DLIBEXECDIR='"$(LIBDIR)"'
$(BUILD)/$(CLI)/pycstorm.o: $(BUILD)/python-config.stamp
$(BUILD)/$(CLI)/cmd-run.o: ALL_CFLAGS += -DPYTHON_EXE='"$(PY_EXE)"'
$(BUILD)/$(CLI)/cmd-run.o: $(BUILD)/python-config.stamp
$(BUILD)/$(CLI)/cmd-repro.o: ALL_CFLAGS += -DPYTHON_EXE='"$(PY_EXE)"'
$(BUILD)/$(CLI)/cmd-repro.o: $(BUILD)/python-config.stamp
$(BUILD)/$(CLI)/cmd-classify.o: ALL_CFLAGS += -DPYTHON_EXE='"$(PY_EXE)"' \
	-DPYTHON_BUILD_RELEASE='"$(PY_RELEASE)"'
$(BUILD)/$(CLI)/cmd-classify.o: $(BUILD)/python-config.stamp

# Rebuild the worker when PYTHON_CONFIG points at another Python.
$(BUILD)/python-config.stamp: FORCE
	$(Q)mkdir -p $(BUILD)
	$(Q)echo '$(PYTHON_CONFIG) $(PY_EXE) $(PY_INCLUDES) $(PY_LIBS) $(PREFIX)' > $@.new
	$(Q)if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; fi
FORCE:

$(BIN)/pycstorm: $(CLI_OBJ) $(COMMON_OBJ)
	$(call say,LINK,$@)
	$(Q)mkdir -p $(BIN)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -ldl -lm

$(BIN)/pycstorm-worker: $(WORKER_OBJ) $(COMMON_OBJ)
	$(call say,LINK,$@)
	$(Q)mkdir -p $(BIN)
	$(Q)if [ -z '$(PY_LIBS)' ]; then echo "pycstorm: '$(PYTHON_CONFIG) --embed' failed: install python3-dev or set PYTHON_CONFIG" >&2; exit 77; fi
	$(Q)$(CC) $(ALL_LDFLAGS) -rdynamic -o $@ $^ $(PY_LIBS) \
		$(if $(PY_LIBDIR),-Wl$(comma)-rpath$(comma)$(PY_LIBDIR)) -ldl -lm

comma := ,

# ---- tests ---------------------------------------------------------------
# Unit tests: one cmocka program per tests/unit/test-*.c, linked with the
# objects that do not need Python. Integration tests: TAP scripts under
# tests/t, run by prove, using the binaries in $(BIN).
UNIT_SRC = $(wildcard tests/unit/test-*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_LINK = $(COMMON_OBJ) $(BUILD)/$(ORCHESTRATOR)/scenario.o $(BUILD)/$(ORCHESTRATOR)/inject-env.o \
	$(BUILD)/$(BASE)/fsinfo.o $(BUILD)/$(BASE)/owned.o $(BUILD)/$(PRELOAD)/scope.o $(BUILD)/$(BASE)/proc.o \
	$(BUILD)/$(PRELOAD)/written.o $(BUILD)/$(CLI)/exec/exec-intact.o $(BUILD)/$(CLI)/exec/exec-precheck.o \
	$(BUILD)/$(CLI)/exec/exec-cache.o \
	$(filter $(BUILD)/results/% $(BUILD)/$(FAULTS)/%,$(CLI_OBJ))

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_LINK)
	$(call say,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(call includes,$<) $(ALL_LDFLAGS) -o $@ $< $(UNIT_LINK) -lcmocka -lm

unit-tests: $(UNIT_BIN)
	$(Q)failed=0; for t in $(UNIT_BIN); do $$t || failed=1; done; \
	if [ $$failed -ne 0 ]; then echo "unit tests: FAILED" >&2; exit 1; fi

# Fuzzing (libFuzzer, clang): one target per parser that takes outside input.
# `make fuzz-check` runs each for FUZZ_TIME seconds over its seed corpus
# (make check does); `make fuzz FUZZ_TIME=300` is a long session. New inputs
# go to build/fuzz/corpus, crashes to build/fuzz/findings; the seed corpora
# in tests/fuzz/corpus are only read.
FUZZ_CC ?= clang
FUZZ_TIME ?= 5
FUZZ_FLAGS = -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all $(addprefix -I,$(INC_ALL))
FUZZ_TARGETS = scenario fault pyc summary
FUZZ_SRC_scenario = $(ORCHESTRATOR)/scenario.c $(BASE)/common.c $(BASE)/die.c $(BASE)/strbuf.c $(BASE)/outcome.c $(WORKER)/worker-args.c
FUZZ_SRC_fault = $(FAULTS)/fault.c $(wildcard $(FAULTS)/fault-*.c) $(BASE)/common.c
FUZZ_SRC_pyc = $(BASE)/pyc.c
FUZZ_SRC_summary = $(MODEL)/summary-load.c $(BASE)/strbuf.c $(MODEL)/json.c $(MODEL)/summary.c $(MODEL)/stats.c \
	$(MODEL)/hyperfine.c $(BASE)/common.c $(BASE)/die.c $(BASE)/outcome.c
FUZZ_BIN = $(FUZZ_TARGETS:%=build/fuzz/fuzz-%)

.SECONDEXPANSION:
build/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $$(FUZZ_SRC_$$*)
	$(call say,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -lm

.PHONY: fuzz fuzz-check
fuzz-check fuzz: $(FUZZ_BIN)
	$(Q)mkdir -p build/fuzz/findings
	$(Q)failed=0; for t in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz/corpus/$$t; \
		if build/fuzz/fuzz-$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -print_final_stats=0 \
			-artifact_prefix=build/fuzz/findings/$$t- build/fuzz/corpus/$$t tests/fuzz/corpus/$$t \
			> build/fuzz/$$t.log 2>&1; then \
			echo "fuzz $$t: $$(grep -ao 'Done [0-9]* runs' build/fuzz/$$t.log | tail -n 1) in $(FUZZ_TIME)s, no crash"; \
		else echo "fuzz $$t: FAILED, see build/fuzz/$$t.log" >&2; tail -20 build/fuzz/$$t.log >&2; failed=1; fi; \
	done; [ $$failed -eq 0 ]

# Test fixtures preloaded into pycstorm itself (tests/shim/*.c): built for
# the integration tests, never installed.
SHIM_SO = $(patsubst tests/shim/%.c,$(BUILD)/shim/%.so,$(wildcard tests/shim/*.c))
$(BUILD)/shim/%.so: tests/shim/%.c
	$(call say,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(call includes,$<) -fPIC -shared $(ALL_LDFLAGS) -o $@ $< -ldl

# The tests find the programs and the Python they were built against here.
export PYCSTORM_BIN = $(abspath $(BIN))
export PYCSTORM_SHIMS = $(abspath $(BUILD)/shim)
export PYCSTORM_PYTHON = $(PY_EXE)
export PYCSTORM_SANITIZE = $(SANITIZE)
PROVE ?= prove
PROVE_FLAGS ?=
# T=tests/t/t0008-robust.t runs only the files named.
T ?= tests/t/*.t
integration-tests: all $(SHIM_SO)
	$(Q)$(PROVE) $(PROVE_FLAGS) $(T)

# The full fidelity corpus (a few minutes): classify against the real import
# of every release found; make check runs its quick subset (t0016).
fidelity: all
	$(Q)$(PYTHON) tests/fidelity/fidelity.py --pycstorm $(BIN)/pycstorm $(if $(V),--verbose)

run: deps all
	$(Q)$(BIN)/pycstorm run default

# The inject library must never end the user's process: nothing in it exits.
preload-check: $(BIN)/libpycstorm-inject.so
	$(Q)sh tests/preload/check-exits.sh $(BIN)/libpycstorm-inject.so

check: deps all
	$(Q)$(MAKE) --no-print-directory unit-tests
	$(Q)$(MAKE) --no-print-directory preload-check
	$(Q)$(MAKE) --no-print-directory fuzz-check
	$(Q)$(MAKE) --no-print-directory integration-tests

# ---- benchmark -------------------------------------------------------------
# make bench (about 10 min; BENCH_QUICK=1 about 2): throughput against the
# ceiling program, injection overhead, time to reproduce, memory, written to
# results/bench/<id>/. A measurement, not a test: check never runs it.
BENCH_PYTHON ?= /usr/bin/python3
CEILING_OBJ = $(BUILD)/$(BASE)/proc.o $(BUILD)/$(BASE)/common.o $(BUILD)/$(BASE)/die.o \
	$(BUILD)/$(WORKER)/embed.o $(BUILD)/$(BASE)/pyc.o
$(BUILD)/bench/pycstorm-ceiling: tests/bench/ceiling.c $(CEILING_OBJ) \
		$(BUILD)/python-config.stamp
	$(call say,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(call includes,$<) $(PY_INCLUDES) -DPYTHON_EXE='"$(PY_EXE)"' $(ALL_LDFLAGS) \
		-o $@ $< $(CEILING_OBJ) $(PY_LIBS) $(if $(PY_LIBDIR),-Wl$(comma)-rpath$(comma)$(PY_LIBDIR))

bench: all $(BUILD)/bench/pycstorm-ceiling
	$(Q)$(BENCH_PYTHON) tests/bench/bench.py --bin $(BIN) \
		--ceiling $(BUILD)/bench/pycstorm-ceiling $(if $(BENCH_QUICK),--quick)

# Install: the command in BINDIR, the worker, the driver and the libraries in
# LIBDIR (where pycstorm looks for them), scenarios and CI files in SHAREDIR.
install: all
	$(Q)install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(SHAREDIR) \
		$(DESTDIR)$(MANDIR)/man1
	$(Q)install -m 755 $(BIN)/pycstorm $(DESTDIR)$(BINDIR)/pycstorm
	$(Q)install -m 755 $(BIN)/pycstorm-worker $(DESTDIR)$(LIBDIR)/pycstorm-worker
	$(Q)install -m 644 $(BIN)/libpycstorm-inject.so $(BIN)/libpycstorm-strategies.so \
		$(BIN)/pycstorm-driver.py $(BIN)/pycstorm-judge.py $(BIN)/pycstorm-cache-judge.py \
		$(DESTDIR)$(LIBDIR)/
	$(Q)cp -R scenarios $(DESTDIR)$(SHAREDIR)/
	$(Q)rm -rf $(DESTDIR)$(SHAREDIR)/ci && cp -R ci $(DESTDIR)$(SHAREDIR)/ci
	$(Q)install -m 644 $(CLI)/pycstorm.1 $(DESTDIR)$(MANDIR)/man1/pycstorm.1

uninstall:
	$(Q)rm -f $(DESTDIR)$(BINDIR)/pycstorm $(DESTDIR)$(MANDIR)/man1/pycstorm.1
	$(Q)rm -rf $(DESTDIR)$(LIBDIR) $(DESTDIR)$(SHAREDIR)

# Whole-command latency per strategy with hyperfine: a short run of each, timed
# with warm-up, exported next to a run folder whose HTML report shows them.
LATENCY_STRATEGIES ?= py27-import,py27-pycompile,py33-atomic,checked-atomic,loop-atomic,fsync-atomic,replace-retry,skip-on-error,native
bench-latency: all
	$(Q)out=results/bench/latency-$$(date -u +%Y%m%d-%H%M%S) && mkdir -p $$out && \
	$(BIN)/pycstorm run -s $(LATENCY_STRATEGIES) -j 2 -n 200 -q -o $$out && \
	hyperfine --warmup 1 --runs 5 --style basic -L strategy $(LATENCY_STRATEGIES) \
		--export-json $$out/hyperfine.json --export-markdown $$out/hyperfine.md \
		'$(BIN)/pycstorm run -s {strategy} -j 2 -n 200 -q -o '$$out'/one-{strategy}' && \
	$(BIN)/pycstorm report $$out --format html -o $$out/report.html && \
	echo "hyperfine figures and report: $$out"

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
