#!/bin/bash
# CI (issue 21): the container image's contents without a container engine or registry.
# Given a minimal Debian 12 root in which the project's source tree is (ROOTDIR/SRC, e.g.
# the root the bare-machine CI builds with mmdebstrap), it does what the Dockerfile does:
#   build stage:   in ROOTDIR (chroot): make deps, make into a separate build
#                  folder (build-image: a build/ there is left alone), then
#                  deploy/stage.sh (make install + e2e models) into a staging folder;
#   runtime stage: a fresh minimal root (mmdebstrap --variant=minbase) with only the
#                  packages of deploy/runtime-packages.txt, /opt/e2e copied from the
#                  staging folder, ldconfig;
# then, inside the runtime root (chroot): every library resolved, no compiler, e2e gen,
# e2e run with the image's models, a 2-shard run + e2e merge equal to the single run, and
# e2e check on one of the repository's model fixtures.
# Usage: tests/container.ci.sh ROOTDIR [SRC]   (SRC: the source tree's path inside ROOTDIR;
#        default: the folder above a build/e2e found under ROOTDIR, or this tree when
#        ROOTDIR is /). Needs root, mmdebstrap and a Debian mirror. KEEP=1 keeps the runtime
#        root (its path is printed). Exit 0 pass, 77 skip, else fail.
set -euo pipefail
ROOTDIR=${1:?usage: tests/container.ci.sh ROOTDIR [SRC]}
ROOTDIR=$(cd "$ROOTDIR" && pwd)
HERE=$(cd "$(dirname "$0")/.." && pwd)
SUITE=${SUITE:-bookworm}
[ "$(id -u)" = 0 ] || { echo "skipped: needs root (chroot, mmdebstrap)"; exit 77; }
command -v mmdebstrap > /dev/null || { echo "skipped: mmdebstrap is not installed (apt-get install mmdebstrap)"; exit 77; }
if [ $# -ge 2 ]; then
    SRC=$2
elif [ "$ROOTDIR" = / ]; then
    SRC=$HERE
else
    found=$(find "$ROOTDIR" -xdev -maxdepth 5 -path '*/build/e2e' -type f 2>/dev/null | head -1)
    [ -n "$found" ] || { echo "FAIL: no build/e2e under $ROOTDIR; give SRC"; exit 1; }
    SRC=${found#"$ROOTDIR"}; SRC=${SRC%/build/e2e}
fi
[ -f "$ROOTDIR$SRC/Makefile" ] || { echo "FAIL: $ROOTDIR$SRC is not the source tree"; exit 1; }
in_root() { if [ "$ROOTDIR" = / ]; then sh -c "$1"; else chroot "$ROOTDIR" sh -c "$1"; fi; }

STAGE_IN=/tmp/e2e-stage.$$
RT=$(mktemp -d /tmp/e2e-runtime.XXXXXX)
MOUNTED=""
cleanup() {
    rc=$?
    set +e
    for m in $MOUNTED; do umount "$m"; done
    rm -rf "${ROOTDIR%/}$STAGE_IN"
    if [ "${KEEP:-0}" = 1 ]; then echo "runtime root kept: $RT"; else rm -rf "$RT"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mount_proc() { # ROOT: /proc inside, unless it is there already
    mountpoint -q "$1/proc" && return 0
    mkdir -p "$1/proc" && mount -t proc proc "$1/proc" && MOUNTED="$1/proc $MOUNTED"
}
fail() { echo "FAIL: $*"; exit 1; }

echo "== build stage in $ROOTDIR (source $SRC)"
[ "$ROOTDIR" = / ] || mount_proc "$ROOTDIR"
t0=$(date +%s)
in_root "cd '$SRC' && make deps > /dev/null && make -j\$(nproc) BUILD=build-image all > /dev/null \
         && BUILD=build-image sh deploy/stage.sh '$STAGE_IN' > /dev/null"
echo "   built and staged in $(( $(date +%s) - t0 )) s: $(cd "${ROOTDIR%/}$STAGE_IN/opt/e2e" && find . -type f | sort | tr '\n' ' ')"

echo "== runtime stage: a fresh $SUITE minbase root with $(sed 's/#.*//' "$HERE/deploy/runtime-packages.txt" | xargs)"
t0=$(date +%s)
pkgs=$(sed 's/#.*//' "$HERE/deploy/runtime-packages.txt" | xargs | tr ' ' ',')
mmdebstrap --quiet --variant=minbase --include="$pkgs" "$SUITE" "$RT" > /dev/null
cp -a "${ROOTDIR%/}$STAGE_IN/opt/e2e" "$RT/opt/e2e"
echo /opt/e2e/lib > "$RT/etc/ld.so.conf.d/e2e.conf"
chroot "$RT" ldconfig
echo "   done in $(( $(date +%s) - t0 )) s; $(du -sxh "$RT" | cut -f1) in all, /opt/e2e $(du -sh "$RT/opt/e2e" | cut -f1)"
mount_proc "$RT"

# the case for e2e check: a model fixture of the repository (not part of the image)
fixture=$HERE/tests/fixtures/models/simplenet_op17_static
[ -d "$fixture" ] || fixture=$(ls -d "$HERE"/tests/fixtures/models/*/ | head -1)
mkdir -p "$RT/work" && cp -r "$fixture" "$RT/work/case"

echo "== inside the runtime root"
chroot "$RT" env -i PATH=/opt/e2e/bin:/usr/bin:/bin HOME=/work sh -euc '
cd /work
M=/opt/e2e/share/e2e/models
fail() { echo "FAIL (in the image): $*"; exit 1; }
e2e --version
if ldd /opt/e2e/bin/e2e | grep "not found"; then fail "unresolved libraries"; fi
if ldd /opt/e2e/lib/libe2e.so | grep "not found"; then fail "libe2e.so: unresolved libraries"; fi
for f in /opt/e2e/include/e2e.h /opt/e2e/lib/libe2e.a /opt/e2e/lib/pkgconfig/e2e.pc; do
    [ -s "$f" ] || fail "$f missing"; done
for t in eg qg top tau; do for a in simplenet vit; do
    [ -s $M/${t}_$a.onnx ] || fail "model ${t}_$a missing"; done; done
for c in cc gcc make; do command -v $c > /dev/null && fail "$c is in the runtime image"; done
e2e --quiet gen --events 24 --seed 3 -o ev.e2e
e2e run --events ev.e2e --arch simplenet --model-dir $M -o all.csv --timing-json all.json --no-progress > run.out \
    || { cat run.out; fail "e2e run"; }
grep -q "predictions: 24 events" run.out || fail "e2e run: $(cat run.out)"
for i in 0 1; do
    e2e --quiet run --events ev.e2e --arch simplenet --model-dir $M --shard $i/2 -o p$i.csv --timing-json p$i.json \
        --no-progress || fail "shard $i/2"
done
e2e --quiet merge -o merged.csv p0.csv p1.csv || fail "e2e merge"
cmp merged.csv all.csv || fail "merged shards differ from the single run"
echo "e2e run: $(($(wc -l < all.csv) - 1)) rows for 24 events; 2 shards merged: identical"
e2e check case || fail "e2e check"
'
echo "container.ci.sh: passed"
