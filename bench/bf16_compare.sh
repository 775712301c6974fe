#!/bin/sh
# fp32 against bf16 weights (e2e --precision bf16) on the same model files, alternating:
# for each round, model and batch, `e2e bench --json` at fp32 then at bf16; prints one line
# per run (model batch precision median_ms) for docs/benchmarks.md's bf16 section, which
# takes per configuration the median over rounds of each precision and their ratio.
# Usage: bench/bf16_compare.sh MODEL_DIR [ROUNDS]   (models from `e2e models --out MODEL_DIR`)
E2E=${E2E:-build/e2e}
dir=${1:?usage: bench/bf16_compare.sh MODEL_DIR [ROUNDS]}
rounds=${2:-3}
models=${MODELS:-"eg_simplenet qg_simplenet top_simplenet tau_simplenet eg_vit qg_vit top_vit tau_vit"}
echo "# $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
r=1
while [ "$r" -le "$rounds" ]; do
    for m in $models; do
        for b in 1 32; do
            case $m:$b in
            *vit:32) runs="--runs 6 --warmup 2" ;;
            *vit:1|*simplenet:32) runs="--runs 40 --warmup 5" ;;
            *) runs="--runs 300 --warmup 30" ;;
            esac
            for p in fp32 bf16; do
                # shellcheck disable=SC2086
                ms=$("$E2E" bench "$dir/$m.onnx" --batch "$b" $runs --precision "$p" --json |
                     sed -n 's/.*"median_ms": \([0-9.]*\).*/\1/p')
                echo "$r $m $b $p $ms"
            done
        done
    done
    r=$((r + 1))
done
echo "# $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
