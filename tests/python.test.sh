#!/bin/sh
# python/e2e.py (the ctypes binding) with Debian's python3 and numpy: python/test_e2e.py
# runs a tiny hand-made model and the trained E/Gamma model against its reference outputs.
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
PY=${PYTHON:-/usr/bin/python3}
if ! [ -x "$PY" ] || ! "$PY" -c 'import numpy' >/dev/null 2>&1; then
    echo "skipped: python3 with numpy not found"; exit 77
fi
[ -f "$BUILD/libe2e.so" ] || { echo "FAIL: $BUILD/libe2e.so not built"; exit 1; }
if readelf -d "$BUILD/libe2e.so" 2>/dev/null | grep -q 'NEEDED.*lib[at]san'; then
    echo "skipped: $BUILD/libe2e.so is built with sanitizers (python cannot load it)"; exit 77
fi
PYTHONDONTWRITEBYTECODE=1 E2E_LIB=$BUILD/libe2e.so SHARED=$SHARED "$PY" python/test_e2e.py -v
