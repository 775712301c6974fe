#!/bin/sh
# Clear errors for command-line slips (issue 16): a folder given where a model file is
# expected says "is a directory" (not "cannot allocate 9223372036854775807 bytes"), and
# `infer --input NAME=FILE` with a NAME the model does not have names NAME and lists the
# model's inputs. Then the rules of the one command-line layer (src/cli/opts.c) on every
# command: strict numbers naming the option, --key=value, global options after the command,
# unknown options with a suggestion, --help/--version on every command of `e2e help`, '-' for
# stdin/stdout, and README's table listing every command. Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
SHARED=${SHARED:-../shared}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
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

# numbers: the whole text, in range, or exit 2 naming the command, the option and the text
bad() { # what-the-message-says e2e-args...
    want=$1; shift
    "$E2E" "$@" > /dev/null 2> "$dir/err"; rc=$?
    [ $rc -eq 2 ] || fail "e2e $* exited $rc (want 2)"
    grep -q -- "$want" "$dir/err" || fail "e2e $*: message '$(cat "$dir/err")' lacks '$want'"
}
bad "e2e gen: --pileup: 'abc' is not a number" gen --events 1 --pileup abc -o "$dir/x.e2e"
bad "e2e gen: --events: '3x' is not a whole number" gen --events 3x -o "$dir/x.e2e"
bad "e2e check: --rtol: 'abc' is not a number" check --rtol abc "$dir"
bad "e2e check: --threads: '2.5' is not a whole number" check --threads 2.5 "$dir"
bad "e2e infer: --threads: 'lots' is not a whole number" infer --threads lots "$MODEL" --input x.npy
bad "e2e run: --threads: 0 is out of range (1..256)" run --threads 0
bad "e2e run: --max-events: '-1' is not a whole number" run --max-events -1
bad "e2e bench: --runs: '1.5' is not a whole number" bench "$MODEL" --runs 1.5
bad "e2e compare: --atol: -1 is out of range" compare "$MODEL" --atol=-1
bad "e2e display: --scale: 9 is out of range (1..8)" display --scale 9
bad "e2e frames: --node-threshold: 'x' is not a number" frames --node-threshold x
bad "e2e info: --batch: '' is not a whole number" info "$MODEL" --batch=
bad "e2e: --optimize: 3 is out of range (0..2)" --optimize 3 info "$MODEL"
bad "e2e info: --optimize: 3 is out of range (0..2)" info "$MODEL" --optimize 3
# values: missing, given to a flag
bad "e2e gen: --events needs a value" gen --events
bad "e2e run: --no-progress takes no value" run --no-progress=1
# unknown options: refused with the nearest name; abbreviations are not taken
bad "e2e run: unknown option --thread (did you mean --threads?)" run --thread 2
bad "e2e merge: unknown option --timing-jsn (did you mean --timing-json?)" merge --timing-jsn x
bad "e2e gen: unknown option --ev (did you mean --events?)" gen --ev 3 -o "$dir/x.e2e"
bad "e2e bench: unknown option -x" bench -x "$MODEL"
bad "e2e: no command 'rnu' (did you mean run?)" rnu

# --key=value is --key value
"$E2E" gen --events=3 --seed=5 --pileup=10 --output="$dir/a.e2e" 2> /dev/null || fail "gen --key=value"
"$E2E" gen --events 3 --seed 5 --pileup 10 -o "$dir/b.e2e" 2> /dev/null || fail "gen --key value"
cmp "$dir/a.e2e" "$dir/b.e2e" || fail "--key=value and --key value wrote different files"
"$E2E" run --events="$dir/a.e2e" --taggers=eg --model=eg="$MODEL" --max-events=2 --no-progress \
    -o - 2> /dev/null > "$dir/run.csv" || fail "run --max-events=2"
[ "$(cut -d, -f3 "$dir/run.csv" | sed 1d | sort -u | tr '\n' ' ')" = "1 2 " ] ||
    fail "run --max-events=2 read other events: $(cat "$dir/run.csv")"

# global options after the command, and before it
"$E2E" gen --events 2 -o "$dir/c.e2e" 2> "$dir/err" && grep -q "wrote 2 events" "$dir/err" ||
    fail "gen does not report: $(cat "$dir/err")"
"$E2E" gen --events 2 -o "$dir/c.e2e" --quiet 2> "$dir/err" && [ ! -s "$dir/err" ] ||
    fail "gen ... --quiet still reports: $(cat "$dir/err")"
"$E2E" -q gen --events 2 -o "$dir/c.e2e" 2> "$dir/err" && [ ! -s "$dir/err" ] ||
    fail "e2e -q gen still reports: $(cat "$dir/err")"
"$E2E" info "$MODEL" --max-model-mb=0.001 > /dev/null 2> "$dir/err"; rc=$?
[ $rc -eq 1 ] && grep -q "limit" "$dir/err" || fail "info ... --max-model-mb: $rc $(cat "$dir/err")"

# --help and --version on every command of `e2e help`; README's table lists each
cmds=$("$E2E" help | awk '/^commands:/ { f = 1; next } /^$/ { f = 0 } f { print $1 }')
[ "$(echo $cmds | wc -w)" -ge 11 ] || fail "e2e help lists only: $cmds"
ver=$("$E2E" --version | head -1)
for c in $cmds; do
    "$E2E" "$c" --help > "$dir/out" 2>&1 || fail "e2e $c --help exited $?"
    grep -q "^usage: e2e $c" "$dir/out" && grep -q "global options" "$dir/out" ||
        fail "e2e $c --help: $(head -3 "$dir/out")"
    "$E2E" help "$c" | cmp -s - "$dir/out" || fail "e2e help $c differs from e2e $c --help"
    [ "$("$E2E" "$c" --version | head -1)" = "$ver" ] || fail "e2e $c --version"
    grep -q "^| \`e2e $c[\` ]" "$ROOT/README.md" || fail "README.md's command table lacks e2e $c"
done

# '-': stdout for outputs, stdin for inputs read in order; refused, saying why, elsewhere
"$E2E" gen --events 3 --seed 5 --pileup 10 -o - > "$dir/d.e2e" 2> /dev/null || fail "gen -o -"
cmp "$dir/d.e2e" "$dir/b.e2e" || fail "gen -o - > FILE differs from gen -o FILE"
[ -e ./- ] && fail "gen -o - wrote a file named -"
"$E2E" gen --events 3 -o - 2> /dev/null | "$E2E" frames --events - --event 2 -o "$dir/fr" > /dev/null ||
    fail "gen -o - | frames --events - --event 2"
[ -f "$dir/fr/index.json" ] || fail "frames --events - wrote no index.json"
bad "e2e frames: -o names a folder" frames --events "$dir/a.e2e" --event 0 -o -
bad "e2e display: -o names the PNG file; '-' (stdout)" display --events "$dir/a.e2e" --event 0 -o -
bad "e2e run: --events - (stdin) cannot be used" run --events - -o -
for s in 0 1; do
    "$E2E" -q run --events "$dir/a.e2e" --taggers eg --model eg="$MODEL" --no-progress \
        --shard $s/2 -o "$dir/p$s.csv" --timing-json "$dir/p$s.json" || fail "run --shard $s/2"
done
"$E2E" -q run --events "$dir/a.e2e" --taggers eg --model eg="$MODEL" --no-progress -o - \
    > "$dir/all.csv" || fail "run -o -"
"$E2E" merge -o - "$dir/p0.csv" "$dir/p1.csv" > "$dir/m.csv" 2> /dev/null || fail "merge -o -"
cmp "$dir/m.csv" "$dir/all.csv" || fail "merge -o - differs from run -o -"
"$E2E" merge -o "$dir/m2.csv" --timing-json - "$dir/p0.csv" "$dir/p1.csv" 2> /dev/null |
    grep -q '"status": "complete"' || fail "merge --timing-json - printed no JSON"
CASE=$SHARED/conformance/onnx-node/test_abs
if [ -d "$CASE" ]; then
    echo "$CASE" | "$E2E" check --list - > "$dir/out" || fail "check --list -: $(cat "$dir/out")"
    grep -q "1 passed, 0 failed" "$dir/out" || fail "check --list -: $(cat "$dir/out")"
else
    echo "check --list - not tried: no $CASE"
fi
echo "ok"
