#!/bin/sh
# Golden outputs (issue 17): the output bits of every model `e2e models` makes, the trained
# models, the model fixtures and the conformance cases, at optimize 1, per instruction-set
# level, compared with tests/golden/outputs-<isa>.txt (a 64-bit digest per case, made by
# tests/golden/golden.c). A change of bits names the case. --write regenerates the files
# (make golden). Results depend on the kernels: e2e's own per level, and OpenBLAS's, which
# are pinned here per level (OPENBLAS_CORETYPE) with one thread; docs/testing.md says what
# a mismatch on another machine means and how to regenerate.
# Environment: GOLDEN (the program, default $BUILD/tests/golden), BUILD, SHARED, GOLDEN_ISAS
# (the levels, default "avx512 avx2 generic").
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
GOLDEN=${GOLDEN:-$BUILD/tests/golden}
dir=tests/golden
write=0; [ "${1:-}" = --write ] && write=1
[ -x "$GOLDEN" ] || { echo "golden: $GOLDEN not built (make $GOLDEN)"; exit 1; }

# OpenBLAS's core per level: the one a CPU of exactly that level would pick
core_of() { case $1 in avx512) echo SkylakeX ;; avx2) echo Haswell ;; *) echo Prescott ;; esac; }
status=0; ran=0
for isa in ${GOLDEN_ISAS:-avx512 avx2 generic}; do
    file=$dir/outputs-$isa.txt
    out=$BUILD/golden-$isa.txt
    start=$(date +%s)
    E2E_ISA=$isa OPENBLAS_CORETYPE=$(core_of $isa) OPENBLAS_NUM_THREADS=1 \
        "$GOLDEN" --isa $isa --threads 1 --shared "$SHARED" > "$out" 2> "$BUILD/golden-$isa.err"; rc=$?
    if [ $rc -eq 77 ]; then
        echo "skipped: golden outputs [$isa]: $(cat "$BUILD/golden-$isa.err")"; continue
    fi
    [ $rc -eq 0 ] || { echo "FAIL golden [$isa]: the program ended with status $rc"; tail -5 "$BUILD/golden-$isa.err"; status=1; continue; }
    ran=$((ran + 1))
    if [ $write = 1 ]; then
        { echo "# tests/golden/outputs-$isa.txt: made by make golden on $(date -u +%Y-%m-%d),"
          echo "# CPU $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
          cat "$out"; } > "$file"
        echo "golden [$isa]: wrote $file ($(grep -vc '^#' "$file") cases, $(( $(date +%s) - start )) s)"
        continue
    fi
    [ -f "$file" ] || { echo "FAIL golden [$isa]: no $file (make golden)"; status=1; continue; }
    grep -v '^#' "$file" > "$BUILD/golden-$isa.want"
    # cases of ../shared are compared only when it is there
    if [ ! -d "$SHARED/conformance" ]; then
        echo "skipped: golden outputs of $SHARED/conformance cases [$isa] ($SHARED/conformance not found)"
        grep -v -E '^(onnx-node|differential)/' "$BUILD/golden-$isa.want" > "$BUILD/golden-$isa.want2"
        mv "$BUILD/golden-$isa.want2" "$BUILD/golden-$isa.want"
    fi
    grep -v '^#' "$out" > "$BUILD/golden-$isa.got"
    changed=$(awk 'NR == FNR { want[$1] = $0; next }
                   { seen[$1] = 1; if (!($1 in want)) print "new case: " $0;
                     else if (want[$1] != $0) print "changed: " $1 ": stored \"" substr(want[$1], length($1) + 2) "\", now \"" substr($0, length($1) + 2) "\"" }
                   END { for (k in want) if (!(k in seen)) print "missing: " k }' \
              "$BUILD/golden-$isa.want" "$BUILD/golden-$isa.got")
    n=$(wc -l < "$BUILD/golden-$isa.got")
    if [ -n "$changed" ]; then
        status=1
        echo "FAIL golden [$isa]: $(printf '%s\n' "$changed" | wc -l) of $n cases differ from $file:"
        printf '%s\n' "$changed" | head -40
        echo "  stored with:  $(grep '^# CPU\|^# OpenBLAS' "$file" | tr '\n' ' ')"
        echo "  this machine: # CPU $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1) $(grep '^# OpenBLAS' "$out")"
        echo "  (a kernel change, or another CPU/OpenBLAS build; docs/testing.md: make golden regenerates)"
    else
        echo "golden [$isa]: $n cases bit-identical to $file ($(( $(date +%s) - start )) s)"
    fi
done
[ $ran -gt 0 ] || { echo "golden: no level ran"; exit 77; }
exit $status
