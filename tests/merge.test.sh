#!/bin/sh
# e2e merge (issue 21): the parts of e2e run --shard put back together are byte for byte one
# run over the whole file, with a timing summary over all events; missing, duplicate,
# unfinished (failed, interrupted) and mismatched (other input, other model, changed CSV)
# parts are refused, naming the part, and nothing is written. Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
[ -x "$E2E" ] || { echo "no $E2E"; exit 77; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
N_EV=30
TAG=eg,qg
part() { # events-file shard out-stem [extra args]
    f=$1; s=$2; o=$3; shift 3
    "$E2E" --quiet run --events "$f" --taggers $TAG --arch simplenet --model-dir "$dir/models" --no-progress \
        --shard "$s" -o "$o.csv" --timing-json "$o.json" "$@"
}
refused() { # what-to-find-in-the-message merge-args...
    want=$1; shift
    rm -f "$dir/m.csv"
    "$E2E" merge -o "$dir/m.csv" "$@" > "$dir/out" 2> "$dir/err"; rc=$?
    [ $rc -eq 1 ] || { cat "$dir/err"; fail "merge of a bad set gave status $rc (want 1): $want"; }
    grep -q -- "$want" "$dir/err" || { cat "$dir/err"; fail "message does not say '$want'"; }
    [ -e "$dir/m.csv" ] && fail "merge wrote a CSV although it refused ($want)"
    ls "$dir" | grep -q 'm.csv.tmp' && fail "temporary merge output left"
    return 0
}

started() { # waits until a run has written its "running" timing JSON (at most 20 s)
    k=0
    while ! grep -q '"status": "running"' "$1" 2> /dev/null; do
        k=$((k + 1)); [ $k -gt 200 ] && fail "$1: the run did not start"; sleep 0.1
    done
}

"$E2E" --quiet gen --events $N_EV --seed 12 -o "$dir/ev.e2e" || fail "gen"
"$E2E" --quiet models --out "$dir/models" --arch simplenet > /dev/null || fail "models" # --model-dir is only read
"$E2E" --quiet run --events "$dir/ev.e2e" --taggers $TAG --arch simplenet --model-dir "$dir/models" --no-progress \
    -o "$dir/all.csv" --timing-json "$dir/all.json" || fail "single run"
for i in 0 1 2 3; do part "$dir/ev.e2e" $i/4 "$dir/p$i" || fail "part $i"; done

# in any order, CSVs only (JSONs found beside them) or with the JSONs given
"$E2E" merge -o "$dir/m.csv" --timing-json "$dir/m.json" "$dir/p2.csv" "$dir/p0.csv" \
    "$dir/p3.csv" "$dir/p1.csv" > "$dir/out" || { cat "$dir/out"; fail "merge"; }
cmp "$dir/m.csv" "$dir/all.csv" || fail "merged CSV differs from one run"
mkdir "$dir/j" && cp "$dir"/p*.json "$dir/j/" && mkdir "$dir/c" && cp "$dir"/p*.csv "$dir/c/"
"$E2E" --quiet merge -o "$dir/m2.csv" "$dir"/c/p*.csv "$dir"/j/p*.json || fail "merge, JSONs given"
cmp -s "$dir/m2.csv" "$dir/all.csv" || fail "merge with JSONs given differs"
grep -q "merged 4 parts: $N_EV events" "$dir/out" || fail "merge summary: $(cat "$dir/out")"
# the summary: every event counted once per stage, status complete, whole range
grep -q '"status": "complete"' "$dir/m.json" || fail "summary status"
grep -q "\"stage\": \"total\", .*\"n\": $N_EV," "$dir/m.json" || fail "summary: total stage n"
grep -q "\"stage\": \"QGTagger\", .*\"n\": $N_EV," "$dir/m.json" || fail "summary: QGTagger n"
grep -q '"last_event": '$((N_EV - 1)), "$dir/m.json" || fail "summary: last_event"
grep -q '"parts": 4,' "$dir/m.json" || fail "summary: parts"
slots=$(grep -c ',qg,' "$dir/all.csv")
grep -q "\"name\": \"qg\", .*\"slots\": $slots," "$dir/m.json" || fail "summary: qg slots $slots"
# a merged summary merges again (a merge of merges) and gives the same CSV
"$E2E" --quiet merge -o "$dir/mm.csv" "$dir/m.csv" "$dir/m.json" || fail "merge of a merge"
cmp -s "$dir/mm.csv" "$dir/all.csv" || fail "merge of a merge differs"
echo "ok: 4 parts merge to one run's CSV, with the timing of all $N_EV events"

# percentiles come from the added histograms, not from the parts' medians: parts 0-2 hold
# 10 times each in bin 300 (0.101 ms), part 3 holds 20 in bin 500 (10.1 ms); over the 50,
# p50 is 0.101158 and p99 10.115795 (the average of the medians would be 2.6 ms)
mkdir "$dir/h"
for i in 0 1 2 3; do
    cp "$dir/p$i.csv" "$dir/h/p$i.csv"
    if [ $i -lt 3 ]; then h='"max_ms": 0.102, "n": 10, "sum_ms": 1.0, "hist": [[300, 10]]'
    else h='"max_ms": 10.2, "n": 20, "sum_ms": 202.0, "hist": [[500, 20]]'; fi
    sed -e "s|^    {\"stage\": \"total\", .*}\$|    {\"stage\": \"total\", $h}|" \
        -e "s|/p$i.csv\"|/h/p$i.csv\"|" "$dir/p$i.json" > "$dir/h/p$i.json"
done
"$E2E" --quiet merge -o "$dir/h/m.csv" --timing-json "$dir/h/m.json" "$dir"/h/p?.csv ||
    fail "merge of crafted timings"
grep -q '"stage": "total", "mean_ms": 4.100000, "p50_ms": 0.101158, "p99_ms": 10.115795, "max_ms": 10.200000, "n": 50,' \
    "$dir/h/m.json" || fail "combined percentiles: $(grep '"total"' "$dir/h/m.json")"
echo "ok: p50/p99 of the summary come from the combined histograms"

refused "shard 2/4 is missing" "$dir/p0.csv" "$dir/p1.csv" "$dir/p3.csv"
refused "events 16..22 of the input are in no part" "$dir/p0.csv" "$dir/p1.csv" "$dir/p3.csv"
refused "events 23..29 of the input" "$dir/p0.csv" "$dir/p1.csv" "$dir/p2.csv"
refused "is given twice" "$dir/p0.csv" "$dir/p1.csv" "$dir/p2.csv" "$dir/p3.csv" "$dir/p1.csv"
cp "$dir/p1.csv" "$dir/d1.csv"; cp "$dir/p1.json" "$dir/d1.json"
refused "shard 1/4 is given twice" "$dir"/p?.csv "$dir/d1.csv"
refused "overlaps" "$dir"/p?.csv "$dir/d1.csv"
rm "$dir/d1.json"
refused "d1.csv: no timing JSON describes it" "$dir"/p?.csv "$dir/d1.csv"
echo "ok: missing and duplicate parts refused, naming them"

# a failed part: its input is truncated (the events of shard 3 are cut off)
size=$(wc -c < "$dir/ev.e2e")
head -c $((size - 5000)) "$dir/ev.e2e" > "$dir/trunc.e2e"
# (an unfinished run's files are NAME.partial.csv and NAME.partial.json, recording each other)
part "$dir/trunc.e2e" 3/4 "$dir/f3" 2> "$dir/err" && fail "a truncated input did not fail"
[ -e "$dir/f3.csv" ] || [ -e "$dir/f3.json" ] && fail "a failed part made f3.csv or f3.json"
grep -q '"status": "failed"' "$dir/f3.partial.json" || fail "failed part: status $(grep status "$dir/f3.partial.json")"
grep -q '"output": ".*/f3.partial.csv"' "$dir/f3.partial.json" || fail "failed part: output $(grep output "$dir/f3.partial.json")"
refused "f3.partial.csv (shard 3/4, events 23..[0-9]*): did not finish (status failed)" \
    "$dir"/p[012].csv "$dir/f3.partial.csv"
# an interrupted part (SIGINT, as Ctrl-C)
"$E2E" --quiet gen --events 400 --seed 12 -o "$dir/big.e2e" || fail "gen 400"
"$E2E" --quiet run --events "$dir/big.e2e" --arch simplenet --model-dir "$dir/models" --no-progress \
    --shard 0/1 -o "$dir/i0.csv" --timing-json "$dir/i0.json" 2> "$dir/err" &
pid=$!
started "$dir/i0.partial.json"; kill -INT $pid; wait $pid && fail "an interrupted run exited 0"
grep -q "interrupted after" "$dir/err" || fail "no interruption message: $(cat "$dir/err")"
grep -q '"status": "interrupted"' "$dir/i0.partial.json" || fail "interrupted part: $(grep status "$dir/i0.partial.json")"
grep -q "\"output_bytes\": $(wc -c < "$dir/i0.partial.csv")," "$dir/i0.partial.json" ||
    fail "interrupted part: output_bytes is not the size of i0.partial.csv"
refused "did not finish (status interrupted)" "$dir/i0.partial.csv"
# a killed part: its JSON still says running
"$E2E" --quiet run --events "$dir/big.e2e" --arch simplenet --model-dir "$dir/models" --no-progress \
    --shard 0/1 -o "$dir/k0.csv" --timing-json "$dir/k0.json" 2> "$dir/err" &
pid=$!
started "$dir/k0.partial.json"; kill -KILL $pid; wait $pid 2> /dev/null
[ -e "$dir/k0.csv" ] && fail "a killed run made k0.csv"
refused "k0.csv: cannot open" "$dir/k0.csv"
cp "$dir"/k0.csv.tmp.* "$dir/k0.partial.csv" || fail "a killed run left no k0.csv.tmp.PID"
refused "did not finish (status running: killed, or still running)" "$dir/k0.partial.csv"
echo "ok: failed, interrupted and killed parts refused, naming them"

# another input (same number of events, other seed), another model, a changed CSV
"$E2E" --quiet gen --events $N_EV --seed 13 -o "$dir/other.e2e" || fail "gen other"
part "$dir/other.e2e" 2/4 "$dir/o2" || fail "part of another input"
refused "o2.csv (shard 2/4, events 16..22): another input" "$dir"/p[013].csv "$dir/o2.csv"
"$E2E" --quiet models --out "$dir/models2" --seed 5 > /dev/null 2>&1 ||
    fail "models with another seed"
part "$dir/ev.e2e" 2/4 "$dir/x2" --model "qg=$dir/models2/qg_simplenet.onnx" || fail "part, other model"
refused "x2.csv (shard 2/4, events 16..22): tagger qg: another model" "$dir"/p[013].csv "$dir/x2.csv"
cp "$dir/p2.csv" "$dir/t2.csv"; cp "$dir/p2.json" "$dir/t2.json"
sed -i 's|"output": ".*/p2.csv"|"output": "t2.csv"|' "$dir/t2.json"
head -n 5 "$dir/p2.csv" > "$dir/t2.csv"
refused "t2.csv (shard 2/4, events 16..22): .* bytes, but its run wrote" "$dir"/p[013].csv "$dir/t2.csv"
echo "ok: another input, another model and a changed CSV refused, naming the part"

# timing JSONs that are not JSON, or not a part's
cp "$dir/p0.csv" "$dir/b0.csv"
printf '{"status": "complete", "shard": [0, 4' > "$dir/b0.json"
refused "b0.json (timing JSON of .*b0.csv): not valid JSON at byte" "$dir/b0.csv"
printf '{"events": 8, "stages": []}' > "$dir/b0.json"
refused "b0.json: not a timing JSON of e2e run --timing-json with part metadata" "$dir/b0.csv"
sed 's/"hist": \[\[/"hist": [["x", 1], [/' "$dir/p0.json" > "$dir/b0.json"
sed -i "s|/p0.csv\"|/b0.csv\"|" "$dir/b0.json"
"$E2E" merge -o "$dir/m.csv" --timing-json "$dir/m.json" "$dir/b0.csv" "$dir"/p[123].csv \
    "$dir/b0.json" "$dir"/p[123].json 2> "$dir/err" && fail "a bad histogram was merged"
grep -q "bad histogram entry" "$dir/err" || fail "bad histogram: $(cat "$dir/err")"
echo "ok: malformed timing JSONs refused"
