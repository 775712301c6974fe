#!/bin/bash
# Submits a sharded e2e run: an array of NSHARDS tasks (at most THROTTLE at once) and the
# merge, which starts when every task has ended successfully (afterok; MERGE_AFTER=afterany
# makes it run anyway and name the failed parts). Prints the two job ids.
#   EVENTS=/data/events.e2e OUT=/scratch/run1 NSHARDS=64 THROTTLE=16 CPUS=4 ./submit.sh
# Further sbatch options (partition, account, time): SBATCH_ARGS="-p short -t 01:00:00".
set -euo pipefail
: "${EVENTS:?set EVENTS to the event file}"
export EVENTS OUT=${OUT:-e2e-out} E2E=${E2E:-e2e}
NSHARDS=${NSHARDS:-4} THROTTLE=${THROTTLE:-2} CPUS=${CPUS:-1}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
# stale parts of an earlier run would be merged too
rm -f "$OUT"/part-*.csv "$OUT"/part-*.json
# shellcheck disable=SC2086 # SBATCH_ARGS is a list of options
array=$(sbatch --parsable ${SBATCH_ARGS:-} --export=ALL --chdir="$PWD" \
    --array="0-$((NSHARDS - 1))%$THROTTLE" --cpus-per-task="$CPUS" "$here/e2e-array.sbatch")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${SBATCH_ARGS:-} --export=ALL --chdir="$PWD" \
    --dependency="${MERGE_AFTER:-afterok}:$array" "$here/e2e-merge.sbatch")
echo "array $array merge ${merge%%;*}"
