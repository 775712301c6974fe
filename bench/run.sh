#!/bin/sh
# bench/run.sh — what `make bench` runs: installs ONNX Runtime for Node when npm is there,
# then bench/run.js (e2e and ORT alternately on the 20 tagger models, results JSON,
# docs/benchmarks.md). Without node it times e2e alone and says so.
#   E2E=build/e2e MODELS=build/models sh bench/run.sh [run.js options]
E2E=${E2E:-build/e2e}
MODELS=${MODELS:-build/models}
cd "$(dirname "$0")/.." || exit 1

if command -v node >/dev/null 2>&1; then
    if command -v npm >/dev/null 2>&1; then
        sh bench/ort_install.sh || echo "bench: installing onnxruntime-node failed; ONNX Runtime not available"
    else
        echo "bench: npm not found; ONNX Runtime not available"
    fi
    exec node bench/run.js --e2e "$E2E" --models "$MODELS" "$@"
fi

echo "bench: node not found: ONNX Runtime not available; timing e2e alone (docs/benchmarks.md left as is)"
if [ ! -f "$MODELS/tau_vit.onnx" ]; then
    "$E2E" models --out "$MODELS" || echo "bench: e2e models failed"
fi
status=0
for m in eg_simplenet qg_simplenet top_simplenet tau_simplenet eg_vit qg_vit top_vit tau_vit; do
    f="$MODELS/$m.onnx"
    if [ ! -f "$f" ]; then
        echo "bench: $f missing"; status=1; continue
    fi
    for cfg in "1 1" "1 2" "32 1" "32 2"; do
        set -- $cfg
        echo "== $m batch $1, $2 thread(s)"
        "$E2E" bench "$f" --batch "$1" --threads "$2" || status=1
    done
done
exit $status
