#!/bin/sh
# make fuzz's runner: each target for FUZZ_SECONDS on a copy of its seed corpus.
# Environment: FUZZ_BUILD (build-fuzz), FUZZ_SECONDS (60), FUZZ_JOBS (1), FUZZ_OPTS (extra
# libFuzzer flags). Arguments: target names (model tensor_pb npy events).
# The corpus is tests/fuzz/corpus/<t>/ (seeds from tests/fuzz/make_seeds.c) plus
# tests/fuzz/regressions/<t>/ (inputs that crashed a target once: replayed first).
# Prints one line per target: executions, exec/s, corpus size, new coverage; exits 1 if any
# target crashed (the reproducer is in $FUZZ_BUILD/artifacts/).
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-1}
failed=0
# leaks are findings; UBSan reports stop the run (-fno-sanitize-recover) with a stack
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export OPENBLAS_NUM_THREADS=1
mkdir -p "$FUZZ_BUILD/artifacts"
for t in "$@"; do
    bin=$FUZZ_BUILD/fuzz/fuzz_$t
    seeds=tests/fuzz/corpus/$t
    corpus=$FUZZ_BUILD/corpus/$t
    log=$FUZZ_BUILD/fuzz_$t.log
    if [ ! -x "$bin" ]; then
        echo "FAIL fuzz_$t: $bin not built"; failed=1; continue
    fi
    mkdir -p "$corpus"
    [ -d "$seeds" ] && cp -p "$seeds"/* "$corpus"/ 2>/dev/null
    # inputs that once crashed a target (the fixes are covered by tests/test_adversarial.c)
    [ -d "tests/fuzz/regressions/$t" ] && cp -p "tests/fuzz/regressions/$t"/* "$corpus"/ 2>/dev/null
    dict=; par=
    [ "$FUZZ_JOBS" -gt 1 ] && par="-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS"
    [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
    n0=$(ls "$corpus" | wc -l)
    t0=$(date +%s)
    # -rss_limit_mb also caps single allocations (malloc_limit_mb defaults to it): a small
    # input that makes the engine allocate gigabytes is a finding.
    "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=25 -rss_limit_mb=2560 -max_len=65536 \
        -print_final_stats=1 $par \
        -artifact_prefix="$FUZZ_BUILD/artifacts/${t}-" $dict $FUZZ_OPTS "$corpus" > "$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - t0 ))
    if [ "$FUZZ_JOBS" -gt 1 ]; then cat fuzz-*.log >> "$log" 2>/dev/null; rm -f fuzz-*.log; fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s+=$1} END {print s+0}')
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | awk '{s+=$1} END {print s+0}')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | sed 's/cov: //')
    n1=$(ls "$corpus" | wc -l)
    if [ "$rc" -ne 0 ] || grep -q -E '^==[0-9]+==ERROR|runtime error:|^SUMMARY: ' "$log"; then
        failed=1
        echo "FAIL fuzz_$t: a finding after $execs executions in ${secs}s (log: $log)"
        grep -E 'ERROR:|runtime error:|SUMMARY:|Test unit written|^    #[0-9] ' "$log" | head -25
    else
        echo "ok   fuzz_$t: $execs executions in ${secs}s ($rate/s), coverage $cov, corpus $n0 -> $n1 files"
    fi
done
[ "$failed" -eq 0 ]
