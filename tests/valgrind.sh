#!/bin/sh
# valgrind memcheck of the command (issue 6; not part of make check: it takes minutes):
#   1. `e2e check` over every ONNX conformance case ($SHARED/conformance/onnx-node/test_*)
#      and the trained E/Gamma model;
#   2. `e2e run` over $EVENTS toy events with the four SimpleNet taggers.
# Each must end with no error and no leak (definite, indirect or possible):
# --leak-check=full, valgrind's error exit code (99 here, to tell it from e2e's 1). The summaries are printed; full logs in $OUT/.
#
#   sh tests/valgrind.sh                 # builds build-valgrind/e2e, uses ../shared, 100 events
#   E2E=build-x/e2e EVENTS=20 sh tests/valgrind.sh
#
# The binary must be built without sanitizers: by default the script builds its own with
# `make BUILD=build-valgrind` (-O2 -g). Valgrind 3.19 does not decode AVX-512 ("Illegal
# instruction"), so the kernels are capped at AVX2 (E2E_ISA). Exit status: 0 clean, 1 a finding, 77
# valgrind is missing.
if [ -z "$E2E" ]; then
    E2E=build-valgrind/e2e
    make -s BUILD=build-valgrind build-valgrind/e2e >/dev/null || exit 1
fi
SHARED=${SHARED:-../shared}
export E2E_ISA=${E2E_ISA:-avx2}
EVENTS=${EVENTS:-100}
OUT=${OUT:-$(dirname "$E2E")/valgrind}
VG="valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --track-origins=yes \
    --num-callers=30"

if ! command -v valgrind >/dev/null 2>&1; then
    echo "skipped: valgrind not installed (apt-get install valgrind)"; exit 77
fi
if [ ! -x "$E2E" ]; then
    echo "valgrind.sh: $E2E not built (make, or set E2E=...)"; exit 1
fi
if nm "$E2E" 2>/dev/null | grep -q __asan_init; then
    echo "valgrind.sh: $E2E is built with AddressSanitizer; use a normal build"; exit 1
fi
mkdir -p "$OUT"
# one compute thread everywhere: OpenBLAS's own pool is not what we are checking
export OPENBLAS_NUM_THREADS=1
failed=0

summary() { # log name
    printf '%s:\n' "$2"
    grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|All heap blocks were freed|total heap usage' "$1" |
        sed 's/^==[0-9]*== /    /'
}

# 1. conformance cases + the trained model
conf=$SHARED/conformance/onnx-node
if [ -d "$conf" ]; then
    $VG --log-file="$OUT/check.vg" "$E2E" --quiet check "$conf"/test_* > "$OUT/check.out" 2>&1
    rc=$?
    summary "$OUT/check.vg" "e2e check: $(ls -d "$conf"/test_* | wc -l) conformance cases ($(tail -1 "$OUT/check.out"))"
    # e2e check exits 1 when a case fails (the training-mode Dropout cases do): only valgrind's
    # own verdict counts here
    if [ $rc -gt 1 ] || ! grep -q 'ERROR SUMMARY: 0 errors' "$OUT/check.vg"; then
        echo "    FAIL (exit $rc)"; failed=1
    fi
else
    echo "skipped: conformance cases ($conf not found)"
fi
if [ -d "$SHARED/models/eg_simplenet_trained" ]; then
    $VG --log-file="$OUT/check_eg.vg" "$E2E" check "$SHARED/models/eg_simplenet_trained" > "$OUT/check_eg.out" 2>&1
    rc=$?
    summary "$OUT/check_eg.vg" "e2e check: trained E/Gamma model ($(tail -1 "$OUT/check_eg.out"))"
    [ $rc -eq 0 ] || { echo "    FAIL (exit $rc)"; failed=1; }
fi

# 2. e2e run over toy events (events and models are made first, outside valgrind)
work=$OUT/run
mkdir -p "$work"
if ! "$E2E" gen --events "$EVENTS" -o "$work/events.e2e" > "$work/gen.out" 2>&1 ||
   ! "$E2E" models --out "$work/models" --missing --only eg_simplenet --only qg_simplenet \
        --only top_simplenet --only tau_simplenet > "$work/models.out" 2>&1; then
    echo "valgrind.sh: cannot prepare events/models:"; cat "$work/gen.out" "$work/models.out"; exit 1
fi
$VG --log-file="$OUT/run.vg" "$E2E" run --events "$work/events.e2e" --model-dir "$work/models" \
    --max-events "$EVENTS" -o "$work/predictions.csv" --no-progress > "$OUT/run.out" 2>&1
rc=$?
rows=$( [ -f "$work/predictions.csv" ] && wc -l < "$work/predictions.csv" || echo 1)
summary "$OUT/run.vg" "e2e run: $EVENTS events, 4 taggers ($((rows - 1)) predictions)"
[ $rc -eq 0 ] || { echo "    FAIL (exit $rc; $OUT/run.out)"; tail -5 "$OUT/run.out"; failed=1; }

[ $failed -eq 0 ] && echo "valgrind: clean" || echo "valgrind: findings (logs in $OUT/)"
exit $failed
