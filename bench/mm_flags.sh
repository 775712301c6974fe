#!/bin/sh
# The packed GEMM's AVX-512 kernels as built (Makefile flags) against the same source under
# other flags (default -march=native, as the pre-dispatch build compiled them), alternating
# in one process (bench/mm_flags.c). Needs build/libe2e.a (make) and an AVX-512 CPU.
# Usage: bench/mm_flags.sh [REPETITIONS] [FLAGS...]   e.g. bench/mm_flags.sh 100 -mtune=znver3
BUILD=${BUILD:-build}
CC=${CC:-cc}
reps=${1:-100}
[ $# -gt 0 ] && shift
flags=${*:--march=native}
isa="-mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512dq -mavx512vl"
out=$BUILD/bench
mkdir -p "$out" || exit 1
common="-O2 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -pthread"
# shellcheck disable=SC2086
$CC $common $isa $flags -De2e_mm_avx512=e2e_mm_avx512_other -c src/ops/x86/mm_avx512.c -o "$out/mm_avx512_other.o" &&
    $CC $common -o "$out/mm_flags" bench/mm_flags.c "$out/mm_avx512_other.o" "$BUILD/libe2e.a" -lopenblas -lm -lpthread ||
    exit 1
echo "# other flags: $isa $flags; load $(cut -d' ' -f1-3 /proc/loadavg)"
"$out/mm_flags" "$reps"
