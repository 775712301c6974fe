#!/bin/sh
# The global options of the e2e command. --max-model-mb and --max-arena-mb (issue 6): a model
# file or a session plan above the limit fails with a message naming the file and the limit,
# exit 1; a bad value is a usage error (exit 2); under generous limits the same commands
# succeed. --optimize N: 0, 1 or 2, else a usage error.
# Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
SHARED=${SHARED:-../shared}
DIR=$SHARED/models/eg_simplenet_trained
MODEL=$DIR/model.onnx
[ -x "$E2E" ] || { echo "no $E2E"; exit 77; }
[ -f "$MODEL" ] || { echo "no $MODEL"; exit 77; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# model size: the trained model is ~1.1 MB
"$E2E" info --max-model-mb 0.5 "$MODEL" > /dev/null 2> "$dir/err"; rc=$?
[ $rc -eq 1 ] || fail "info over the model limit exited $rc"
grep -q "model.onnx.*exceed the limit of 524288 bytes" "$dir/err" || fail "model limit message: $(cat "$dir/err")"
"$E2E" --max-model-mb 8 info "$MODEL" > /dev/null || fail "info under the model limit"

# arena: batch 256 needs far more than 0.25 MB
"$E2E" bench "$MODEL" --batch 256 --runs 1 --max-arena-mb 0.25 > /dev/null 2> "$dir/err"; rc=$?
[ $rc -eq 1 ] || fail "bench over the arena limit exited $rc"
grep -q "above the limit of 262144" "$dir/err" || fail "arena limit message: $(cat "$dir/err")"
"$E2E" bench "$MODEL" --batch 1 --runs 1 --max-arena-mb 64 > /dev/null || fail "bench under the arena limit"

# the main job: the limit applies to the tagger's sessions, nothing is written as a success
"$E2E" --quiet gen --events 3 --seed 1 -o "$dir/ev.e2e" || fail "gen"
"$E2E" run --events "$dir/ev.e2e" --taggers eg --model "eg=$MODEL" --max-model-mb 0.5 \
    -o "$dir/p.csv" --no-progress > /dev/null 2> "$dir/err"; rc=$?
[ $rc -eq 1 ] || fail "run over the model limit exited $rc"
grep -q "tagger eg:.*exceed the limit" "$dir/err" || fail "run message: $(cat "$dir/err")"
"$E2E" check --max-model-mb 8 --max-arena-mb 64 "$DIR" > "$dir/out" || fail "check under the limits: $(cat "$dir/out")"

# bad values
for v in 0 -1 abc ""; do
    "$E2E" info --max-arena-mb "$v" "$MODEL" > /dev/null 2>&1; rc=$?
    [ $rc -eq 2 ] || fail "--max-arena-mb '$v' exited $rc, not 2"
done
"$E2E" info "$MODEL" --max-model-mb > /dev/null 2>&1; [ $? -eq 2 ] || fail "missing value"

# --optimize, the other global option: 0, 1 or 2 anywhere on the line; anything else is a
# usage error. The trained model passes its reference data at every level.
for v in 3 -1 x ""; do
    "$E2E" check "$DIR" --optimize "$v" > /dev/null 2>&1; rc=$?
    [ $rc -eq 2 ] || fail "--optimize '$v' exited $rc, not 2"
done
for v in 0 1 2; do
    "$E2E" --optimize "$v" check --rtol 1e-4 --atol 1e-5 "$DIR" > "$dir/out" ||
        fail "check at --optimize $v: $(cat "$dir/out")"
done
echo "limits ok"
