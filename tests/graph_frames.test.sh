#!/bin/sh
# Graph frames end to end (docs/graph-frames.md): `e2e frames` writes points/features/mask/
# seed/nodes .npy files of the right shapes, `e2e run --model TAGGER=FILE` with hand-made graph
# models (written by test_frames_graph --write-models: masked sums -> Gemm -> Sigmoid) runs,
# scores every seeded slot, reports GraphFrames timing and the truncated clouds, and a model
# whose inputs match no frame layout is refused naming them. Exit 0 pass, 77 skip, else fail.
E2E=${E2E:-build/e2e}
BUILD=${BUILD:-build}
WRITER=$BUILD/tests/test_frames_graph
[ -x "$E2E" ] || { echo "no $E2E"; exit 77; }
[ -x "$WRITER" ] || { echo "no $WRITER (make $WRITER)"; exit 77; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$WRITER" --write-models "$dir" || fail "writing the graph models"
"$E2E" --quiet gen --events 12 --seed 11 -o "$dir/ev.e2e" || fail "gen"

# .npy shapes: the header holds "'shape': (N, C, P)"
shape() { head -c 256 "$1" | tr -d '\000' | sed -n "s/.*'shape': (\([^)]*\)).*/\1/p" | tr -d ' '; }

"$E2E" --quiet frames --events "$dir/ev.e2e" --event 3 -o "$dir/fr" || fail "frames"
for t in eg qg top tau; do
    for w in points features mask seed nodes; do
        [ -s "$dir/fr/${t}_$w.npy" ] || fail "frames did not write ${t}_$w.npy"
    done
    n=$(shape "$dir/fr/${t}_seeds.npy" | cut -d, -f1)
    p=$(shape "$dir/fr/${t}_points.npy" | cut -d, -f3)
    c=$(shape "$dir/fr/${t}_frames.npy" | cut -d, -f2)
    [ -n "$n" ] && [ -n "$p" ] || fail "$t: no shapes read"
    [ "$(shape "$dir/fr/${t}_points.npy")" = "$n,2,$p" ] || fail "$t points $(shape "$dir/fr/${t}_points.npy")"
    [ "$(shape "$dir/fr/${t}_features.npy")" = "$n,$c,$p" ] || fail "$t features $(shape "$dir/fr/${t}_features.npy")"
    [ "$(shape "$dir/fr/${t}_mask.npy")" = "$n,1,$p" ] || fail "$t mask $(shape "$dir/fr/${t}_mask.npy")"
    [ "$(shape "$dir/fr/${t}_seed.npy")" = "$n,3" ] || fail "$t seed $(shape "$dir/fr/${t}_seed.npy")"
    [ "$(shape "$dir/fr/${t}_nodes.npy")" = "$n," ] || fail "$t nodes $(shape "$dir/fr/${t}_nodes.npy")"
done
[ "$(shape "$dir/fr/qg_points.npy" | cut -d, -f3)" -le 128 ] || fail "qg P above the cap"
grep -q '"points_file": "qg_points.npy"' "$dir/fr/index.json" || fail "index.json lacks the graph files"
grep -q '"scale": \[0.01, 0.1, 0.05, 0.1, 0.1\]' "$dir/fr/index.json" || fail "index.json scale"
# a fixed P and no graphs
"$E2E" --quiet frames --events "$dir/ev.e2e" --event 3 --tagger qg --points qg=40 -o "$dir/fr2" \
    || fail "frames --points"
[ "$(shape "$dir/fr2/qg_points.npy" | cut -d, -f2-)" = "2,40" ] || fail "--points qg=40: $(shape "$dir/fr2/qg_points.npy")"
"$E2E" --quiet frames --events "$dir/ev.e2e" --event 3 --tagger qg --no-graph -o "$dir/fr3" \
    || fail "frames --no-graph"
[ -e "$dir/fr3/qg_points.npy" ] && fail "--no-graph wrote graph frames"

# the main job with graph models: dynamic N and P (qg, with seed), N = 1 (eg), fixed P (top)
"$E2E" run --events "$dir/ev.e2e" --taggers qg,eg,top --model "qg=$dir/graph_qg.onnx" \
    --model "eg=$dir/graph_eg_b1.onnx" --model "top=$dir/graph_top_p64.onnx" -o "$dir/p.csv" \
    --timing-json "$dir/t.json" --no-progress > "$dir/out" 2>&1 || { cat "$dir/out"; fail "run"; }
for s in "GraphFrames (qg)" "GraphFrames (eg)" "GraphFrames (top)" "truncated"; do
    grep -q "$s" "$dir/out" || { cat "$dir/out"; fail "run output lacks '$s'"; }
done
grep -q '"stage": "GraphFrames (qg)"' "$dir/t.json" || fail "timing JSON lacks GraphFrames"
grep -q '"graph": {"clouds"' "$dir/t.json" || fail "timing JSON lacks the graph counts"
grep -q '"max_points": 64' "$dir/t.json" || fail "top's fixed P is not its cap"
ok=$(grep -c ',qg,[0-9]*,.*,ok,' "$dir/p.csv")
[ "$ok" -ge 5 ] || fail "only $ok seeded qg slots"
# seeded slots get a sigmoid score in [0, 1] (the crafted weights saturate on big clouds, not
# on all), the others -1
awk -F, 'NR > 1 && $12 == "ok" && !($11 >= 0 && $11 <= 1) { bad = 1 }
         NR > 1 && $12 != "ok" && $11 != -1 { bad = 1 } END { exit bad }' \
    "$dir/p.csv" || fail "scores out of range"
awk -F, '$12 == "ok" && $11 > 0.001 && $11 < 0.999 { n++ } END { exit !(n > 0) }' "$dir/p.csv" \
    || fail "every score saturated"

# a graph model whose inputs match no layout is refused at load, naming them
"$E2E" run --events "$dir/ev.e2e" --taggers qg --model "qg=$dir/graph_qg_bad.onnx" \
    -o "$dir/p2.csv" --no-progress > /dev/null 2> "$dir/err" && fail "bad graph model accepted"
grep -q "feats float \[?, 5, ?\]" "$dir/err" || fail "refusal does not name the inputs: $(cat "$dir/err")"
grep -q "match no frame layout" "$dir/err" || fail "refusal message: $(cat "$dir/err")"
"$E2E" run --events "$dir/ev.e2e" --arch graphnet > /dev/null 2> "$dir/err" && fail "--arch graphnet accepted"
grep -q "gnn" "$dir/err" || fail "--arch message: $(cat "$dir/err")"
echo "ok"
