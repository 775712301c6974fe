#!/bin/sh
# The front-end commands end to end: e2e gen, e2e frames, e2e run (with the trained E/Gamma
# model from ../shared), and bad input (a truncated file stops the run with an error naming
# the event, after writing the events before it). Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
SHARED=${SHARED:-../shared}
MODEL=$SHARED/models/eg_simplenet_trained/model.onnx
[ -x "$E2E" ] || { echo "no $E2E"; exit 77; }
[ -f "$MODEL" ] || { echo "no $MODEL"; exit 77; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$E2E" --quiet gen --events 20 --seed 5 -o "$dir/ev.e2e" || fail "gen"
"$E2E" --quiet gen --events 20 --seed 5 -o "$dir/ev2.e2e" || fail "gen again"
cmp -s "$dir/ev.e2e" "$dir/ev2.e2e" || fail "gen is not reproducible"

"$E2E" --quiet frames --events "$dir/ev.e2e" --event 7 -o "$dir/fr" || fail "frames"
for f in index.json channel_ecal.npy channel_hbhe.npy channel_pt.npy channel_bpix3.npy eb.npy \
         hbhe_towers.npy eg_seeds.npy eg_frames.npy qg_frames.npy top_frames.npy tau_seeds.npy; do
    [ -s "$dir/fr/$f" ] || fail "frames did not write $f"
done
grep -q '"event": 8' "$dir/fr/index.json" || fail "index.json names the wrong event"
"$E2E" --quiet frames --events "$dir/ev.e2e" --event 20 -o "$dir/fr2" 2> "$dir/err" && fail "event 20 exists?"
grep -q "no event 20" "$dir/err" || fail "missing-event message: $(cat "$dir/err")"

"$E2E" run --events "$dir/ev.e2e" --taggers eg --model "eg=$MODEL" -o "$dir/p.csv" \
    --timing-json "$dir/t.json" --no-progress > "$dir/out" 2>&1 || { cat "$dir/out"; fail "run"; }
head -1 "$dir/p.csv" | grep -q '^run,lumi,event,tagger,slot,pt,eta,phi,seed_row,seed_col,score,status,truth$' \
    || fail "CSV header"
rows=$(grep -c ',eg,' "$dir/p.csv")
[ "$rows" -ge 20 ] || fail "only $rows EG rows"
grep -q ',-1,-1,-1,' "$dir/p.csv" || fail "no failed seed with score -1"
grep -q 'EGTagger' "$dir/out" || fail "no timing table"
grep -q '"stage": "DetFrames"' "$dir/t.json" || fail "timing JSON"

# --skip-events / --max-events
"$E2E" --quiet run --events "$dir/ev.e2e" --taggers eg --model "eg=$MODEL" --skip-events 5 \
    --max-events 3 -o "$dir/p2.csv" --no-progress > /dev/null 2>&1 || fail "run with skip"
ev=$(tail -n +2 "$dir/p2.csv" | cut -d, -f3 | sort -un | tr '\n' ' ')
[ "$ev" = "6 7 8 " ] || fail "skip/max selected events: $ev"

# a truncated file: events before the bad one are written (to p3.partial.csv: p3.csv is
# only made by a job that finished), exit status 1
size=$(wc -c < "$dir/ev.e2e")
head -c $((size / 2)) "$dir/ev.e2e" > "$dir/trunc.e2e"
"$E2E" run --events "$dir/trunc.e2e" --taggers eg --model "eg=$MODEL" -o "$dir/p3.csv" \
    --no-progress > /dev/null 2> "$dir/err"
[ $? -eq 1 ] || fail "truncated file: exit status not 1"
grep -q "truncated" "$dir/err" || fail "truncated file message: $(cat "$dir/err")"
grep -q "event [0-9]* (byte offset" "$dir/err" || fail "message does not name the event"
[ -e "$dir/p3.csv" ] && fail "a failed run made p3.csv"
n=$(tail -n +2 "$dir/p3.partial.csv" | cut -d, -f3 | sort -u | wc -l)
[ "$n" -ge 5 ] || fail "only $n events written before the bad one"

# a wrong magic
printf 'NOTANEVENTFILE..................' > "$dir/bad.e2e"
"$E2E" run --events "$dir/bad.e2e" --taggers eg --model "eg=$MODEL" -o "$dir/p4.csv" \
    --no-progress > /dev/null 2> "$dir/err" && fail "bad magic accepted"
grep -q "wrong magic" "$dir/err" || fail "bad magic message: $(cat "$dir/err")"
echo "ok"
