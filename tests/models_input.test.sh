#!/bin/sh
# e2e models --input CxHxW (issue 16): SimpleNet and ViT at the public datasets' jet size
# 3x125x125, declared [?, 3, 125, 125], runnable on frames of that size (ViT patch 25, the
# divisor of 125 nearest 16); graph models and bad sizes are usage errors.
# Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
[ -x "$E2E" ] || { echo "skipped: no $E2E"; exit 77; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$E2E" models --out "$dir/m" --input 3x125x125 --only qg_simplenet --only qg_vit > "$dir/out" 2>&1 \
    || { cat "$dir/out"; fail "models --input 3x125x125"; }
cat "$dir/out"
grep -q "qg_vit_3x125x125.onnx .*input 3x125x125, patch 25" "$dir/out" || fail "ViT line"
grep -q "2 models written" "$dir/out" || fail "not 2 models"
# two frames (N, 3, 125, 125) of zeros as .npy: the models run on them
h="{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 125, 125), }"
{ printf '\223NUMPY\001\000\166\000'; printf '%-117s\n' "$h"; } > "$dir/x.npy"
head -c $((2 * 3 * 125 * 125 * 4)) /dev/zero >> "$dir/x.npy"
for a in simplenet vit; do
    m=$dir/m/qg_${a}_3x125x125.onnx
    "$E2E" info "$m" | grep -q "modelInput .*\[?, 3, 125, 125\]" || fail "$a: declared input"
    "$E2E" run --frames "$dir/x.npy" --model "qg=$m" -o "$dir/$a.csv" > "$dir/out" 2>&1 \
        || { cat "$dir/out"; fail "$a: run --frames on 3x125x125"; }
    [ "$(tail -n +2 "$dir/$a.csv" | wc -l)" -eq 2 ] || fail "$a: not 2 scores"
    awk -F, 'NR > 1 && !($3 > 0 && $3 < 1) { exit 1 }' "$dir/$a.csv" || fail "$a: score outside (0, 1)"
done
# --missing keeps them; graph models and bad sizes are refused
"$E2E" models --out "$dir/m" --input 3x125x125 --only qg_vit --missing | grep -q "0 models written" \
    || fail "--missing rewrote"
"$E2E" models --out "$dir/m" --input 3x125x125 --only qg_pnet > /dev/null 2> "$dir/err"
[ $? -eq 2 ] || fail "--input with a graph model: exit status not 2"
grep -q "qg_pnet is a graph model" "$dir/err" || fail "graph model message: $(cat "$dir/err")"
for bad in 3x125 0x125x125 3xax5; do
    "$E2E" models --out "$dir/m" --input "$bad" > /dev/null 2>&1
    [ $? -eq 2 ] || fail "--input $bad: exit status not 2"
done
echo "ok"
