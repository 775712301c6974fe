#!/bin/sh
# make fuzz-differential (also part of make fuzz): a fresh batch of random small graphs from
# tests/differential/gen_cases.py, ONNX Runtime's outputs as the expected ones, e2e checked
# on them at optimize 0/1/2 and 1 and 2 threads. Needs /usr/bin/python3 with onnx and numpy,
# node, and onnxruntime-node in bench/ort (sh bench/ort_install.sh); says why it skipped
# otherwise (exit 0). Exit 1 when e2e disagrees on a case: the cases stay in OUT for a look,
# and each disagreement becomes a committed regression case (docs/testing.md).
# Usage: run.sh E2E SEED COUNT OUT
set -u
e2e=$1 seed=$2 count=$3 out=$4
py=/usr/bin/python3
if ! [ -x "$py" ] || ! "$py" -c 'import onnx, numpy' 2>/dev/null; then
    echo "skipped: differential fuzzing ($py with onnx and numpy not found)"; exit 0
fi
if ! command -v node >/dev/null 2>&1; then
    echo "skipped: differential fuzzing (node not found)"; exit 0
fi
if ! node -e "require('$(pwd)/bench/ort/node_modules/onnxruntime-node')" 2>/dev/null; then
    echo "skipped: differential fuzzing (onnxruntime-node not installed: sh bench/ort_install.sh)"
    exit 0
fi
rm -rf "$out"
echo "differential fuzzing: seed $seed, $count graphs, into $out"
"$py" tests/differential/gen_cases.py --seed "$seed" --count "$count" --out "$out" --families all \
    --check "$e2e"
rc=$?
if [ $rc -ne 0 ]; then
    echo "differential fuzzing: disagreements above (reproduce: $py tests/differential/gen_cases.py --seed $seed --count $count --families all --out DIR --check $e2e)"
    echo "each one: fix e2e or, where ONNX Runtime is wrong, the generator; commit the case under tests/differential/regressions/ with a line in its README.txt"
fi
exit $rc
