# Fuzzing and the thread sanitizer (issue 6) — included by the Makefile (mk/*.mk).
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="model npy"] [FUZZ_JOBS=1] [FUZZ_OPTS=-seed=1]
#       builds the library again with clang in $(FUZZ_BUILD)/ (-fsanitize=fuzzer-no-link,
#       address,undefined), links each libFuzzer target tests/fuzz/fuzz_<t>.c
#       (-fsanitize=fuzzer,address,undefined) and runs it for FUZZ_SECONDS on a copy of its
#       seed corpus tests/fuzz/corpus/<t>/ (the copy grows in $(FUZZ_BUILD)/corpus/<t>/;
#       the repository's corpus is never changed), plus tests/fuzz/regressions/<t>/ (inputs that
#       once crashed a target). Prints the executions per target; a
#       crash, leak, sanitizer report, out-of-memory or timeout fails the target and leaves
#       the reproducer in $(FUZZ_BUILD)/artifacts/ (rerun: $(FUZZ_BUILD)/fuzz/fuzz_<t> FILE).
#       Needs clang and libclang-rt-14-dev (Debian); `make fuzz` as root installs them.
#       Then, or alone as `make fuzz-differential [DIFF_SEED=N] [DIFF_COUNT=2000]`, a fresh batch
#       of random small graphs against ONNX Runtime (tests/differential/run.sh, docs/testing.md;
#       skipped, saying why, without python3-onnx, node or bench/ort). The seed defaults to the
#       time and is printed.
#   make fuzz-build       only builds the targets
#   make fuzz-seeds       regenerates the seed corpora (tests/fuzz/make_seeds.c)
#   make tsan             builds with ThreadSanitizer in build-tsan/ and runs
#                         test_concurrency (4 threads x 1,000 runs, one shared model);
#                         same as: make BUILD=build-tsan SANITIZE=thread DEBUG=1 \
#                                  build-tsan/tests/test_concurrency && \
#                                  build-tsan/tests/test_concurrency
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= model tensor_pb npy events
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_JOBS    ?= 1
FUZZ_SAN     := fuzzer-no-link,address,undefined
# -fno-sanitize-recover: an undefined-behaviour report is a crash, not a log line
FUZZ_FLAGS   := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_PKGS    := clang libclang-rt-14-dev
TSAN_BUILD   ?= build-tsan

.PHONY: fuzz fuzz-build fuzz-bins fuzz-seeds tsan fuzz-differential

DIFF_SEED  ?= $(shell date +%s)
DIFF_COUNT ?= 2000

fuzz: fuzz-build fuzz-differential
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_OPTS="$(FUZZ_OPTS)" \
	  sh tests/fuzz/run.sh $(FUZZ_TARGETS)

fuzz-differential: $(BUILD)/e2e
	@sh tests/differential/run.sh $(BUILD)/e2e $(DIFF_SEED) $(DIFF_COUNT) $(BUILD)/differential-fuzz

fuzz-build:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || [ "$$(id -u)" = 0 ] || \
	  { echo "make fuzz: $(FUZZ_CC) not found; run: sudo apt-get install -y $(FUZZ_PKGS)"; exit 1; }
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) SANITIZE=$(FUZZ_SAN) DEBUG=0 WERROR=0 \
	  EXTRA_PKGS="$(FUZZ_PKGS)" fuzz-bins

# Runs inside the sub-make above: BUILD is $(FUZZ_BUILD), CC is clang, the library is
# instrumented for coverage and the sanitizers.
fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/libe2e.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(FUZZ_FLAGS) -o $@ $< $(BUILD)/libe2e.a $(LDLIBS)

$(BUILD)/fuzz/make_seeds: tests/fuzz/make_seeds.c $(BUILD)/libe2e.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) -o $@ $< $(BUILD)/libe2e.a $(LDFLAGS) $(LDLIBS)

fuzz-seeds: $(BUILD)/fuzz/make_seeds
	rm -rf tests/fuzz/corpus
	$(BUILD)/fuzz/make_seeds tests/fuzz/corpus
	@du -sb tests/fuzz/corpus

tsan:
	$(MAKE) BUILD=$(TSAN_BUILD) SANITIZE=thread DEBUG=1 $(TSAN_BUILD)/tests/test_concurrency
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $(TSAN_OPTIONS)" $(TSAN_BUILD)/tests/test_concurrency

clean: fuzz-clean
.PHONY: fuzz-clean
fuzz-clean:
	rm -rf $(FUZZ_BUILD) $(TSAN_BUILD)
