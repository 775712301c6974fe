#!/bin/sh
# The README's two commands on a bare Debian 12 (issue 21, point 1): a minimal root made by
# mmdebstrap (--variant=minbase: no compiler, none of the project's packages), the clone and
# ../shared copied in, then `make demo` and `make check` run there in a chroot, as root, so
# that make itself installs every package the build and the tests need. Only make and gcc
# are installed beforehand: the README asks a user for them, nothing else.
#
#   sh tests/bare.ci.sh [ROOT]      (root; needs network access to Debian's mirrors)
#
# ROOT (default /tmp/e2e-bare-root) is made anew. Ends with the make check summary line of
# the run inside the root and exits with its status. Used by .ci/run.
set -eu
ROOT=${1:-/tmp/e2e-bare-root}
SHARED=${SHARED:-../shared}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" = 0 ] || { echo "skipped: bare.ci.sh needs root (mmdebstrap, chroot)"; exit 77; }
repo=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v mmdebstrap >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
fi

cleanup() {
    umount "$ROOT/proc" 2>/dev/null || true
    umount "$ROOT/dev/shm" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
cleanup
rm -rf "$ROOT"
t0=$(date +%s)
mmdebstrap --quiet --variant=minbase bookworm "$ROOT" "$MIRROR" >/dev/null
t1=$(date +%s)
echo "bare root: mmdebstrap --variant=minbase bookworm in $((t1 - t0)) s"

# the committed tree only (what a fresh clone has), and the shared reference data beside it
mkdir -p "$ROOT/work/main" "$ROOT/work/shared"
git -C "$repo" archive --format=tar HEAD | tar -x -C "$ROOT/work/main"
cp -a "$SHARED"/. "$ROOT/work/shared/"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mount -t proc proc "$ROOT/proc"
mkdir -p "$ROOT/dev/shm" && mount -t tmpfs tmpfs "$ROOT/dev/shm"

chroot "$ROOT" /bin/sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make gcc >/dev/null'
t2=$(date +%s)
echo "bare root: make and gcc installed in $((t2 - t1)) s"

rc=0
mkdir -p "$repo/build"
chroot "$ROOT" /bin/sh -c 'cd /work/main && make demo' > "$repo/build/bare-demo.log" 2>&1 || rc=$?
t3=$(date +%s)
tail -12 "$repo/build/bare-demo.log"
echo "bare root: make demo exit $rc in $((t3 - t2)) s"
[ $rc -eq 0 ] || exit $rc

chroot "$ROOT" /bin/sh -c 'cd /work/main && make -j2 check' > "$repo/build/bare-check.log" 2>&1 || rc=$?
t4=$(date +%s)
grep -E '^(FAIL|skipped)|: skipped' "$repo/build/bare-check.log" || true
echo "bare root: make check exit $rc in $((t4 - t3)) s"
tail -1 "$repo/build/bare-check.log"
[ $rc -eq 0 ] || exit $rc
# every test runs on a bare machine; only the GPU tests may skip (there is no GPU here)
other=$(grep -E '^skipped|: skipped' "$repo/build/bare-check.log" | grep -v -i -E 'cuda|gpu' || true)
if [ -n "$other" ]; then
    echo "bare root: FAIL: tests skipped on the bare machine for other reasons than the GPU:"
    printf '%s\n' "$other"
    exit 1
fi
