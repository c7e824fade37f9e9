# allocsim - build, test, run, bench.  `make help` lists the targets.
#
# Sources are found by wildcard: every sim/*.c (but main.c) and every
# strategies/*/*.c goes into build/libsim.a; every tests/test_*.c becomes a
# test binary.  SAN=1 builds into build-san/ with AddressSanitizer and
# UndefinedBehaviorSanitizer.

CC      ?= cc
PKGS    := gsl lua5.4 cmocka zlib
DEB_PKGS := libgsl-dev liblua5.4-dev libcmocka-dev zlib1g-dev gnuplot-nox pkg-config valgrind

ifeq ($(SAN),1)
BUILD   := build-san
OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDSAN   := -fsanitize=address,undefined
else
BUILD   := build
OPT     := -O2 -g
LDSAN   :=
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Every x86-64 CPU since 2008 has popcnt; without the flag GCC calls a
# library routine for each page-bitmap count on the per-event path.
ARCH_FLAGS := $(if $(filter x86_64,$(shell uname -m)),-mpopcnt,)
CFLAGS  += $(ARCH_FLAGS) -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE $(OPT) -Isim -MMD -MP
LDLIBS  += $(PKG_LIBS) -ldl -lm

SIM_SRC   := $(filter-out sim/main.c,$(wildcard sim/*.c))
STRAT_SRC := $(wildcard strategies/*/*.c) strategies/registry.c
LIB_OBJ   := $(patsubst %.c,$(BUILD)/%.o,$(SIM_SRC) $(STRAT_SRC))
TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
TEST_HELP := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/harness.c))
TRACER    := $(BUILD)/libastrace.so
BENCH     := $(BUILD)/bench

.PHONY: all run test test-one bench deps clean help check-deps validate-go
all: $(BUILD)/allocsim $(TRACER)

help:
	@echo "make run      install missing packages (as root), build, run the default experiment"
	@echo "make test     build and run every test (SAN=1: under ASan+UBSan)"
	@echo "make bench    replay the benchmark traces and print events/s"
	@echo "make bench-instr  instructions an event per strategy, under callgrind (INSTR_ARGS=\"-e N -l N S[/MODE]...\")"
	@echo "make figures  run paper/experiments/*.lua: data, figures, tables, paper/checksums.sha256 (FIGURES=\"a b\", JOBS=N)"
	@echo "make figures-check  rerun them in a temporary folder and compare with paper/checksums.sha256"
	@echo "make replay   build/replay: a trace on the real allocator (scripts/validate-glibc)"
	@echo "make validate-go  the Go model beside the real Go runtime (installs golang-go as root)"
	@echo "make deps     install the Debian packages allocsim needs (as root)"
	@echo "make paper    paper/paper.pdf from paper/paper.tex (installs TeX as root)"
	@echo "make clean    remove build output"

# ---- dependencies ------------------------------------------------------
deps:
	@missing=""; \
	for p in $(PKGS); do pkg-config --exists $$p 2>/dev/null || missing=1; done; \
	command -v gnuplot >/dev/null 2>&1 || missing=1; \
	command -v valgrind >/dev/null 2>&1 || missing=1; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "deps: installing $(DEB_PKGS)"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PKGS); \
	else \
		echo "deps: missing packages; run as root:"; \
		echo "  apt-get install -y $(DEB_PKGS)"; exit 1; \
	fi

# ---- build ---------------------------------------------------------------
$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/libsim.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/allocsim: $(BUILD)/sim/main.o $(BUILD)/libsim.a
	$(CC) $(LDSAN) -rdynamic -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_HELP) $(BUILD)/libsim.a
	$(CC) $(LDSAN) -rdynamic -o $@ $^ $(LDLIBS)

$(TRACER): tools/tracer/tracer.c | deps
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2 -g -fPIC -shared \
		-fno-builtin-malloc -o $@ $< -ldl -lpthread

$(BENCH): $(BUILD)/tools/bench/bench.o $(BUILD)/libsim.a
	$(CC) $(LDSAN) -rdynamic -o $@ $^ $(LDLIBS)

# The native replayer measures the real allocator: never sanitized, always
# built into build/ (also under SAN=1), and the tests use it.
REPLAY    := build/replay
.PHONY: replay
replay: $(REPLAY)
test: $(REPLAY)

$(REPLAY): tools/replay/replay.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2 -g -o $@ $< -lz -lpthread

# ---- run, test, bench ----------------------------------------------------
run: all
	./scripts/run-default $(BUILD)/allocsim

# `make test`: every test built normally, then (TEST_SAN=1) built and run
# again under ASan+UBSan in build-san/, then (TEST_VALGRIND=1) the tests
# that drive the binary with allocsim under valgrind.  README "Tests" has
# the times.  `make test TEST_SAN=0 TEST_VALGRIND=0` is the quick pass.
TEST_SAN      ?= 1
TEST_VALGRIND ?= 1
# Programs only the tests need: real Go for the model's validation, GNU
# parallel for sweeps.  Installed when missing and root; otherwise the
# tests that need them say so loudly.
TEST_DEB_PKGS := golang-go parallel
.PHONY: test-deps
test-deps:
	@missing=""; \
	command -v go >/dev/null 2>&1 || missing=1; \
	command -v parallel >/dev/null 2>&1 || missing=1; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then \
		echo "test-deps: installing $(TEST_DEB_PKGS)"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(TEST_DEB_PKGS); \
	elif [ -n "$$missing" ]; then \
		echo "test-deps: as root, apt-get install -y $(TEST_DEB_PKGS)"; \
	fi

test: all $(TEST_BIN) | test-deps
	./tests/run-tests $(BUILD)
ifneq ($(SAN),1)
ifeq ($(TEST_SAN),1)
	$(MAKE) --no-print-directory SAN=1 test
endif
ifeq ($(TEST_VALGRIND),1)
	./tests/run-valgrind $(BUILD)
endif
endif

bench: $(BUILD)/allocsim $(BENCH)
	./$(BENCH)

validate-go: $(BUILD)/allocsim
	@command -v go >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q golang-go; \
		else \
			echo "validate-go: go is missing; run as root: apt-get install -y golang-go"; exit 1; \
		fi; }
	./scripts/validate-go --build $(BUILD)

# ---- the paper's figures: `make figures`, `make figures-check` ------------
# scripts/figures runs every paper/experiments/NAME.lua (FIGURES="a b": only
# those) with -j $(JOBS), then NAME.post, and rewrites paper/checksums.sha256;
# figures-check runs them into a temporary folder and compares with it.
JOBS    ?= 2
FIGURES ?=
.PHONY: figures figures-check
figures: $(BUILD)/allocsim
	./scripts/figures --allocsim $(BUILD)/allocsim -j $(JOBS) $(FIGURES)

figures-check: $(BUILD)/allocsim
	./scripts/figures --check --allocsim $(BUILD)/allocsim -j $(JOBS) $(FIGURES)

# ---- scale: `make bench-scale` (tools/scale/scale.c) -----------------------
# A 200-million-event binary trace with 10 million live objects (written
# once to /tmp) through every strategy, with the simulator's peak RSS per
# live object.  Long (tens of minutes); not part of `make test`.
# SCALE_ARGS passes options, e.g. SCALE_ARGS="-e 20000000 -l 1000000".
SCALE      := $(BUILD)/scale
SCALE_ARGS ?=
.PHONY: bench-scale
$(SCALE): $(BUILD)/tools/scale/scale.o $(BUILD)/libsim.a
	$(CC) $(LDSAN) -rdynamic -o $@ $^ $(LDLIBS)

bench-scale: $(BUILD)/allocsim $(SCALE)
	./$(SCALE) $(SCALE_ARGS) $(BUILD)/allocsim

# Instructions an event in engine_step under callgrind (scripts/bench-instr):
# the speed figure the machine's load does not move.
.PHONY: bench-instr
bench-instr: $(BUILD)/allocsim $(SCALE)
	./scripts/bench-instr $(INSTR_ARGS)

# ---- fuzzing (tests/fuzz/) -------------------------------------------------
# Each tests/fuzz/fuzz_<t>.c is a libFuzzer target.  `make fuzz` builds
# them with clang into build-fuzz/ and runs each for FUZZ_SECONDS; new
# inputs go to build-fuzz/corpus/<t>/, crashes to build-fuzz/<t>-crash-*.
# `make test` links the same targets with tests/fuzz/replay.c as
# $(BUILD)/tests/test_fuzz_<t>, which replays tests/fuzz/corpus/<t>/.
FUZZ_TARGETS := trace params lua
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build-fuzz
FUZZ_CC      ?= clang
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-Isim -Itests/fuzz
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(SIM_SRC) $(STRAT_SRC))
FUZZ_BINS    := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_TARGETS))
FUZZ_REPLAY  := $(patsubst %,$(BUILD)/tests/test_fuzz_%,$(FUZZ_TARGETS))
MAIN_FUZZ    := -Dmain=allocsim_main -Dexit=fuzz_exit
.PHONY: fuzz fuzz-deps
test: $(FUZZ_REPLAY)

# Static pattern rules: a plain pattern would also match the .d files
# make tries to remake (replay_lua.d.o ...).
FUZZ_REPLAY_OBJ := $(patsubst %,$(BUILD)/tests/fuzz/replay_%.o,$(FUZZ_TARGETS))
$(FUZZ_REPLAY_OBJ): $(BUILD)/tests/fuzz/replay_%.o: tests/fuzz/replay.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests/fuzz -DFUZZ_NAME='"$*"' -c $< -o $@

$(BUILD)/sim/main_fuzz.o: sim/main.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(MAIN_FUZZ) -c $< -o $@

$(BUILD)/tests/test_fuzz_params: $(BUILD)/sim/main_fuzz.o
$(FUZZ_REPLAY): $(BUILD)/tests/test_fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay_%.o \
		$(BUILD)/tests/fuzz/fuzz_util.o $(BUILD)/libsim.a
	$(CC) $(LDSAN) -rdynamic -o $@ $(filter %.o,$^) $(BUILD)/libsim.a $(LDLIBS)

fuzz-deps:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang libclang-rt-14-dev; \
		else \
			echo "fuzz: clang is missing; run as root: apt-get install -y clang libclang-rt-14-dev"; exit 1; \
		fi; }

$(FUZZ_BUILD)/%.o: %.c | deps fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/sim/main_fuzz.o: sim/main.c | deps fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) $(MAIN_FUZZ) -c $< -o $@

$(FUZZ_BUILD)/libsim.a: $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_params: $(FUZZ_BUILD)/sim/main_fuzz.o
$(FUZZ_BINS): $(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_BUILD)/tests/fuzz/fuzz_util.o \
		$(FUZZ_BUILD)/libsim.a
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $(filter %.o,$^) \
		$(FUZZ_BUILD)/libsim.a $(LDLIBS)

fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
		echo "fuzz_$$t: $(FUZZ_SECONDS) s (log: $(FUZZ_BUILD)/$$t.log)"; \
		./$(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=20 \
			-rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
			-dict=tests/fuzz/$$t.dict -artifact_prefix=$(FUZZ_BUILD)/$$t- \
			$(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t \
			< /dev/null > $(FUZZ_BUILD)/$$t.log 2>&1; st=$$?; \
		grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' \
			$(FUZZ_BUILD)/$$t.log | sed "s/^/  /"; \
		if [ $$st -ne 0 ]; then grep -A30 -E '^==[0-9]+==|runtime error|deadly signal|fuzz_[a-z]+: ' \
			$(FUZZ_BUILD)/$$t.log | head -60; \
			ls $(FUZZ_BUILD)/$$t-* 2>/dev/null; exit 1; fi; \
	done

# ---- the paper: `make paper` (paper/paper.tex, built with latexmk) ---------
# `make figures` makes the data, figures and tables it includes; `make paper`
# only typesets what is committed.  TeX Live comes from Debian (installed
# when root and missing).  The PDF's dates come from the last commit, so
# the same tree gives the same paper.pdf.
TEX_DEB_PKGS := latexmk texlive-latex-base texlive-latex-recommended texlive-fonts-recommended
.PHONY: paper paper-deps
paper-deps:
	@command -v latexmk >/dev/null 2>&1 && command -v pdflatex >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			echo "paper: installing $(TEX_DEB_PKGS)"; \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(TEX_DEB_PKGS); \
		else \
			echo "paper: TeX is missing; run as root: apt-get install -y $(TEX_DEB_PKGS)"; exit 1; \
		fi; }

paper: paper-deps
	@mkdir -p build/paper
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || echo 0) FORCE_SOURCE_DATE=1 \
		latexmk -pdf -interaction=nonstopmode -halt-on-error -file-line-error \
		-outdir=../build/paper -cd paper/paper.tex
	cp build/paper/paper.pdf paper/paper.pdf
	@echo "paper: paper/paper.pdf"

clean:
	rm -rf build build-san build-fuzz

-include $(shell find build build-san build-fuzz -name '*.d' 2>/dev/null)
