#!/bin/sh
# Event throughput of e2e run per event (--batch-events 1) against --batch-events K, in
# alternating runs (issue 20, point 5): prints each run's events/s and the medians.
#   sh bench/batch_events.sh EVENTS ARCH|trained K ROUNDS [MODEL_DIR]
# ARCH simplenet reads MODEL_DIR/<tagger>_simplenet.onnx (default build/models, made by
# e2e models --out build/models --arch simplenet); trained the shipped models.
E2E=${E2E:-build/e2e}
ev=$1 arch=${2:-trained} k=${3:-16} rounds=${4:-5} mdir=${5:-build/models}
set -- --events "$ev" --no-progress -o /dev/null --warmup 16
if [ "$arch" != trained ]; then
    set -- "$@" --arch "$arch" --model-dir "$mdir"
fi
rate() { "$E2E" run "$@" | sed -n 's/.*events\/s (whole job, [0-9]* taggers): \([0-9.]*\).*/\1/p'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: > /tmp/be1.$$; : > /tmp/bek.$$
for r in $(seq "$rounds"); do
    a=$(rate "$@" --batch-events 1); b=$(rate "$@" --batch-events "$k")
    echo "round $r: per event $a events/s, --batch-events $k $b events/s"
    echo "$a" >> /tmp/be1.$$; echo "$b" >> /tmp/bek.$$
done
m1=$(median < /tmp/be1.$$); mk=$(median < /tmp/bek.$$)
rm -f /tmp/be1.$$ /tmp/bek.$$
echo "median: per event $m1 events/s, --batch-events $k $mk events/s, ratio $(echo "$mk $m1" | awk '{ printf "%.2f", $1 / $2 }')"
