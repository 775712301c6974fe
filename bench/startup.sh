#!/bin/sh
# Start-up (issue 20, point 6): e2e's model load + first session creation against ONNX
# Runtime's session creation (the first InferenceSession.create of a process, and a second
# one), alternating e2e and ORT processes, medians of ROUNDS.
#   sh bench/startup.sh ROUNDS MODEL...
E2E=${E2E:-build/e2e}
rounds=$1
shift
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
key() { tr ',' '\n' | sed -n "s/.*\"$1\": *\([0-9.]*\).*/\1/p"; }
printf '%-28s %9s %9s %9s %9s %9s %7s\n' model e2e_load e2e_sess e2e_total ort_first ort_2nd ratio
for m in "$@"; do
    : > /tmp/su_l.$$; : > /tmp/su_s.$$; : > /tmp/su_t.$$; : > /tmp/su_o.$$; : > /tmp/su_o2.$$
    for r in $(seq "$rounds"); do
        j=$("$E2E" bench "$m" --runs 3 --warmup 1 --json 2> /dev/null)
        l=$(echo "$j" | key load_ms); s=$(echo "$j" | key session_ms)
        echo "$l" >> /tmp/su_l.$$; echo "$s" >> /tmp/su_s.$$
        echo "$l $s" | awk '{ print $1 + $2 }' >> /tmp/su_t.$$
        j=$(node bench/ort_bench.js "$m" --runs 3 --warmup 1 --json 2> /dev/null)
        echo "$j" | key session_ms >> /tmp/su_o.$$; echo "$j" | key session2_ms >> /tmp/su_o2.$$
    done
    l=$(median < /tmp/su_l.$$); s=$(median < /tmp/su_s.$$); t=$(median < /tmp/su_t.$$)
    o=$(median < /tmp/su_o.$$); o2=$(median < /tmp/su_o2.$$)
    printf '%-28s %9.1f %9.1f %9.1f %9.1f %9.1f %7.2f\n' "$(basename "$m")" "$l" "$s" "$t" "$o" "$o2" \
        "$(echo "$t $o" | awk '{ print ($2 > 0 ? $1 / $2 : 0) }')"
done
rm -f /tmp/su_l.$$ /tmp/su_s.$$ /tmp/su_t.$$ /tmp/su_o.$$ /tmp/su_o2.$$
echo "(ms, medians of $rounds alternating rounds; ratio = e2e load + session / ORT's first session)"
