#!/bin/sh
# e2e run --frames with labels (issue 16): scores printed %.9g (each CSV score is its own %.9g
# form), the exact ROC AUC against a brute-force count over every (label 1, label 0) pair
# with ties counted one half (duplicated frames carry both labels, so ties occur), the
# accuracy at 0.5, --roc FILE.png, and --dataset with a .npy file (a usage slip: exit 1).
# The frames are written here as .npy by awk (no Python needed).
# Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
SHARED=${SHARED:-../shared}
MODEL=$SHARED/models/eg_simplenet_trained/model.onnx
[ -x "$E2E" ] || { echo "skipped: no $E2E"; exit 77; }
[ -f "$MODEL" ] || { echo "skipped: no $MODEL"; exit 77; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# npy FILE DESCR SHAPE: a version 1.0 header of 118 bytes (the data follows)
npy() {
    h="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
    { printf '\223NUMPY\001\000\166\000'; printf '%-117s\n' "$h"; } > "$1"
}
N=40
npy "$dir/x.npy" '<f4' "($N, 32, 32, 2)"
# float32 little-endian from awk (normal numbers; smaller ones are written as 0). Frame i
# depends on i % 15 only: frames i and i + 15 are equal, and (15 being odd) their labels
# (i + (i % 15 < 5)) % 2 differ, so equal scores fall on both sides.
LC_ALL=C awk -v n=$N '
function f32(v,   e, m, bits) {
    if (v < 1.2e-38) { printf "%c%c%c%c", 0, 0, 0, 0; return }
    e = 0; m = v
    while (m >= 2) { m /= 2; e++ }
    while (m < 1) { m *= 2; e-- }
    bits = int((m - 1) * 8388608 + 0.5)
    if (bits == 8388608) { bits = 0; e++ }
    e += 127
    printf "%c%c%c%c", bits % 256, int(bits / 256) % 256, int(bits / 65536) + (e % 2) * 128, int(e / 2)
}
BEGIN {
    for (i = 0; i < n; i++) { k = i % 15
        for (y = 0; y < 32; y++) for (x = 0; x < 32; x++) {
            d = (y - 15) * (y - 15) + (x - 15) * (x - 15)
            f32(0.3 * (1 + k) * exp(-d / (0.5 + k % 3)) * ((x + y + k) % 3))
            f32(((k * 7 + y * 3 + x) % 11) * 0.01) } } }' >> "$dir/x.npy"
npy "$dir/y.npy" '|u1' "($N,)"
LC_ALL=C awk -v n=$N 'BEGIN { for (i = 0; i < n; i++) printf "%c", (i + (i % 15 < 5)) % 2 }' >> "$dir/y.npy"
[ "$(wc -c < "$dir/x.npy")" -eq $((128 + N * 8192)) ] || fail "x.npy has the wrong size"
[ "$(wc -c < "$dir/y.npy")" -eq $((128 + N)) ] || fail "y.npy has the wrong size"

"$E2E" run --frames "$dir/x.npy" --labels "$dir/y.npy" --model "eg=$MODEL" --batch 7 \
    -o "$dir/s.csv" --roc "$dir/roc.png" > "$dir/out" 2>&1 || { cat "$dir/out"; fail "run --frames"; }
cat "$dir/out"
[ "$(tail -n +2 "$dir/s.csv" | wc -l)" -eq $N ] || fail "not $N rows"
# %.9g: every score is printed as %.9g prints it
tail -n +2 "$dir/s.csv" | awk -F, '{ if (sprintf("%.9g", $3) != $3) { print "row " NR ": " $3; bad = 1 } }
    END { exit bad }' || fail "scores not printed %.9g"
# scores far below 1e-6 keep their digits (%.6f printed them as 0.000000)
tail -n +2 "$dir/s.csv" | awk -F, '$3 + 0 > 0 && $3 + 0 < 1e-9 { n++ } END { exit !(n > 0) }' \
    || fail "no score in (0, 1e-9) with its digits: $(tail -n +2 "$dir/s.csv" | cut -d, -f3 | tr '\n' ' ')"
# the brute-force AUC and accuracy
ref=$(tail -n +2 "$dir/s.csv" | awk -F, '
    { if ($2 == 0) neg[nn++] = $3 + 0; else pos[np++] = $3 + 0
      ok += (($3 + 0 >= 0.5) == ($2 != 0)) }
    END { for (i = 0; i < np; i++) for (j = 0; j < nn; j++)
              u += pos[i] > neg[j] ? 1 : pos[i] == neg[j] ? 0.5 : 0
          for (i = 0; i < np; i++) for (j = 0; j < nn; j++) ties += pos[i] == neg[j]
          printf "%.6f %d %d %d %d", u / (np * nn), ok, np, nn, ties }')
set -- $ref
echo "brute force: AUC $1, $2 correct, $3 label 1, $4 label 0, $5 tied pairs"
[ "$5" -ge 1 ] || fail "no tied pair: the tie case is not exercised"
grep -q "ROC AUC (label != 0 vs label 0): $1 ($3 vs $4 frames)" "$dir/out" \
    || fail "AUC differs from the brute-force $1: $(grep AUC "$dir/out")"
acc=$(awk -v c="$2" -v n=$N 'BEGIN { printf "%.6f", c / n }')
grep -q "accuracy at 0.5 (score >= 0.5 is label != 0): $acc ($2 of $N)" "$dir/out" \
    || fail "accuracy differs from $acc ($2 of $N): $(grep accuracy "$dir/out")"
# the ROC PNG
sig=$(od -An -tx1 -N8 "$dir/roc.png" | tr -d ' \n')
[ "$sig" = "89504e470d0a1a0a" ] || fail "--roc wrote no PNG (signature $sig)"
grep -q "ROC curve -> $dir/roc.png" "$dir/out" || fail "no ROC line"

# without labels: no AUC line, --roc is an error
"$E2E" run --frames "$dir/x.npy" --model "eg=$MODEL" -o "$dir/u.csv" > "$dir/out" 2>&1 \
    || fail "run --frames without labels"
grep -q "ROC AUC" "$dir/out" && fail "an AUC without labels"
"$E2E" run --frames "$dir/x.npy" --model "eg=$MODEL" -o "$dir/u.csv" --roc "$dir/r2.png" \
    > /dev/null 2> "$dir/err"; rc=$?
[ $rc -eq 1 ] || fail "--roc without labels exited $rc"
grep -q "the frames have no labels" "$dir/err" || fail "--roc without labels: $(cat "$dir/err")"
# --dataset names an HDF5 dataset; with a .npy it is refused
"$E2E" run --frames "$dir/x.npy" --dataset X --model "eg=$MODEL" -o "$dir/u.csv" \
    > /dev/null 2> "$dir/err"; rc=$?
[ $rc -eq 1 ] || fail "--dataset with .npy exited $rc"
grep -q "a dataset name (X) is for HDF5 files" "$dir/err" || fail "--dataset .npy: $(cat "$dir/err")"
echo "ok"
