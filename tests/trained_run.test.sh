#!/bin/sh
# The shipped trained taggers (models/trained) end to end: e2e run with its default models on
# 300 toy events of a seed used neither for training nor for the test (1001, 1002) must give a
# ROC AUC >= 0.8 for each of the four taggers, in the summary and the timing JSON; --roc
# writes a PNG; the models are found from another working directory too (beside the binary);
# --arch simplenet still selects the benchmark models. Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
[ -x "$E2E" ] || { echo "no $E2E"; exit 77; }
for t in eg qg top tau; do
    [ -f "models/trained/$t.onnx" ] || { echo "FAIL: models/trained/$t.onnx is missing"; exit 1; }
done
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
e2e=$(cd "$(dirname "$E2E")" && pwd)/$(basename "$E2E")

"$e2e" --quiet gen --events 300 --seed 7 -o "$dir/ev.e2e" || fail "gen"
"$e2e" run --events "$dir/ev.e2e" -o "$dir/p.csv" --timing-json "$dir/t.json" \
    --roc "$dir/roc.png" --no-progress > "$dir/out" 2>&1 || { cat "$dir/out"; fail "run"; }
cat "$dir/out" | grep -E 'ROC|predictions'
for t in eg qg top tau; do
    grep -q "^  $t  *ROC AUC .*: 0\.[0-9]" "$dir/out" || grep -q "^  $t  *ROC AUC .*: 1\.0000" "$dir/out" \
        || fail "no AUC for $t in the summary"
    line=$(grep "\"name\": \"$t\"" "$dir/t.json")
    grep -q "\"model\": \"models/trained/$t.onnx\"" "$dir/t.json" || fail "$t did not use models/trained/$t.onnx"
    auc=$(printf '%s\n' "$line" | sed -n 's/.*"auc": \([0-9.]*\)}.*/\1/p')
    [ -n "$auc" ] || fail "no auc for $t in the JSON: $line"
    awk -v a="$auc" 'BEGIN { exit !(a >= 0.8) }' || fail "$t: AUC $auc < 0.8"
    echo "$t AUC $auc"
done
[ "$(head -c 8 "$dir/roc.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "roc.png is not a PNG"
[ "$(wc -c < "$dir/roc.png")" -gt 5000 ] || fail "roc.png is too small"

# from another working directory: the models beside the binary (build/../models/trained)
(cd "$dir" && "$e2e" --quiet run --events ev.e2e --taggers tau --max-events 50 -o p2.csv \
    --timing-json t2.json) || fail "run from another directory"
grep -q '"model": ".*models/trained/tau.onnx"' "$dir/t2.json" || fail "trained model not found from $dir"

# e2e frames --all-events: one frame per seeded slot (as many as e2e run scores), valid .npy
"$e2e" --quiet frames --all-events --events "$dir/ev.e2e" --max-events 20 --tagger eg \
    --tagger top -o "$dir/dump" || fail "frames --all-events"
"$e2e" --quiet run --events "$dir/ev.e2e" --max-events 20 --taggers eg,top -o "$dir/p4.csv" \
    || fail "run on 20 events"
for t in eg top; do
    n=$(grep -c ",$t,.*,ok," "$dir/p4.csv")
    [ "$n" -gt 0 ] || fail "no seeded $t slot in 20 events"
    [ $t = eg ] && fe=1024 || fe=131072
    head -c 128 "$dir/dump/${t}_frames.npy" | grep -aq "'shape': ($n, " || fail "$t frames header: $(head -c 128 "$dir/dump/${t}_frames.npy")"
    [ "$(wc -c < "$dir/dump/${t}_frames.npy")" -eq $((128 + n * fe * 4)) ] || fail "$t frames size"
    [ "$(wc -c < "$dir/dump/${t}_truth.npy")" -eq $((128 + n * 4)) ] || fail "$t truth size"
done

# --arch simplenet selects DIR/<tagger>_simplenet.onnx (a stand-in file here, so that the
# 140 MB of benchmark models are not written)
mkdir "$dir/bench" && cp models/trained/eg.onnx "$dir/bench/eg_simplenet.onnx"
"$e2e" --quiet run --events "$dir/ev.e2e" --taggers eg --arch simplenet --max-events 5 \
    --model-dir "$dir/bench" -o "$dir/p3.csv" --timing-json "$dir/t3.json" || fail "--arch simplenet"
grep -q 'bench/eg_simplenet.onnx' "$dir/t3.json" || fail "--arch simplenet did not pick eg_simplenet.onnx"
echo "ok"
