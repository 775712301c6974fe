#!/bin/sh
# e2e run --shard I/N and --skip-events (issue 21): the shards of several N (N > events
# too) cover the file exactly once and their rows are those of one run; I >= N and bad
# syntax are refused; --skip-events at or past the end is an error naming the count; a file
# whose header has no count is counted; several runs started at once with an empty model
# cache (E2E_MODEL_DIR) all succeed (the cached models are written once, safely). Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
[ -x "$E2E" ] || { echo "no $E2E"; exit 77; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
N_EV=23
run() { "$E2E" --quiet run --events "$dir/ev.e2e" --taggers eg --arch simplenet --model-dir "$dir/models" --no-progress "$@"; }

"$E2E" --quiet gen --events $N_EV --seed 11 -o "$dir/ev.e2e" || fail "gen"

# four runs at once with an empty model cache: each writes the models if missing
for k in 1 2 3 4; do
    (E2E_MODEL_DIR="$dir/models" "$E2E" --quiet run --events "$dir/ev.e2e" --taggers eg \
        --arch simplenet --no-progress -o "$dir/c$k.csv" > "$dir/c$k.out" 2>&1
     echo $? > "$dir/c$k.rc") &
done
wait
for k in 1 2 3 4; do
    [ "$(cat "$dir/c$k.rc")" = 0 ] || { cat "$dir/c$k.out"; fail "concurrent run $k failed"; }
    cmp -s "$dir/c1.csv" "$dir/c$k.csv" || fail "concurrent run $k wrote other predictions"
done
ls "$dir/models" | grep -q tmp && fail "temporary model files left: $(ls "$dir/models")"
# every model complete: the same files, byte for byte, as one e2e models with its default seed (run uses the same)
"$E2E" --quiet models --out "$dir/ref" > /dev/null || fail "e2e models"
[ "$(ls "$dir/models")" = "$(ls "$dir/ref")" ] || fail "models: $(ls "$dir/models")"
for f in "$dir"/ref/*.onnx; do
    cmp -s "$f" "$dir/models/$(basename "$f")" || fail "$(basename "$f") differs from e2e models'"
done
echo "ok: 4 runs at once in an empty E2E_MODEL_DIR ($(ls "$dir/ref" | wc -l) models, all complete)"

run -o "$dir/all.csv" || fail "single run"
tail -n +2 "$dir/all.csv" > "$dir/all.rows"

# shards: ranges from the JSON tile 0..N_EV-1; rows concatenated equal the single run's
check_shards() { # file nshards
    f=$1; n=$2; : > "$dir/cat.rows"; next=0; i=0
    while [ $i -lt $n ]; do
        "$E2E" --quiet run --events "$f" --taggers eg --arch simplenet --model-dir "$dir/models" --no-progress \
            --shard $i/$n -o "$dir/s.csv" --timing-json "$dir/s.json" || fail "shard $i/$n"
        grep -q '"status": "complete"' "$dir/s.json" || fail "shard $i/$n: status"
        grep -q "\"shard\": \\[$i, $n\\]" "$dir/s.json" || fail "shard $i/$n: shard field"
        grep -q "\"events\": $N_EV," "$dir/s.json" || fail "shard $i/$n: input event count"
        first=$(sed -n 's/^  "first_event": \([0-9]*\),$/\1/p' "$dir/s.json")
        cnt=$(sed -n 's/^  "events": \([0-9]*\),$/\1/p' "$dir/s.json")
        last=$(sed -n 's/^  "last_event": \(.*\),$/\1/p' "$dir/s.json")
        [ "$first" = "$next" ] || fail "shard $i/$n starts at $first, expected $next"
        if [ "$cnt" -gt 0 ]; then
            [ "$last" = $((first + cnt - 1)) ] || fail "shard $i/$n: last_event $last"
        else
            [ "$last" = null ] || fail "empty shard $i/$n: last_event $last"
        fi
        next=$((first + cnt))
        tail -n +2 "$dir/s.csv" >> "$dir/cat.rows"
        i=$((i + 1))
    done
    [ $next -eq $N_EV ] || fail "$n shards cover $next of $N_EV events"
    cmp -s "$dir/cat.rows" "$dir/all.rows" || fail "$n shards: rows differ from one run"
}
for n in 1 2 3 5 $N_EV 40; do
    check_shards "$dir/ev.e2e" $n
done
echo "ok: shards of 1, 2, 3, 5, $N_EV and 40 cover the file once, rows equal one run's"

# a header without the count (as written to a pipe): the events are counted first
cp "$dir/ev.e2e" "$dir/nocount.e2e"
printf '\000\000\000\000' | dd of="$dir/nocount.e2e" bs=1 seek=12 conv=notrunc 2>/dev/null
check_shards "$dir/nocount.e2e" 4
echo "ok: a file without a count in its header"

# refused
for bad in 3/3 5/3 a/3 1/0 -1/3 1/ /3 1/3x 1 ''; do
    run --shard "$bad" -o "$dir/x.csv" 2> "$dir/err"; rc=$?
    [ $rc -eq 2 ] || fail "--shard '$bad' gave status $rc"
    grep -q -- "--shard" "$dir/err" || fail "--shard '$bad': message $(cat "$dir/err")"
done
grep -q "below the number of shards" "$dir/err" 2>/dev/null || true
run --shard 3/3 -o "$dir/x.csv" 2>&1 | grep -q "below the number of shards (0..2)" || fail "I >= N message"
run --shard 0/2 --skip-events 1 -o "$dir/x.csv" 2> "$dir/err" && fail "--shard with --skip-events"
grep -q "cannot be combined" "$dir/err" || fail "--shard + --skip-events message: $(cat "$dir/err")"
echo "ok: bad --shard values refused"

# --skip-events at or past the end
for s in $N_EV 24 1000; do
    run --skip-events $s -o "$dir/x.csv" 2> "$dir/err"; rc=$?
    [ $rc -eq 1 ] || fail "--skip-events $s gave status $rc"
    grep -q "has $N_EV events" "$dir/err" || fail "--skip-events $s: message $(cat "$dir/err")"
done
"$E2E" --quiet run --events "$dir/nocount.e2e" --taggers eg --arch simplenet --model-dir "$dir/models" \
    --no-progress --skip-events 30 -o "$dir/x.csv" 2> "$dir/err" && fail "skip past the end (no count)"
grep -q "has $N_EV events" "$dir/err" || fail "--skip-events without count: $(cat "$dir/err")"
run --skip-events $((N_EV - 1)) -o "$dir/x.csv" || fail "--skip-events to the last event"
[ "$(tail -n +2 "$dir/x.csv" | cut -d, -f3 | sort -u | wc -l)" -eq 1 ] || fail "last event only"
echo "ok: --skip-events past the end is an error naming the count"
