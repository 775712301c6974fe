#!/bin/sh
# NaN / +Inf / -Inf in the inputs of `e2e infer` and `e2e run --frames` (issue 16): refused
# by default (exit 1, a message naming the file, the counts and the first index), scored
# with --allow-nonfinite. Uses the trained E/Gamma model from ../shared; the .npy files are
# written here byte by byte (no Python). Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
SHARED=${SHARED:-../shared}
MODEL=$SHARED/models/eg_simplenet_trained/model.onnx
[ -x "$E2E" ] || { echo "no $E2E"; exit 77; }
[ -f "$MODEL" ] || { echo "no $MODEL"; exit 77; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# float32 (3, 1, 32, 32), all 0, header padded to 128 bytes
npy() {
    h="{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1, 32, 32), }"
    { printf '\223NUMPY\001\000\166\000%s' "$h"
      printf '%*s\n' $((128 - 10 - ${#h} - 1)) ''
      head -c $((3 * 1024 * 4)) /dev/zero; } > "$1"
    [ "$(wc -c < "$1")" -eq $((128 + 12288)) ] || fail "npy writer"
}
# put float32 bytes (octal escapes, little endian) at flat index $2 of file $1
poke() { printf "$3" | dd of="$1" bs=1 seek=$((128 + 4 * $2)) conv=notrunc 2>/dev/null; }
NAN='\000\000\300\177'; PINF='\000\000\200\177'; NINF='\000\000\200\377'

npy "$dir/clean.npy"
cp "$dir/clean.npy" "$dir/bad.npy"
poke "$dir/bad.npy" $((1024 + 2 * 32 + 3)) "$NAN"     # frame 1, row 2, column 3: the first
poke "$dir/bad.npy" $((2048 + 5)) "$NAN"
poke "$dir/bad.npy" $((2048 + 40)) "$PINF"
poke "$dir/bad.npy" 3071 "$NINF"                      # the last value

# a clean input runs without a word about non-finite values
"$E2E" infer "$MODEL" --input "$dir/clean.npy" > "$dir/out" 2> "$dir/err" || fail "clean infer"
grep -q "non-finite" "$dir/err" && fail "clean input reported: $(cat "$dir/err")"

# infer: refused by default
"$E2E" infer "$MODEL" --input "$dir/bad.npy" > "$dir/out" 2> "$dir/err"
[ $? -eq 1 ] || fail "infer with NaN: exit status not 1"
grep -q "bad.npy (input modelInput): 4 non-finite values of 3072: 2 NaN, 1 +Inf, 1 -Inf; the first at \[1, 0, 2, 3\]" "$dir/err" \
    || fail "infer message: $(cat "$dir/err")"
grep -q "modelOutput" "$dir/out" && fail "infer printed scores for a refused input"
# ... and run with --allow-nonfinite, the counts still reported
"$E2E" infer "$MODEL" --input "$dir/bad.npy" --allow-nonfinite > "$dir/out" 2> "$dir/err" \
    || fail "infer --allow-nonfinite: $(cat "$dir/err")"
grep -q "modelOutput float \[3, 1\]" "$dir/out" || fail "infer --allow-nonfinite output: $(cat "$dir/out")"
grep -q "warning: .*bad.npy.*2 NaN, 1 +Inf, 1 -Inf" "$dir/err" || fail "infer warning: $(cat "$dir/err")"
# ... and the fused kernels propagate NaN as the plain graph does (issue 16: the fused
# SimpleNet scored NaN frames 0.53 or 1.0): frames 1 and 2 score NaN at every optimize level
# and instruction set, frame 0 the same score everywhere
ref=
for isa in generic avx2 avx512; do
    for opt in 0 1 2; do
        E2E_ISA=$isa "$E2E" infer "$MODEL" --input "$dir/bad.npy" --allow-nonfinite --optimize $opt \
            > "$dir/out" 2> "$dir/err" || fail "infer --optimize $opt ($isa): $(cat "$dir/err")"
        line=$(grep "modelOutput float \[3, 1\]:" "$dir/out")
        echo "$line" | grep -q -E ': [-0-9.e+]+ -?nan -?nan$' \
            || fail "E2E_ISA=$isa --optimize $opt: frames with NaN/Inf not scored NaN: $line"
        s0=$(echo "$line" | sed 's/.*: \([^ ]*\) .*/\1/')
        [ -z "$ref" ] && ref=$s0
        [ "$s0" = "$ref" ] || fail "E2E_ISA=$isa --optimize $opt: clean frame scored $s0, not $ref"
    done
done

# run --frames: the batch holding the first non-finite frame and the rest are refused
"$E2E" run --frames "$dir/bad.npy" --model "eg=$MODEL" --batch 1 -o "$dir/s.csv" > "$dir/out" 2> "$dir/err"
[ $? -eq 1 ] || fail "run --frames with NaN: exit status not 1"
grep -q "bad.npy: 4 non-finite frame values in frames 0..2: 2 NaN, 1 +Inf, 1 -Inf; the first in frame 1, channel 0, row 2, column 3; refused" "$dir/err" \
    || fail "run --frames message: $(cat "$dir/err")"
[ -e "$dir/s.csv" ] && fail "a refused run --frames made s.csv (its rows go to s.partial.csv)"
[ "$(tail -n +2 "$dir/s.partial.csv" | cut -d, -f1 | tr '\n' ' ')" = "0 " ] \
    || fail "run --frames wrote other than frame 0: $(cat "$dir/s.partial.csv")"
"$E2E" run --frames "$dir/bad.npy" --model "eg=$MODEL" -o "$dir/s.csv" --allow-nonfinite \
    > "$dir/out" 2> "$dir/err" || fail "run --frames --allow-nonfinite: $(cat "$dir/err")"
[ "$(tail -n +2 "$dir/s.csv" | wc -l)" -eq 3 ] || fail "--allow-nonfinite scored: $(cat "$dir/s.csv")"
grep -q "warning: .*bad.npy: 4 non-finite" "$dir/err" || fail "run --frames warning: $(cat "$dir/err")"
"$E2E" run --frames "$dir/clean.npy" --model "eg=$MODEL" -o "$dir/s.csv" > "$dir/out" 2> "$dir/err" \
    || fail "run --frames clean: $(cat "$dir/err")"
grep -q "non-finite" "$dir/err" && fail "clean frames reported: $(cat "$dir/err")"
echo "ok"
