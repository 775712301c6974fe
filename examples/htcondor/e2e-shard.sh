#!/bin/sh
# One shard under HTCondor (UNTESTED: HTCondor is not packaged in Debian 12, where this was
# written; see docs/deploy.md). Arguments: SHARD NSHARDS; settings as in
# examples/slurm/e2e-array.sbatch (EVENTS, OUT, E2E, MODEL_DIR, RUN_ARGS from the environment).
set -eu
I=$1; N=$2
OUT=${OUT:-e2e-out}; E2E=${E2E:-e2e}
export E2E_MODEL_DIR=${MODEL_DIR:-$OUT/models} # e2e's model cache: written once on first use
mkdir -p "$OUT"
# shellcheck disable=SC2086 # RUN_ARGS is a list of options, E2E may be a command with arguments
exec $E2E run --events "${EVENTS:?set EVENTS}" --shard "$I/$N" \
    --threads "${OMP_NUM_THREADS:-1}" --no-progress ${RUN_ARGS:-} \
    -o "$OUT/part-$I.csv" --timing-json "$OUT/part-$I.json"
