#!/bin/bash
# CI (issue 21): the Slurm example on a real single-node Slurm. Installs Debian's Slurm
# (slurmctld, slurmd, slurm-client: what the slurm-wlm metapackage pulls in) and munge when
# missing, starts munged, slurmctld and slurmd by hand (no systemd; proctrack/linuxproc,
# task/none, no accounting; configuration, state and logs in a temporary folder, ports
# 6917/6918), then:
#   1. examples/slurm/submit.sh: an array of 4 shards (2 at once) over SLURM_CI_EVENTS
#      generated events and the merge after it (afterok); the merged CSV must equal one
#      `e2e run` over the whole file byte for byte;
#   2. the same over a truncated event file: the last shard fails, a merge submitted with
#      afterok never starts (DependencyNeverSatisfied), one with afterany fails naming the
#      failed shard.
# The daemons it started are stopped at the end, whatever happens (trap). Needs root and the
# project built (build/e2e). Usage: tests/slurm.ci.sh   (exit 0 pass, 77 skip, else fail)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
E2E=${E2E:-$REPO/build/e2e}
N_EV=${SLURM_CI_EVENTS:-2000}
TAGGERS=${SLURM_CI_TAGGERS:-eg,top,tau}
TIMEOUT=${SLURM_CI_TIMEOUT:-240}
PKGS="slurmctld slurmd slurm-client munge"
[ -x "$E2E" ] || { echo "skipped: no $E2E (build first)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skipped: needs root (installs and starts Slurm)"; exit 77; }

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "== installing$missing"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) > /dev/null
fi

W=$(mktemp -d /tmp/e2e-slurm.XXXXXX)
MUNGED_PID=""
JOBS=""
fail() { echo "FAIL: $*"; exit 1; }
stop_pid() { # pid name: TERM, wait up to 10 s, then KILL
    local pid=$1 k=0
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
    kill -0 "$pid" 2>/dev/null && { echo "$2 did not stop; killing it"; kill -9 "$pid" 2>/dev/null || true; }
    return 0
}
cleanup() {
    rc=$?
    set +e
    [ -n "$JOBS" ] && scancel $JOBS 2>/dev/null
    [ -f "$W/slurmd.pid" ] && stop_pid "$(cat "$W/slurmd.pid")" slurmd
    [ -f "$W/slurmctld.pid" ] && stop_pid "$(cat "$W/slurmctld.pid")" slurmctld
    stop_pid "$MUNGED_PID" munged
    if [ $rc -ne 0 ]; then
        echo "== slurmctld log (tail)"; tail -15 "$W/slurmctld.log" 2>/dev/null
        echo "== slurmd log (tail)"; tail -15 "$W/slurmd.log" 2>/dev/null
    fi
    rm -rf "$W"
    echo "slurm daemons stopped"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# munge: the key comes with the package; munged runs as the munge user
if [ ! -S /run/munge/munge.socket.2 ] || ! munge -n > /dev/null 2>&1; then
    [ -f /etc/munge/munge.key ] || { mungekey -c -k /etc/munge/munge.key && chown munge:munge /etc/munge/munge.key; }
    mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do [ -f /run/munge/munged.pid ] && break; sleep 0.1; done
    MUNGED_PID=$(cat /run/munge/munged.pid)
    munge -n > /dev/null || fail "munged does not answer"
fi

host=$(hostname -s)
mkdir -p "$W/state" "$W/spool" "$W/run"
cat > "$W/slurm.conf" <<CONF
ClusterName=e2eci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=6917
SlurmdPort=6918
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=600
StateSaveLocation=$W/state
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/slurmctld.log
SlurmdLogFile=$W/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$W/slurm.conf
t0=$(date +%s)
slurmctld -c -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N "$host"
for k in $(seq 300); do
    [ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && break
    [ $k -eq 300 ] && fail "the node is not idle after 30 s: $(sinfo 2>&1)"
    sleep 0.1
done
echo "== Slurm up in $(( $(date +%s) - t0 )) s: $(sinfo -h -o '%P %D nodes %c CPUs %t')"

# waits until the jobs have left the queue (or only pending-forever ones remain)
wait_jobs() {
    local end=$(( $(date +%s) + TIMEOUT ))
    while :; do
        local left
        left=$(squeue -h -j "$1" -o '%i %T %r' 2>/dev/null | grep -v DependencyNeverSatisfied || true)
        [ -z "$left" ] && return 0
        [ "$(date +%s)" -ge $end ] && { squeue; fail "jobs $1 still running after $TIMEOUT s"; }
        sleep 1
    done
}
job_field() { # job field -> value from scontrol (finished jobs are kept MinJobAge s)
    scontrol show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

cd "$W/run"
export E2E EVENTS="$W/events.e2e" RUN_ARGS="--taggers $TAGGERS" ARCH=simplenet
"$E2E" --quiet gen --events "$N_EV" --seed 21 -o "$EVENTS"

# 1. the array and the merge; then one run over the whole file
t1=$(date +%s)
ids=$(OUT="$W/out" MODEL_DIR="$W/models" NSHARDS=4 THROTTLE=2 "$REPO/examples/slurm/submit.sh")
array=$(echo "$ids" | awk '{print $2}'); merge=$(echo "$ids" | awk '{print $4}')
JOBS="$array $merge"
echo "== submitted: $ids ($N_EV events, taggers $TAGGERS)"
wait_jobs "$array,$merge"
echo "== array + merge done in $(( $(date +%s) - t1 )) s"
for i in 0 1 2 3; do
    st=$(job_field "${array}_$i" JobState)
    [ "$st" = COMPLETED ] || { cat "e2e-shard-${array}_$i.out"; fail "array task $i: $st"; }
done
st=$(job_field "$merge" JobState)
[ "$st" = COMPLETED ] || { cat "e2e-merge-$merge.out"; fail "merge job: $st"; }
cat "e2e-merge-$merge.out"
t1=$(date +%s)
"$E2E" --quiet run --events "$EVENTS" --taggers "$TAGGERS" --arch simplenet --model-dir "$W/models" --no-progress \
    -o "$W/single.csv"
echo "== one run over the whole file: $(( $(date +%s) - t1 )) s"
cmp "$W/out/all.csv" "$W/single.csv" || fail "the merged CSV differs from one run"
echo "ok: the merged CSV of 4 Slurm array tasks equals one run ($(wc -l < "$W/single.csv") lines)"

# 2. a truncated event file: the last shard fails; afterok never starts, afterany reports it
"$E2E" --quiet gen --events 400 --seed 22 -o "$W/full.e2e"
size=$(wc -c < "$W/full.e2e")
head -c $((size - 20000)) "$W/full.e2e" > "$W/trunc.e2e"
ids=$(EVENTS="$W/trunc.e2e" OUT="$W/out2" MODEL_DIR="$W/models" NSHARDS=4 THROTTLE=2 \
      MERGE_AFTER=afterany "$REPO/examples/slurm/submit.sh")
array=$(echo "$ids" | awk '{print $2}'); merge=$(echo "$ids" | awk '{print $4}')
strict=$(OUT="$W/out2" sbatch --parsable --export=ALL --dependency="afterok:$array" \
         "$REPO/examples/slurm/e2e-merge.sbatch")
JOBS="$array $merge $strict"
echo "== submitted (truncated input): $ids, afterok merge $strict"
wait_jobs "$array,$merge,$strict"
st=$(job_field "${array}_3" JobState)
[ "$st" = FAILED ] || fail "the shard of the truncated events: $st"
grep -q "truncated" "e2e-shard-${array}_3.out" || fail "shard 3 output: $(cat "e2e-shard-${array}_3.out")"
reason=$(squeue -h -j "$strict" -o %r)
[ "$reason" = DependencyNeverSatisfied ] || fail "afterok merge: '$reason'"
scancel "$strict"
st=$(job_field "$merge" JobState)
[ "$st" = FAILED ] || { cat "e2e-merge-$merge.out"; fail "merge of a failed shard: $st"; }
# (the failed shard's rows and JSON are part-3.partial.csv/.json, which part-*.csv matches)
[ -e "$W/out2/part-3.csv" ] && fail "the failed shard made part-3.csv"
grep -q "part-3.partial.csv (shard 3/4, events 300\.\.[0-9]*): did not finish (status failed)" \
    "e2e-merge-$merge.out" || { cat "e2e-merge-$merge.out"; fail "the merge does not name the failed shard"; }
[ -e "$W/out2/all.csv" ] && fail "the failed merge wrote all.csv"
sed 's/^/  merge: /' "e2e-merge-$merge.out"
echo "ok: a failed shard stops the afterok merge and fails the afterany merge, naming it"
echo "slurm.ci.sh: passed in $(( $(date +%s) - t0 )) s"
