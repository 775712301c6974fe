#!/bin/sh
# Start-up (issue 20, point 6): e2e's model load + first session creation against ONNX
# Runtime's session creation (the first InferenceSession.create of a process, and a second
# one in the same process), alternating e2e and ORT processes, medians of ROUNDS.
#   sh bench/startup.sh ROUNDS MODEL...
# E2E: the binary (default build/e2e). E2E_BASE: a second binary (e.g. one built before a
# change), run in the same rounds; its load + session median is printed as `base`. The
# columns are explained below the table.
E2E=${E2E:-build/e2e}
rounds=$1
shift
t=/tmp/su.$$
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
key() { tr ',' '\n' | sed -n "s/.*\"$1\": *\([0-9.]*\).*/\1/p"; }
# e2e bench's load_ms, session_ms, their sum and the sum of their CPU times, of binary $1 on
# model $2, appended to files $3_l, $3_s, $3_t, $3_c
e2e_once() {
    j=$("$1" bench "$2" --runs 3 --warmup 1 --json 2> /dev/null)
    l=$(echo "$j" | key load_ms); s=$(echo "$j" | key session_ms)
    echo "$l" >> "$3_l"; echo "$s" >> "$3_s"
    echo "$l $s" | awk '{ print $1 + $2 }' >> "$3_t"
    echo "$(echo "$j" | key load_cpu_ms) $(echo "$j" | key session_cpu_ms)" | awk '{ print $1 + $2 }' >> "$3_c"
}
ratio() { echo "$1 $2" | awk '{ print ($2 > 0 ? $1 / $2 : 0) }'; }
F='%-26s %7.1f %7.1f %7.1f %7.1f %8.1f %7.1f %6.2f %6.2f %7.1f %7.1f %6.2f\n'
printf '%-26s %7s %7s %7s %7s %8s %7s %6s %6s %7s %7s %6s\n' model base load session total \
    ort_1st ort_2nd /1st /2nd cpu ort2cpu /2cpu
for m in "$@"; do
    for f in e_l e_s e_t e_c b_l b_s b_t b_c o o2 oc2; do : > "$t.$f"; done
    for r in $(seq "$rounds"); do
        [ -n "$E2E_BASE" ] && e2e_once "$E2E_BASE" "$m" "$t.b"
        e2e_once "$E2E" "$m" "$t.e"
        j=$(node bench/ort_bench.js "$m" --runs 3 --warmup 1 --json 2> /dev/null)
        echo "$j" | key session_ms >> "$t.o"; echo "$j" | key session2_ms >> "$t.o2"
        echo "$j" | key session2_cpu_ms >> "$t.oc2"
    done
    l=$(median < "$t.e_l"); s=$(median < "$t.e_s"); tt=$(median < "$t.e_t"); c=$(median < "$t.e_c")
    b=$( [ -n "$E2E_BASE" ] && median < "$t.b_t" || echo 0)
    o=$(median < "$t.o"); o2=$(median < "$t.o2"); oc2=$(median < "$t.oc2")
    printf "$F" "$(basename "$m")" "$b" "$l" "$s" "$tt" "$o" "$o2" "$(ratio "$tt" "$o")" \
        "$(ratio "$tt" "$o2")" "$c" "$oc2" "$(ratio "$c" "$oc2")"
done
for f in e_l e_s e_t e_c b_l b_s b_t b_c o o2 oc2; do rm -f "$t.$f"; done
echo "(ms, medians of $rounds alternating rounds, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "base: E2E_BASE's load + session (0 without it); load, session, total: e2e's wall time;"
echo "ort_1st, ort_2nd: ORT's first and second session creation in one process; /1st, /2nd: total"
echo "over them; cpu, ort2cpu: the same as process CPU time (e2e's load + session, ORT's second"
echo "creation), /2cpu their ratio: on a loaded machine wall time is mostly waiting for a core"
