#!/bin/sh
# make check's runner: every cmocka binary, the ONNX conformance allow-list, the trained
# E/Gamma model, the model fixtures, the examples. Ends with "N passed, M failed, K skipped".
# Environment: E2E (the command), BUILD, SHARED (../shared), and the test binaries as arguments.
# The kernel tests (test_ops_*, test_fusion, test_models_build, test_noalloc,
# test_adversarial, test_concurrency), the conformance cases, the trained model and the model
# fixtures run once per instruction set the machine supports (E2E_ISA = avx512, avx2,
# generic: an AVX-512 machine tests all three); the rest once.
E2E=${E2E:-build/e2e}
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
passed=0; failed=0; skipped=0
log=$BUILD/check.log
: > "$log"

note() { printf '%s\n' "$*"; }

user_isa=${E2E_ISA:-}
# the levels to test: the default one (the CPU's, capped by E2E_ISA) and every lower one
top=$("$E2E" --version | sed -n 's/^isa \([a-z0-9]*\) .*/\1/p')
case $top in
avx512) isas="avx512 avx2 generic" ;;
avx2) isas="avx2 generic" ;;
*) isas="generic" ;;
esac
per_isa() { case $(basename "$1") in test_ops_*|test_fusion|test_models_build|test_noalloc|test_adversarial|test_concurrency) return 0 ;; esac; return 1; }

run_test() {
    t=$1; tag=$2
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out" >> "$log"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    printf '%s\n' "$out" | grep '^skipped:' | sed "s|^|$(basename "$t")$tag: |"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    if [ "$f" -ne 0 ]; then
        note "FAIL $(basename "$t")$tag:"; printf '%s\n' "$out" | grep -E '^\[  (FAILED|ERROR) |error|Error' | head -20
    else
        note "ok   $(basename "$t")$tag ($p tests)"
    fi
}

for t in "$@"; do
    per_isa "$t" || run_test "$t" ""
done

for isa in $isas; do
    export E2E_ISA=$isa
    note "== instruction set $isa (E2E_ISA=$isa)"
    for t in "$@"; do
        per_isa "$t" && run_test "$t" " [$isa]"
    done

    # ONNX backend conformance: every case runs; the allow-listed ones must pass.
    conf=$SHARED/conformance/onnx-node
    allow=tests/conformance/allow.txt
    if [ -d "$conf" ]; then
        "$E2E" --quiet check "$conf"/test_* > "$BUILD/conformance.txt" 2>&1; rc=$?
        cp "$BUILD/conformance.txt" "$BUILD/conformance-$isa.txt"
        # 0 all passed, 1 some failed (judged below by the allow-list); anything else is a crash
        if [ $rc -gt 1 ]; then
            failed=$((failed + 1)); note "FAIL conformance: e2e check ended with status $rc"
            tail -5 "$BUILD/conformance.txt"
        fi
        total=$(ls -d "$conf"/test_* | wc -l)
        ok=$(grep -c '^PASS ' "$BUILD/conformance.txt")
        ok=$(( total - $(grep -c -E '^(FAIL|ERROR) ' "$BUILD/conformance.txt") ))
        bad=0; listed=0
        for c in $(grep -v '^#' "$allow"); do
            listed=$((listed + 1))
            if grep -q -E "^(FAIL|ERROR) $c:" "$BUILD/conformance.txt"; then
                bad=$((bad + 1)); grep -E "^(FAIL|ERROR) $c:" "$BUILD/conformance.txt"
            fi
        done
        passed=$((passed + listed - bad)); failed=$((failed + bad))
        note "conformance [$isa]: $ok of $total cases pass; allow-list $((listed - bad))/$listed (details: $BUILD/conformance-$isa.txt)"
    else
        note "skipped: conformance cases ($conf not found)"; skipped=$((skipped + 1))
    fi

    # The trained E/Gamma SimpleNet, within rtol 1e-4, atol 1e-5.
    if [ -d "$SHARED/models/eg_simplenet_trained" ]; then
        out=$("$E2E" check --rtol 1e-4 --atol 1e-5 "$SHARED/models/eg_simplenet_trained")
        if [ $? -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
        printf '%s\n' "$out" | grep -E '^(PASS|FAIL|ERROR)' | sed "s/^/trained model [$isa]: /"
    else
        note "skipped: trained E/Gamma model ($SHARED/models not found)"; skipped=$((skipped + 1))
    fi

    # PyTorch-exported model fixtures (tests/fixtures/models/*).
    if ls -d tests/fixtures/models/*/ >/dev/null 2>&1; then
        out=$("$E2E" check --rtol 1e-4 --atol 1e-5 tests/fixtures/models/*/ 2>&1); rc=$?
        [ $rc -gt 1 ] && { failed=$((failed + 1)); note "FAIL model fixtures: e2e check ended with status $rc"; }
        printf '%s\n' "$out" | grep -E '^(FAIL|ERROR)'
        p=$(printf '%s\n' "$out" | tail -1 | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
        f=$(printf '%s\n' "$out" | tail -1 | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
        passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
        note "model fixtures [$isa]: ${p:-0} passed, ${f:-?} failed"
    fi
done
if [ -n "$user_isa" ]; then export E2E_ISA=$user_isa; else unset E2E_ISA; fi

# Examples: built by make check, each runs on its own.
for ex in "$BUILD"/examples/*; do
    [ -x "$ex" ] || continue
    if "$ex" > "$BUILD/$(basename "$ex").out" 2>&1; then passed=$((passed + 1)); note "ok   example $(basename "$ex")"
    else failed=$((failed + 1)); note "FAIL example $(basename "$ex")"; tail -5 "$BUILD/$(basename "$ex").out"; fi
done

# Extra test scripts (tests/*.test.sh): exit 0 pass, 77 skipped (they print why), else fail.
for sh in tests/*.test.sh; do
    [ -f "$sh" ] || continue
    E2E="$E2E" BUILD="$BUILD" SHARED="$SHARED" sh "$sh" > "$BUILD/$(basename "$sh").out" 2>&1; rc=$?
    if [ $rc -eq 0 ]; then passed=$((passed + 1)); note "ok   $(basename "$sh")"
    elif [ $rc -eq 77 ]; then skipped=$((skipped + 1)); note "skipped: $(basename "$sh"): $(tail -1 "$BUILD/$(basename "$sh").out")"
    else failed=$((failed + 1)); note "FAIL $(basename "$sh")"; tail -15 "$BUILD/$(basename "$sh").out"; fi
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
