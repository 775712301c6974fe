#!/bin/sh
# e2e run's outputs and model folders (issue 16): a failed run keeps an earlier CSV of the
# same name byte for byte and leaves the complete rows of the events it finished in
# NAME.partial.csv; Ctrl-C (SIGINT) mid-run leaves complete rows only and the summary says
# where it stopped; a bad output path fails before any event is read; --model-dir is only
# read (a missing model names `e2e models --out DIR`, the folder is neither created nor
# written); the defaults (sample events, CSV, benchmark models) go to the per-user cache
# (XDG_CACHE_HOME, E2E_MODEL_DIR, $HOME/.cache), never to the working folder.
# Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
[ -x "$E2E" ] || { echo "no $E2E"; exit 77; }
[ -f models/trained/eg.onnx ] || { echo "FAIL: models/trained/eg.onnx is missing"; exit 1; }
dir=$(mktemp -d) || exit 1
pid=
trap '[ -n "$pid" ] && kill $pid 2> /dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
e2e=$(cd "$(dirname "$E2E")" && pwd)/$(basename "$E2E")
MODEL=$(pwd)/models/trained/eg.onnx
complete_rows() { # file: every line has the 13 fields and the file ends with a newline
    [ -s "$1" ] || fail "$1 is missing or empty"
    [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ] || fail "$1 ends mid-row"
    awk -F, 'NF != 13 { bad = 1 } END { exit bad }' "$1" || fail "$1 has an incomplete row"
    head -n 1 "$1" | grep -q '^run,lumi,event,tagger,' || fail "$1: no header"
}

"$e2e" --quiet gen --events 40 --seed 21 -o "$dir/ev.e2e" || fail "gen"
printf 'an earlier result\n1,2,3\n' > "$dir/keep.csv"
cp "$dir/keep.csv" "$dir/keep.orig"

# 1. a failed run: the earlier keep.csv stays, the finished events' rows are in keep.partial.csv
size=$(wc -c < "$dir/ev.e2e")
head -c $((size / 2)) "$dir/ev.e2e" > "$dir/trunc.e2e"
"$e2e" run --events "$dir/trunc.e2e" --taggers eg --model "eg=$MODEL" -o "$dir/keep.csv" \
    --timing-json "$dir/t.json" --no-progress > "$dir/out" 2> "$dir/err" && fail "a truncated file did not fail"
cmp -s "$dir/keep.csv" "$dir/keep.orig" || fail "a failed run changed keep.csv"
[ -e "$dir/t.json" ] && fail "a failed run wrote t.json (its timing goes to t.partial.json)"
complete_rows "$dir/keep.partial.csv"
n=$(tail -n +2 "$dir/keep.partial.csv" | cut -d, -f3 | sort -u | wc -l)
[ "$n" -ge 5 ] || fail "only $n events in keep.partial.csv"
grep -q "failed: stopped after [0-9]* events (the last: event [0-9]*, number [0-9]* in the file); their complete rows are in .*keep.partial.csv, .*keep.csv was left as it was" "$dir/err" \
    || fail "the failure does not say where it stopped: $(cat "$dir/err")"
grep -q "predictions: [0-9]* events -> .*keep.partial.csv" "$dir/out" || fail "summary: $(grep predictions "$dir/out")"
grep -q '"status": "failed"' "$dir/t.partial.json" || fail "t.partial.json status"
grep -q "\"output\": \".*/keep.partial.csv\"" "$dir/t.partial.json" || fail "t.partial.json does not record keep.partial.csv"
grep -q "\"output_bytes\": $(wc -c < "$dir/keep.partial.csv")," "$dir/t.partial.json" || fail "t.partial.json output_bytes"
ls "$dir" | grep -q '\.tmp\.' && fail "temporary files left: $(ls "$dir")"
# a run that cannot start (no CUDA in a CPU build) keeps keep.csv too
if "$e2e" --quiet run --events "$dir/ev.e2e" --taggers eg --model "eg=$MODEL" --device cuda \
    -o "$dir/keep.csv" --no-progress > /dev/null 2> "$dir/err"; then
    echo "skip: --device cuda works in this build (the failing-device case is not tested)"
else
    cmp -s "$dir/keep.csv" "$dir/keep.orig" || fail "--device cuda changed keep.csv"
    grep -q "cuda" "$dir/err" || fail "--device cuda message: $(cat "$dir/err")"
fi
# a run that succeeds replaces keep.csv and removes the stale partial files
"$e2e" --quiet run --events "$dir/ev.e2e" --taggers eg --model "eg=$MODEL" -o "$dir/keep.csv" \
    --timing-json "$dir/t.json" --no-progress || fail "run"
complete_rows "$dir/keep.csv"
[ -e "$dir/keep.partial.csv" ] || [ -e "$dir/t.partial.json" ] && fail "stale partial files kept: $(ls "$dir")"
grep -q '"status": "complete"' "$dir/t.json" || fail "t.json status"
# a device is written as it is (no NAME.tmp.PID beside /dev/null, nothing renamed or removed)
"$e2e" --quiet run --events "$dir/trunc.e2e" --taggers eg --model "eg=$MODEL" -o /dev/null \
    --timing-json /dev/null --no-progress 2> /dev/null && fail "a truncated file did not fail (-o /dev/null)"
"$e2e" --quiet run --events "$dir/ev.e2e" --taggers eg --model "eg=$MODEL" -o /dev/null \
    --timing-json /dev/null --no-progress || fail "run -o /dev/null"
[ -c /dev/null ] || fail "/dev/null is no longer a device"
echo "ok: a failed run keeps keep.csv byte for byte, $n events' complete rows in keep.partial.csv"

# 2. SIGINT mid-run: complete rows only, the summary says where it stopped
"$e2e" --quiet gen --events 600 --seed 22 -o "$dir/big.e2e" || fail "gen 600"
"$e2e" run --events "$dir/big.e2e" -o "$dir/i.csv" --no-progress > "$dir/out" 2> "$dir/err" &
pid=$!
k=0
until [ "$(cat "$dir"/i.csv.tmp.* 2> /dev/null | wc -l)" -gt 20 ]; do
    k=$((k + 1)); [ $k -gt 300 ] && fail "no rows after 30 s"; sleep 0.1
done
kill -INT $pid
wait $pid && fail "an interrupted run exited 0"
pid=
[ -e "$dir/i.csv" ] && fail "an interrupted run made i.csv"
complete_rows "$dir/i.partial.csv"
n=$(tail -n +2 "$dir/i.partial.csv" | cut -d, -f3 | sort -u | wc -l)
last=$(tail -n 1 "$dir/i.partial.csv" | cut -d, -f3)
[ "$n" -lt 600 ] || fail "the interrupted run finished all events"
grep -q "interrupted: stopped after $n events (the last: event $last, number $n in the file); their complete rows are in .*i.partial.csv" \
    "$dir/err" || fail "the interruption does not say where it stopped ($n events, last $last): $(cat "$dir/err")"
ls "$dir" | grep -q '\.tmp\.' && fail "temporary files left: $(ls "$dir")"
echo "ok: SIGINT after $n of 600 events: complete rows in i.partial.csv, the message names event $last"

# ... and in run --frames (20000 zero frames of 1x32x32 at batch 1)
d="{'descr': '<f4', 'fortran_order': False, 'shape': (20000, 1, 32, 32), }"
printf '\223NUMPY\001\000\166\000%-117s\n' "$d" > "$dir/f.npy"
head -c $((20000 * 1024 * 4)) /dev/zero >> "$dir/f.npy"
"$e2e" run --frames "$dir/f.npy" --model "eg=$MODEL" --batch 1 -o "$dir/f.csv" > /dev/null 2> "$dir/err" &
pid=$!
k=0
until [ "$(cat "$dir"/f.csv.tmp.* 2> /dev/null | wc -l)" -gt 20 ]; do
    k=$((k + 1)); [ $k -gt 300 ] && fail "run --frames: no rows after 30 s"; sleep 0.1
done
kill -INT $pid
wait $pid && fail "an interrupted run --frames exited 0"
pid=
[ -e "$dir/f.csv" ] && fail "an interrupted run --frames made f.csv"
[ "$(tail -c 1 "$dir/f.partial.csv" | od -An -c | tr -d ' ')" = '\n' ] || fail "f.partial.csv ends mid-row"
awk -F, 'NR > 1 && NF != 3 { bad = 1 } END { exit bad }' "$dir/f.partial.csv" || fail "f.partial.csv: incomplete row"
n=$(($(wc -l < "$dir/f.partial.csv") - 1))
grep -q "interrupted after $n frames" "$dir/err" || fail "run --frames interruption ($n rows): $(cat "$dir/err")"
rm "$dir/f.npy"
echo "ok: run --frames: SIGINT after $n of 20000 frames, complete rows in f.partial.csv"

# 3. bad output paths fail before any event is read (no CSV made, exit 2, at once)
for bad in "--timing-json $dir/nope/t.json" "--roc $dir/nope/r.png" "-o $dir/nope/p.csv" "-o $dir"; do
    # shellcheck disable=SC2086
    "$e2e" run --events "$dir/big.e2e" --taggers eg --model "eg=$MODEL" -o "$dir/b.csv" $bad \
        --no-progress > "$dir/out" 2> "$dir/err"; rc=$?
    [ $rc -eq 2 ] || fail "$bad: status $rc"
    grep -q "does not exist\|is a folder" "$dir/err" || fail "$bad: message $(cat "$dir/err")"
    grep -q "events" "$dir/out" && fail "$bad: events were processed"
    ls "$dir" | grep -q '^b\.' && fail "$bad: an output was made: $(ls "$dir")"
done
"$e2e" merge -o "$dir/m.csv" --timing-json "$dir/nope/m.json" "$dir/keep.csv" 2> "$dir/err"; rc=$?
[ $rc -eq 2 ] || fail "merge with a bad --timing-json folder: status $rc"
grep -q "nope/m.json: the folder .*nope does not exist" "$dir/err" || fail "merge message: $(cat "$dir/err")"
[ -e "$dir/m.csv" ] && fail "merge wrote m.csv although its --timing-json cannot be written"
[ -e "$dir/nope" ] && fail "a missing output folder was created"
echo "ok: a bad --timing-json, --roc or -o is refused before any event (and by merge before any part)"

# 4. --model-dir is only read: a missing model is an error naming e2e models --out DIR
mkdir "$dir/md" && cp "$MODEL" "$dir/md/qg_vit.onnx"
ls -la --time-style=full-iso "$dir/md" | grep -v " \.\.$" > "$dir/md.before"
"$e2e" run --events "$dir/ev.e2e" --taggers eg --arch simplenet --model-dir "$dir/md" \
    -o "$dir/md.csv" 2> "$dir/err" && fail "a missing model in --model-dir did not fail"
ls -la --time-style=full-iso "$dir/md" | grep -v " \.\.$" > "$dir/md.after"
cmp -s "$dir/md.before" "$dir/md.after" || fail "--model-dir was written: $(cat "$dir/md.after")"
grep -q "model $dir/md/eg_simplenet.onnx not found .*e2e models --out $dir/md" "$dir/err" \
    || fail "missing model message: $(cat "$dir/err")"
"$e2e" run --events "$dir/ev.e2e" --taggers eg --arch vit --model-dir "$dir/typo" \
    -o "$dir/md.csv" 2> "$dir/err" && fail "a mistyped --model-dir did not fail"
[ -e "$dir/typo" ] && fail "a mistyped --model-dir was created"
grep -q "e2e models --out $dir/typo" "$dir/err" || fail "mistyped --model-dir message: $(cat "$dir/err")"
echo "ok: --model-dir is read only; a missing model names the command that writes it"

# 5. the defaults live in the per-user cache, not in the working folder
mkdir "$dir/wd" "$dir/home" "$dir/xdg" "$dir/emd"
for d in "$dir/home/.cache/e2e/models" "$dir/xdg/e2e/models" "$dir/emd"; do
    mkdir -p "$d" && cp "$MODEL" "$d/eg_simplenet.onnx" # stand-ins: the 140 MB are not written
done
(cd "$dir/wd" && HOME="$dir/home" XDG_CACHE_HOME= E2E_MODEL_DIR= "$e2e" --quiet run --taggers eg \
    --max-events 5 --timing-json t1.json) || fail "run with the defaults"
[ "$(ls "$dir/wd")" = t1.json ] || fail "the working folder got: $(ls "$dir/wd")"
grep -q "\"events_file\": \"$dir/home/.cache/e2e/sample/events.e2e\"" "$dir/wd/t1.json" || fail "sample events not in HOME/.cache"
complete_rows "$dir/home/.cache/e2e/sample/predictions.csv"
(cd "$dir/wd" && HOME="$dir/home" XDG_CACHE_HOME= E2E_MODEL_DIR= "$e2e" --quiet run --taggers eg \
    --arch simplenet --max-events 5 -o p.csv --timing-json t2.json) || fail "--arch simplenet, HOME"
grep -q "\"model\": \"$dir/home/.cache/e2e/models/eg_simplenet.onnx\"" "$dir/wd/t2.json" || fail "models not from HOME/.cache"
(cd "$dir/wd" && HOME="$dir/home" XDG_CACHE_HOME="$dir/xdg" E2E_MODEL_DIR= "$e2e" --quiet run \
    --taggers eg --arch simplenet --max-events 5 -o p.csv --timing-json t3.json) || fail "XDG_CACHE_HOME"
grep -q "\"model\": \"$dir/xdg/e2e/models/eg_simplenet.onnx\"" "$dir/wd/t3.json" || fail "models not from XDG_CACHE_HOME"
grep -q "\"events_file\": \"$dir/xdg/e2e/sample/events.e2e\"" "$dir/wd/t3.json" || fail "sample events not in XDG_CACHE_HOME"
(cd "$dir/wd" && HOME="$dir/home" XDG_CACHE_HOME="$dir/xdg" E2E_MODEL_DIR="$dir/emd" "$e2e" --quiet \
    run --taggers eg --arch simplenet --max-events 5 -o p.csv --timing-json t4.json) || fail "E2E_MODEL_DIR"
grep -q "\"model\": \"$dir/emd/eg_simplenet.onnx\"" "$dir/wd/t4.json" || fail "models not from E2E_MODEL_DIR"
[ "$(ls "$dir/wd" | tr '\n' ' ')" = "p.csv t1.json t2.json t3.json t4.json " ] || fail "the working folder got: $(ls "$dir/wd")"
echo "ok: sample events, default CSV and benchmark models in \$HOME/.cache/e2e, \$XDG_CACHE_HOME/e2e, \$E2E_MODEL_DIR"
