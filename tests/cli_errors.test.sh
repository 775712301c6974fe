#!/bin/sh
# Clear errors for two command-line slips (issue 16): a folder given where a model file is
# expected says "is a directory" (not "cannot allocate 9223372036854775807 bytes"), and
# `infer --input NAME=FILE` with a NAME the model does not have names NAME and lists the
# model's inputs. Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
SHARED=${SHARED:-../shared}
MODEL=$SHARED/models/eg_simplenet_trained/model.onnx
[ -x "$E2E" ] || { echo "skipped: no $E2E"; exit 77; }
[ -f "$MODEL" ] || { echo "skipped: no $MODEL"; exit 77; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir "$dir/folder"
"$E2E" info "$dir/folder" > /dev/null 2> "$dir/err"; rc=$?
[ $rc -eq 1 ] || fail "info FOLDER exited $rc"
grep -q "folder: is a directory" "$dir/err" || fail "info FOLDER message: $(cat "$dir/err")"
grep -q "9223372036854775807" "$dir/err" && fail "info FOLDER still says $(cat "$dir/err")"
"$E2E" run --frames "$dir/none.npy" --model eg="$dir/folder" > /dev/null 2> "$dir/err"; rc=$?
[ $rc -eq 1 ] || fail "run --model eg=FOLDER exited $rc"
grep -q "tagger eg: .*folder: is a directory" "$dir/err" || fail "run FOLDER message: $(cat "$dir/err")"
"$E2E" info "$dir/missing.onnx" > /dev/null 2> "$dir/err"
grep -q "missing.onnx: cannot open: No such file" "$dir/err" || fail "missing file: $(cat "$dir/err")"

# infer: the input name is checked against the model before any file is read
"$E2E" infer "$MODEL" --input foo="$dir/x.npy" > /dev/null 2> "$dir/err"; rc=$?
[ $rc -eq 2 ] || fail "infer --input foo=... exited $rc"
grep -q "no input named 'foo'" "$dir/err" || fail "infer foo message: $(cat "$dir/err")"
grep -q "foo=$dir/x.npy" "$dir/err" || fail "infer foo message lacks the argument: $(cat "$dir/err")"
grep -q "its inputs: [A-Za-z_]" "$dir/err" || fail "infer foo message lacks the inputs: $(cat "$dir/err")"
echo "ok"
