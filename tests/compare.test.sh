#!/bin/sh
# e2e compare (issue 16): configurations cpu@THREADS/optimize=N and cuda, --input files, and
# --json (parsed when Python is at hand: the configurations' threads and optimize levels, the
# provenance fields, the differences); bad configurations and input names are usage errors.
# Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
SHARED=${SHARED:-../shared}
MODEL=$SHARED/models/eg_simplenet_trained/model.onnx
[ -x "$E2E" ] || { echo "skipped: no $E2E"; exit 77; }
[ -f "$MODEL" ] || { echo "skipped: no $MODEL"; exit 77; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# an input of 3 frames [3, 1, 32, 32] as float32 .npy, written by awk (the value 0.5 for
# every cell of frame 0, 1.0 for frame 1, 2.0 for frame 2: exactly representable)
h="{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1, 32, 32), }"
{ printf '\223NUMPY\001\000\166\000'; printf '%-117s\n' "$h"; } > "$dir/x.npy"
LC_ALL=C awk 'BEGIN { for (i = 0; i < 3 * 1024; i++) {
    f = int(i / 1024); if (f == 0) printf "%c%c%c%c", 0, 0, 0, 63
    else if (f == 1) printf "%c%c%c%c", 0, 0, 128, 63; else printf "%c%c%c%c", 0, 0, 0, 64 } }' \
    >> "$dir/x.npy"
[ "$(wc -c < "$dir/x.npy")" -eq $((128 + 3 * 4096)) ] || fail "x.npy has the wrong size"

"$E2E" compare "$MODEL" --devices cpu@1/optimize=0,cpu@2 --input modelInput="$dir/x.npy" \
    --runs 3 --warmup 1 --json "$dir/c.json" > "$dir/out" 2>&1 || { cat "$dir/out"; fail "compare"; }
cat "$dir/out"
grep -q "batch 3, 3 runs after 1 warm-up; inputs from files" "$dir/out" || fail "header line"
grep -q "^cpu@1/optimize=0 " "$dir/out" || fail "no cpu@1/optimize=0 row"
grep -q "^cpu@2/optimize=1 " "$dir/out" || fail "no cpu@2/optimize=1 row (the default optimize level)"
grep -q "^cpu@2/optimize=1 vs cpu@1/optimize=0" "$dir/out" || fail "no comparison"
grep -q "within the tolerance" "$dir/out" || fail "the optimized graph differs"
if command -v python3 > /dev/null 2>&1; then
    python3 - "$dir/c.json" "$dir/x.npy" <<'PY' || fail "compare JSON"
import json, sys
j = json.load(open(sys.argv[1]))
p = j['provenance']
for k in ('library_version', 'cpu_model', 'simd', 'logical_cpus'):
    assert k in p, k
assert j['batch'] == 3 and j['runs'] == 3 and j['warmup'] == 1, j
assert p['cpu_model'] and p['simd'] and p['logical_cpus'] >= 1, p
assert j['inputs'] == [{'name': 'modelInput', 'dtype': 'float', 'shape': [3, 1, 32, 32],
                        'source': sys.argv[2]}], j['inputs']
a, b = j['configs']
assert (a['config'], a['device'], a['threads'], a['optimize']) == ('cpu@1/optimize=0', 'cpu', 1, 0), a
assert (b['config'], b['device'], b['threads'], b['optimize']) == ('cpu@2/optimize=1', 'cpu', 2, 1), b
assert a['reference'] and a['ran'] and a['median_ms'] > 0 and a['throughput_per_s'] > 0, a
assert b['against'] == 'cpu@1/optimize=0' and b['median_ms'] > 0, b
o, = b['outputs']
assert o['name'] == 'modelOutput' and o['elements'] == 3 and o['within_tolerance'], o
assert j['pass'] is True
print('compare JSON: %s, %s, simd %s; %d configs' % (p['library_version'], p['cpu_model'],
                                                     p['simd'], len(j['configs'])))
PY
else
    echo "skipped: the compare JSON is not parsed (no python3)"
fi
# --json - writes the JSON to stdout (the report to stderr); without --input: random
"$E2E" compare "$MODEL" --devices cpu --batch 3 --runs 1 --warmup 0 --json - 2> /dev/null \
    | grep -q '"source": "random"' || fail "--json - without --input: no random source on stdout"
# by position; the default list reports a missing GPU without failing (a CPU-only build)
"$E2E" compare "$MODEL" --input "$dir/x.npy" --runs 1 --warmup 0 > "$dir/out" 2>&1; rc=$?
grep -q "^cpu@1/optimize=1 " "$dir/out" || fail "default list: $(cat "$dir/out")"
if grep -q "^cuda/optimize=1 .*not available" "$dir/out"; then
    [ $rc -eq 0 ] || fail "a missing GPU without --devices exited $rc"
fi
# usage errors
for bad in cpu@0 gpu cuda@2 cpu/optimize=3 cpu/fast cpu,cpu@1; do
    "$E2E" compare "$MODEL" --devices "$bad" > /dev/null 2> "$dir/err"; rc=$?
    [ $rc -eq 2 ] || fail "--devices $bad exited $rc"
done
grep -q "cpu@1/optimize=1 is listed twice" "$dir/err" || fail "duplicate message: $(cat "$dir/err")"
"$E2E" compare "$MODEL" --devices cpu --input foo="$dir/x.npy" > /dev/null 2> "$dir/err"; rc=$?
[ $rc -eq 2 ] || fail "--input foo= exited $rc"
grep -q "no input named 'foo'; its inputs: modelInput" "$dir/err" || fail "--input foo: $(cat "$dir/err")"
"$E2E" compare "$MODEL" --devices cpu --input "$dir/x.npy" --input "$dir/x.npy" > /dev/null 2> "$dir/err"
[ $? -eq 2 ] || fail "two files for one input accepted"
echo "ok"
