#!/bin/sh
# The merge under HTCondor (UNTESTED): the parts' names are expanded by this shell, since
# HTCondor passes arguments without expanding wildcards.
set -eu
OUT=${OUT:-e2e-out}; E2E=${E2E:-e2e}
# shellcheck disable=SC2086 # E2E may be a command with arguments
exec $E2E merge -o "$OUT/all.csv" --timing-json "$OUT/all.json" "$OUT"/part-*.csv
