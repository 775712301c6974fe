#!/bin/sh
# e2e display: an event drawn as a PNG with cairo (signature, IHDR size, decoded: the grid
# panel is coloured, title, axis labels, legend and captions hold text), the legend on stdout
# with the eg model's score, bad input (exit 1 or 2 with a clear message).
# Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
SHARED=${SHARED:-../shared}
MODEL=$SHARED/models/eg_simplenet_trained/model.onnx
[ -x "$E2E" ] || { echo "skipped: no $E2E"; exit 77; }
[ -f "$MODEL" ] || { echo "skipped: no $MODEL"; exit 77; }
"$E2E" help display > /dev/null 2>&1 || { echo "skipped: this e2e has no display command"; exit 77; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$E2E" --quiet gen --events 4 --seed 11 -o "$dir/ev.e2e" || fail "gen"
"$E2E" display --events "$dir/ev.e2e" --event 2 -o "$dir/ev.png" --model "eg=$MODEL" > "$dir/out" 2>&1 \
    || { cat "$dir/out"; fail "display"; }
grep -q '^  ecal .*#dc1e1e' "$dir/out" || fail "legend lacks the ecal colour: $(cat "$dir/out")"
grep -q '^  qg ' "$dir/out" || fail "legend lacks the qg tagger"
# PNG signature, IHDR chunk, width = 64 (eta axis) + 360 * 2 + 24
sig=$(od -An -tx1 -N8 "$dir/ev.png" | tr -d ' \n')
[ "$sig" = "89504e470d0a1a0a" ] || fail "not a PNG (signature $sig)"
ihdr=$(od -An -c -j12 -N4 "$dir/ev.png" | tr -d ' \n')
[ "$ihdr" = "IHDR" ] || fail "no IHDR chunk"
w=$(od -An -tu1 -j16 -N4 "$dir/ev.png" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
h=$(od -An -tu1 -j20 -N4 "$dir/ev.png" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
[ "$w" -eq 808 ] || fail "width $w, expected 808"
[ "$h" -ge 700 ] || fail "height $h below the grid panel and legend"
grep -q "(808 x $h)" "$dir/out" || fail "summary line does not give the size"
grep -q "^  eg .*model .*eg_simplenet_trained/model.onnx" "$dir/out" || fail "legend lacks eg's model"
grep -q "^       slot 0: .*, score [0-9.e+-]*$" "$dir/out" || fail "legend lacks eg's score: $(cat "$dir/out")"
# qg without --model: the shipped trained model when there is one
if [ -f models/trained/qg.onnx ]; then
    grep -q "^  qg .*model models/trained/qg.onnx" "$dir/out" || fail "legend: qg's trained model"
fi
"$E2E" display --events "$dir/ev.e2e" --event 2 -o "$dir/ns.png" --no-scores > "$dir/out2" 2>&1 \
    || fail "display --no-scores"
grep -q "^  qg .*no model" "$dir/out2" || fail "--no-scores: qg has a model"
grep -q "score" "$dir/out2" && fail "--no-scores printed a score"
# not blank (when Python is at hand; zlib is in its standard library): the image decodes, the
# grid panel holds several colours, and the title, the axis labels and the strip captions
# hold dark (text) pixels
if command -v python3 > /dev/null 2>&1; then
    python3 - "$dir/ev.png" "$w" "$h" <<'PY' || fail "PNG blank or undecodable"
import struct, sys, zlib
d = open(sys.argv[1], 'rb').read()
w, h = int(sys.argv[2]), int(sys.argv[3])
pos, idat = 8, b''
while pos < len(d):
    n, = struct.unpack('>I', d[pos:pos + 4]); t = d[pos + 4:pos + 8]
    if t == b'IHDR': assert d[pos + 16:pos + 18] == bytes([8, 2]), 'not 8-bit RGB'
    if t == b'IDAT': idat += d[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(idat)
assert len(raw) == h * (1 + 3 * w), (len(raw), h, w)
rows, prev, bpp = [], bytearray(3 * w), 3
for y in range(h):
    f, line = raw[y * (3 * w + 1)], bytearray(raw[y * (3 * w + 1) + 1:(y + 1) * (3 * w + 1)])
    for i in range(3 * w):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line); prev = line
px = lambda x, y: tuple(rows[y][3 * x:3 * x + 3])
def region(x0, y0, x1, y1):
    return [px(x, y) for y in range(y0, y1) for x in range(x0, x1)]
grid = region(64, 44, 64 + 720, 44 + 560)
nonwhite = sum(p != (255, 255, 255) for p in grid)
assert nonwhite > 0.01 * len(grid), 'grid panel nearly white: %d of %d' % (nonwhite, len(grid))
assert len(set(grid)) > 50, 'grid panel has %d colours' % len(set(grid))
dark = lambda ps: sum(max(p) < 110 for p in ps)
assert dark(region(64, 0, 400, 40)) > 100, 'no title text'
assert dark(region(0, 44, 60, 604)) > 100, 'no eta tick labels'
assert dark(region(64, 606, 784, 650)) > 100, 'no phi tick labels'
assert dark(region(0, 650, w, h)) > 500, 'no legend or captions'
print('PNG: %d x %d, grid panel %d non-white pixels, %d colours' % (w, h, nonwhite, len(set(grid))))
PY
fi
# one tagger, other channels, scale 1
"$E2E" --quiet display --events "$dir/ev.e2e" --event 0 --tagger qg --channels ecal,pt --scale 1 \
    -o "$dir/ev0.png" || fail "display --tagger qg --scale 1"
w=$(od -An -tu1 -j16 -N4 "$dir/ev0.png" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
[ "$w" -eq 448 ] || fail "scale 1 width $w, expected 448"

# bad input
"$E2E" display --events "$dir/ev.e2e" --event 4 -o "$dir/bad.png" > /dev/null 2> "$dir/err"
[ $? -eq 1 ] || fail "event 4 of 4: exit status not 1"
grep -q "no event 4 (the file has 4)" "$dir/err" || fail "bad index message: $(cat "$dir/err")"
[ -e "$dir/bad.png" ] && fail "a PNG was written for a missing event"
"$E2E" display --events "$dir/ev.e2e" --event 0 --channels ecal,nope -o "$dir/bad.png" \
    > /dev/null 2> "$dir/err"
[ $? -eq 2 ] || fail "unknown channel: exit status not 2"
grep -q "unknown channel 'nope'" "$dir/err" || fail "unknown channel message: $(cat "$dir/err")"
"$E2E" display --events "$dir/ev.e2e" --event 0 --tagger qg --model "eg=$MODEL" -o "$dir/bad.png" \
    > /dev/null 2> "$dir/err"
[ $? -eq 2 ] || fail "--model for a tagger not drawn: exit status not 2"
grep -q "eg is not one of the taggers drawn" "$dir/err" || fail "--model eg message: $(cat "$dir/err")"
echo "ok"
