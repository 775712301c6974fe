#!/bin/sh
# e2e display: an event drawn as a PNG (signature, IHDR size), the legend on stdout, and a
# bad event index (exit 1 with a clear message). Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
[ -x "$E2E" ] || { echo "skipped: no $E2E"; exit 77; }
"$E2E" help display > /dev/null 2>&1 || { echo "skipped: this e2e has no display command"; exit 77; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$E2E" --quiet gen --events 4 --seed 11 -o "$dir/ev.e2e" || fail "gen"
"$E2E" display --events "$dir/ev.e2e" --event 2 -o "$dir/ev.png" > "$dir/out" 2>&1 \
    || { cat "$dir/out"; fail "display"; }
grep -q '^  ecal .*#dc1e1e' "$dir/out" || fail "legend lacks the ecal colour: $(cat "$dir/out")"
grep -q '^  qg ' "$dir/out" || fail "legend lacks the qg tagger"
# PNG signature, IHDR chunk, width = 360 * 2 + 16
sig=$(od -An -tx1 -N8 "$dir/ev.png" | tr -d ' \n')
[ "$sig" = "89504e470d0a1a0a" ] || fail "not a PNG (signature $sig)"
ihdr=$(od -An -c -j12 -N4 "$dir/ev.png" | tr -d ' \n')
[ "$ihdr" = "IHDR" ] || fail "no IHDR chunk"
w=$(od -An -tu1 -j16 -N4 "$dir/ev.png" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
h=$(od -An -tu1 -j20 -N4 "$dir/ev.png" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
[ "$w" -eq 736 ] || fail "width $w, expected 736"
[ "$h" -ge 576 ] || fail "height $h below the grid panel"
grep -q "(736 x $h)" "$dir/out" || fail "summary line does not give the size"
# the image decodes (when Python's zlib is at hand): rows of 3 bytes per pixel + filter byte
if command -v python3 > /dev/null 2>&1; then
    python3 - "$dir/ev.png" "$w" "$h" <<'PY' || fail "PNG does not decode"
import struct, sys, zlib
d = open(sys.argv[1], 'rb').read()
w, h = int(sys.argv[2]), int(sys.argv[3])
pos, idat = 8, b''
while pos < len(d):
    n, = struct.unpack('>I', d[pos:pos + 4]); t = d[pos + 4:pos + 8]
    if t == b'IDAT': idat += d[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(idat)
assert len(raw) == h * (1 + 3 * w), (len(raw), h, w)
PY
fi
# one tagger, other channels, scale 1
"$E2E" --quiet display --events "$dir/ev.e2e" --event 0 --tagger qg --channels ecal,pt --scale 1 \
    -o "$dir/ev0.png" || fail "display --tagger qg --scale 1"
w=$(od -An -tu1 -j16 -N4 "$dir/ev0.png" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
[ "$w" -eq 376 ] || fail "scale 1 width $w, expected 376"

# bad input
"$E2E" display --events "$dir/ev.e2e" --event 4 -o "$dir/bad.png" > /dev/null 2> "$dir/err"
[ $? -eq 1 ] || fail "event 4 of 4: exit status not 1"
grep -q "no event 4 (the file has 4)" "$dir/err" || fail "bad index message: $(cat "$dir/err")"
[ -e "$dir/bad.png" ] && fail "a PNG was written for a missing event"
"$E2E" display --events "$dir/ev.e2e" --event 0 --channels ecal,nope -o "$dir/bad.png" \
    > /dev/null 2> "$dir/err"
[ $? -eq 2 ] || fail "unknown channel: exit status not 2"
grep -q "unknown channel 'nope'" "$dir/err" || fail "unknown channel message: $(cat "$dir/err")"
echo "ok"
