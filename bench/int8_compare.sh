#!/bin/sh
# e2e's integer kernels against ONNX Runtime on the int8 (QDQ) taggers, batch 1, 1 thread,
# alternating: per round and model, `e2e bench --json` at E2E_ISA=avx512 (AVX512-VNNI), at
# avx2 (AVX-VNNI where the CPU has it) and at avx2 with E2E_AVX_VNNI=0 (plain AVX2), then
# bench/ort_bench.js (ORT picks its own kernels for the CPU). One line per run (round model
# engine median_ms) for docs/benchmarks.md's int8 section (medians over rounds, by hand).
# Usage: bench/int8_compare.sh MODEL_DIR [ROUNDS]   (MODEL_DIR: the *_int8.onnx of bench/run.js,
# written by models/torch/quantize_taggers.py)
E2E=${E2E:-build/e2e}
dir=${1:?usage: bench/int8_compare.sh MODEL_DIR [ROUNDS]}
rounds=${2:-5}
runs=${RUNS:-400}
models=${MODELS:-"eg qg top tau"}
echo "# $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
r=1
while [ "$r" -le "$rounds" ]; do
    for m in $models; do
        f=$dir/${m}_simplenet_int8.onnx
        for set in avx512 avx2 avx2-plain; do
            vnni=1
            [ "$set" = avx2-plain ] && vnni=0
            ms=$(E2E_AVX_VNNI=$vnni E2E_ISA=${set%-plain} "$E2E" bench "$f" --runs "$runs" --json |
                 sed -n 's/.*"median_ms": \([0-9.]*\).*/\1/p')
            echo "$r $m e2e-$set $ms"
        done
        ms=$(node bench/ort_bench.js "$f" --runs "$runs" --json | sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p')
        echo "$r $m ort $ms"
    done
    r=$((r + 1))
done
