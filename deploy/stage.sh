#!/bin/sh
# The end of the image's build stage, shared by the Dockerfile, deploy/e2e.def and
# tests/container.ci.sh: from a built tree (make: one binary for any x86-64), stages what the runtime stage
# copies, and nothing else, under DESTDIR/opt/e2e:
#   bin/e2e, lib/libe2e.so* + libe2e.a, include/e2e.h + e2e_frames.h, lib/pkgconfig/e2e.pc,
#   share/e2e/models/ (every model `e2e models` writes),
#   share/e2e/runtime-packages.txt (what the runtime stage installs).
# Usage (in the source tree): sh deploy/stage.sh DESTDIR   (BUILD=dir: another build folder)
set -eu
DESTDIR=${1:?usage: deploy/stage.sh DESTDIR}
BUILD=${BUILD:-build}
make BUILD="$BUILD" install PREFIX=/opt/e2e DESTDIR="$DESTDIR"
mkdir -p "$DESTDIR/opt/e2e/share/e2e"
"$BUILD/e2e" --quiet models --out "$DESTDIR/opt/e2e/share/e2e/models"
install -m 644 deploy/runtime-packages.txt "$DESTDIR/opt/e2e/share/e2e/runtime-packages.txt"
