#!/bin/sh
# The timing JSONs say where their numbers came from (issue 16): e2e run --timing-json and
# e2e bench --json hold a "provenance" object with the library version, the threads, the
# optimize level, the device, the CPU model, the logical CPUs and the SIMD level (as E2E_ISA
# caps it) and the CPU's best, as set on the command line. Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
SHARED=${SHARED:-../shared}
MODEL=$SHARED/models/eg_simplenet_trained/model.onnx
[ -x "$E2E" ] || { echo "skipped: no $E2E"; exit 77; }
[ -f "$MODEL" ] || { echo "skipped: no $MODEL"; exit 77; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
version=$("$E2E" --version 2>/dev/null | grep -o '[0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*' | head -1)
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)

check() { # FILE THREADS OPTIMIZE WHAT [PRECISION]
    tr -d '\n' < "$1" | grep -q '"provenance": *{' || fail "$4: no provenance object"
    grep -q "\"library_version\": \"[0-9][0-9.]*\"" "$1" || fail "$4: library_version"
    [ -z "$version" ] || grep -q "\"library_version\": \"$version\"" "$1" \
        || fail "$4: library_version is not $version"
    grep -q "\"threads\": $2," "$1" || fail "$4: threads $2"
    grep -q "\"optimize\": $3," "$1" || fail "$4: optimize $3"
    grep -q "\"precision\": \"${5:-fp32}\"," "$1" || fail "$4: precision ${5:-fp32}"
    grep -q '"device": "cpu"' "$1" || fail "$4: device"
    grep -q '"cpu_model": "..*"' "$1" || fail "$4: cpu_model"
    [ -z "$cpu" ] || grep -qF "\"cpu_model\": \"$cpu\"" "$1" || fail "$4: cpu_model is not $cpu"
    grep -q '"logical_cpus": [1-9]' "$1" || fail "$4: logical_cpus"
    grep -q '"simd": "[a-z0-9]' "$1" || fail "$4: simd"
    grep -q '"simd_cpu": "[a-z0-9]' "$1" || fail "$4: simd_cpu"
}

"$E2E" --quiet gen --events 3 --seed 4 -o "$dir/ev.e2e" || fail "gen"
"$E2E" --quiet --optimize 0 run --events "$dir/ev.e2e" --taggers eg --model "eg=$MODEL" \
    --threads 2 -o "$dir/p.csv" --timing-json "$dir/t.json" --no-progress || fail "run"
check "$dir/t.json" 2 0 "run --timing-json"
"$E2E" bench "$MODEL" --runs 2 --warmup 0 --threads 1 --json > "$dir/b.json" || fail "bench"
check "$dir/b.json" 1 1 "bench --json"
"$E2E" --precision bf16 run --events "$dir/ev.e2e" --taggers eg --model "eg=$MODEL" \
    -o "$dir/p16.csv" --timing-json "$dir/t16.json" --no-progress || fail "run bf16"
check "$dir/t16.json" 1 1 "run --precision bf16" bf16
# the level the kernels ran at follows E2E_ISA (capped to generic here)
E2E_ISA=generic "$E2E" bench "$MODEL" --runs 1 --warmup 0 --json > "$dir/g.json" || fail "bench generic"
grep -q '"simd": "generic"' "$dir/g.json" || fail "E2E_ISA=generic: $(grep simd "$dir/g.json")"
if command -v python3 > /dev/null 2>&1; then
    python3 -c 'import json, sys; [json.load(open(f)) for f in sys.argv[1:]]' "$dir/t.json" \
        "$dir/b.json" || fail "a JSON does not parse"
fi
echo "ok"
