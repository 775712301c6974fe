#!/bin/sh
# This tree's e2e against another build of e2e (issue 17: the pre-dispatch native build,
# commit bcd7b93 made with its default -march=native) on the same model files, alternating:
# for each round, model and batch, `e2e bench --json --threads 1` with both binaries, the
# order swapped every round, each invocation timing about TARGET_MS of runs (counted from a
# first calibration run). Prints one line per run (round model batch build median_ms), then
# per model and batch the median over rounds of each build, ratio = other / this (>= 1: this
# build is as fast or faster) and the per-round ratios, sorted; the load average at the start
# and the end. docs/benchmarks.md's issue 17 section is written from it by hand.
# Usage: bench/native_compare.sh OTHER_E2E MODEL_DIR [ROUNDS]
#   MODELS="eg_vit qg_vit" BATCHES="1 32" TARGET_MS=300 E2E=build/e2e to narrow or change
E2E=${E2E:-build/e2e}
other=${1:?usage: bench/native_compare.sh OTHER_E2E MODEL_DIR [ROUNDS]}
dir=${2:?usage: bench/native_compare.sh OTHER_E2E MODEL_DIR [ROUNDS]}
rounds=${3:-9}
target=${TARGET_MS:-300}
models=${MODELS:-"eg_simplenet qg_simplenet top_simplenet tau_simplenet eg_vit qg_vit top_vit tau_vit"}
batches=${BATCHES:-"1 32"}
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT

median_ms() { # E2E MODEL BATCH RUNS WARMUP
    "$1" bench "$2" --batch "$3" --threads 1 --runs "$4" --warmup "$5" --json |
        sed -n 's/.*"median_ms": \([0-9.]*\).*/\1/p'
}

echo "# $(date -u +%FT%TZ) start, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# this: $E2E ($(git rev-parse --short HEAD 2>/dev/null)), other: $other"
# runs per invocation: about target ms of timed runs (at least 3), a tenth as warm-up (at least 1)
cal=""
for m in $models; do
    for b in $batches; do
        ms=$(median_ms "$E2E" "$dir/$m.onnx" "$b" 5 2)
        [ -n "$ms" ] || { echo "e2e bench failed on $m batch $b" >&2; exit 1; }
        n=$(awk -v t="$target" -v ms="$ms" 'BEGIN { n = int(t / ms); print n < 3 ? 3 : n }')
        cal="$cal $m:$b:$n"
    done
done
r=1
while [ "$r" -le "$rounds" ]; do
    for mbn in $cal; do
        m=${mbn%%:*} rest=${mbn#*:}
        b=${rest%%:*} n=${rest#*:}
        w=$((n / 10 > 0 ? n / 10 : 1))
        if [ $((r % 2)) -eq 1 ]; then order="other this"; else order="this other"; fi
        for which in $order; do
            if [ "$which" = this ]; then bin=$E2E; else bin=$other; fi
            ms=$(median_ms "$bin" "$dir/$m.onnx" "$b" "$n" "$w")
            echo "$r $m $b $which $ms" | tee -a "$out"
        done
    done
    echo "# round $r done $(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg)"
    r=$((r + 1))
done
echo "# $(date -u +%FT%TZ) end, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# model batch rounds other_median_ms this_median_ms ratio(other/this) per-round ratios (sorted)"
awk '
function median(a, n,    i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ k = $2 " " $3; if (!(k in seen)) { seen[k] = 1; keys[++nk] = k } ms[k, $1, $4] = $5; if ($1 > maxr) maxr = $1 }
END {
    for (q = 1; q <= nk; q++) {
        k = keys[q]; n = 0; line = ""
        for (r = 1; r <= maxr; r++)
            if ((k, r, "this") in ms && (k, r, "other") in ms && ms[k, r, "this"] > 0) {
                n++; o[n] = ms[k, r, "other"]; t[n] = ms[k, r, "this"]; rr[n] = o[n] / t[n]
            }
        if (n == 0) continue
        mo = median(o, n); mt = median(t, n); median(rr, n)
        for (i = 1; i <= n; i++) line = line sprintf(" %.3f", rr[i])
        printf "%s %d %.4g %.4g %.3f%s\n", k, n, mo, mt, mo / mt, line
    }
}' "$out"
