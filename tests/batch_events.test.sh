#!/bin/sh
# e2e run --batch-events K (issue 20, point 5): the frames of K events go into one batch per
# image tagger, and the CSV is byte for byte the default's (same rows, same order, same
# scores: a sample's score does not depend on the batch it runs in), also with a graph
# tagger (scored per event) beside the image ones and with K not dividing the event count;
# a run that fails mid-batch leaves the same complete rows in NAME.partial.csv as the
# per-event run; a bad K is refused. Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
[ -x "$E2E" ] || { echo "no $E2E"; exit 77; }
[ -f models/trained/eg.onnx ] || { echo "FAIL: models/trained/eg.onnx is missing"; exit 1; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
T=models/trained
run() { # out.csv [more args]: eg, qg, top, tau taggers on ev.e2e
    out=$1
    shift
    "$E2E" --quiet run --taggers eg,qg,top,tau --model "eg=$T/eg.onnx" --model "qg=$T/qg.onnx" \
        --model "top=$T/top.onnx" --model "tau=$T/tau.onnx" -o "$out" --no-progress "$@"
}

"$E2E" --quiet gen --events 37 --seed 5 -o "$dir/ev.e2e" || fail "gen"
run "$dir/k1.csv" --events "$dir/ev.e2e" || fail "run"
rows=$(($(wc -l < "$dir/k1.csv") - 1))
[ "$rows" -ge 37 ] || fail "only $rows rows"
for k in 16 5; do
    run "$dir/k$k.csv" --events "$dir/ev.e2e" --batch-events $k || fail "run --batch-events $k"
    cmp "$dir/k1.csv" "$dir/k$k.csv" || fail "--batch-events $k changed the CSV"
done
# a graph tagger (per event, its slots held until the batch is written) among image ones
"$E2E" --quiet models --out "$dir/m" --only eg_pnet > /dev/null || fail "models"
for k in 1 16; do
    "$E2E" --quiet run --events "$dir/ev.e2e" --taggers eg,qg --model "eg=$dir/m/eg_pnet.onnx" \
        --model "qg=$T/qg.onnx" -o "$dir/g$k.csv" --no-progress --batch-events $k ||
        fail "graph run --batch-events $k"
done
cmp "$dir/g1.csv" "$dir/g16.csv" || fail "--batch-events 16 changed the CSV with a graph tagger"
grep -q ',eg,' "$dir/g16.csv" || fail "no eg rows"

# a failure mid-batch: the events before the bad one are scored and written
size=$(wc -c < "$dir/ev.e2e")
head -c $((size * 3 / 5)) "$dir/ev.e2e" > "$dir/trunc.e2e"
for k in 1 16; do
    run "$dir/t$k.csv" --events "$dir/trunc.e2e" --batch-events $k 2> "$dir/err$k" &&
        fail "a truncated file did not fail (--batch-events $k)"
    [ -e "$dir/t$k.csv" ] && fail "a failed run wrote t$k.csv"
    [ -s "$dir/t$k.partial.csv" ] || fail "no t$k.partial.csv: $(cat "$dir/err$k")"
done
n=$(tail -n +2 "$dir/t1.partial.csv" | cut -d, -f3 | sort -u | wc -l)
[ "$n" -ge 5 ] && [ $((n % 16)) -ne 0 ] || fail "$n events before the bad one (want >= 5, not a multiple of 16)"
cmp "$dir/t1.partial.csv" "$dir/t16.partial.csv" || fail "--batch-events 16 kept other rows on a failure"
grep -q "stopped after $n events" "$dir/err16" || fail "message: $(cat "$dir/err16")"

for bad in 0 x 100000; do
    "$E2E" run --events "$dir/ev.e2e" --batch-events $bad -o "$dir/bad.csv" > /dev/null 2> "$dir/err"
    [ $? -eq 2 ] || fail "--batch-events $bad was not a usage error"
    grep -q -- "--batch-events" "$dir/err" || fail "message: $(cat "$dir/err")"
done
echo "ok: --batch-events 16 and 5 write the default's $rows rows byte for byte (and with a graph tagger); a failure after $n events keeps the same rows"
