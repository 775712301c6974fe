#!/bin/sh
# Event throughput of e2e run per event (--batch-events 1) against --batch-events K, in
# alternating runs (issue 20, point 5): each run's events/s (the event loop's wall time,
# setup excluded) and, with GNU time (/usr/bin/time), the whole job's CPU seconds (user +
# sys, setup included; less sensitive than wall time to the other processes on the
# machine), then the medians, with the load average before and after.
#   sh bench/batch_events.sh EVENTS ARCH|trained K ROUNDS [MODEL_DIR]
# ARCH simplenet reads MODEL_DIR/<tagger>_simplenet.onnx (default build/models, made by
# e2e models --out build/models --arch simplenet); trained the shipped models.
E2E=${E2E:-build/e2e}
ev=$1 arch=${2:-trained} k=${3:-16} rounds=${4:-5} mdir=${5:-build/models}
set -- --events "$ev" --no-progress -o /dev/null --warmup 16
if [ "$arch" != trained ]; then
    set -- "$@" --arch "$arch" --model-dir "$mdir"
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
timer=
/usr/bin/time -f "%U" -o "$tmp/t" true > /dev/null 2>&1 && timer=1
# one run of e2e run "$@": prints "events/s cpu_seconds" (cpu "-" without GNU time)
one() {
    cpu=-
    if [ -n "$timer" ]; then
        /usr/bin/time -f "%U %S" -o "$tmp/t" "$E2E" run "$@" > "$tmp/o" 2>&1
        cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$tmp/t")
    else
        "$E2E" run "$@" > "$tmp/o" 2>&1
    fi
    rate=$(sed -n 's/.*events\/s (whole job, [0-9]* taggers): \([0-9.]*\).*/\1/p' "$tmp/o")
    echo "${rate:-0} $cpu"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
for r in $(seq "$rounds"); do
    a=$(one "$@" --batch-events 1)
    b=$(one "$@" --batch-events "$k")
    echo "round $r: per event ${a% *} events/s (cpu ${a#* } s), --batch-events $k ${b% *} events/s (cpu ${b#* } s)"
    echo "$a" >> "$tmp/1"
    echo "$b" >> "$tmp/k"
done
m1=$(cut -d' ' -f1 "$tmp/1" | median) mk=$(cut -d' ' -f1 "$tmp/k" | median)
echo "median: per event $m1 events/s, --batch-events $k $mk events/s, ratio $(echo "$mk $m1" | awk '{ printf "%.2f", $1 / $2 }')"
if [ -n "$timer" ]; then
    c1=$(cut -d' ' -f2 "$tmp/1" | median) ck=$(cut -d' ' -f2 "$tmp/k" | median)
    echo "median CPU per job (setup included): per event $c1 s, --batch-events $k $ck s, ratio $(echo "$c1 $ck" | awk '{ printf "%.2f", $1 / $2 }')"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
