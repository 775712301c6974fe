#!/usr/bin/python3
"""Graph frames' share of each graph tagger's inference (docs/graph-frames.md section 7):
alternating runs of two e2e binaries on one event file (A B, B A, A B, ...), medians over
the rounds.

  bench/graph_share.py --a /work/main/build/e2e --b build/e2e --events FILE \
      [--arch gnn] [--rounds 6] [--model-dir /work/models]

Per round and binary: `e2e run --arch A --model-dir D --events FILE --timing-json J`; from
J the GraphFrames (T) rows and the tagger's inference (T's model row) mean and p50, the
DetFrames and total rows. Prints the medians over rounds, the shares GraphFrames /
inference and (GraphFrames) / (GraphFrames + inference), and the load average around the
runs. The predictions CSVs of the two binaries are compared byte for byte every round."""
import argparse, filecmp, json, os, statistics, subprocess, tempfile

ROWS = {"eg": "EGTagger", "qg": "QGTagger", "top": "TopTagger", "tau": "TauTagger"}


def run(binary, args, tmp, tag):
    csv, js = os.path.join(tmp, tag + ".csv"), os.path.join(tmp, tag + ".json")
    subprocess.run([binary, "run", "--arch", args.arch, "--model-dir", args.model_dir,
                    "--events", args.events, "--no-progress", "-o", csv,
                    "--timing-json", js], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    with open(js) as f:
        st = {s["stage"]: s for s in json.load(f)["stages"]}
    out = {}
    for t, row in ROWS.items():
        g = st.get("GraphFrames (%s)" % t)
        if g and row in st:
            for k in ("mean_ms", "p50_ms"):
                out[(t, "graph", k)] = g[k]
                out[(t, "infer", k)] = st[row][k]
    for k in ("mean_ms", "p50_ms"):
        out[("", "DetFrames", k)] = st["DetFrames"][k]
        out[("", "total", k)] = st["total"][k]
    return out, csv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--arch", default="gnn")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--model-dir", default="/work/models")
    ap.add_argument("--verbose", action="store_true", help="print top's p50 rows per round")
    args = ap.parse_args()
    res = {"a": [], "b": []}
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            if r % 2:  # A B, B A, A B, ...: neither binary always runs second
                rb, cb = run(args.b, args, tmp, "b")
                ra, ca = run(args.a, args, tmp, "a")
            else:
                ra, ca = run(args.a, args, tmp, "a")
                rb, cb = run(args.b, args, tmp, "b")
            if not filecmp.cmp(ca, cb, shallow=False):
                raise SystemExit("round %d: the predictions CSVs differ" % r)
            res["a"].append(ra)
            res["b"].append(rb)
            if args.verbose:
                print("round %d: " % r + "  ".join(
                    "%s %s/%s p50 A %.3f/%.3f B %.3f/%.3f" % (
                        t, "graph", "infer", ra[(t, "graph", "p50_ms")], ra[(t, "infer", "p50_ms")],
                        rb[(t, "graph", "p50_ms")], rb[(t, "infer", "p50_ms")])
                    for t in ROWS if (t, "graph", "p50_ms") in ra and t in ("top",)),
                    "load %.1f" % os.getloadavg()[0], flush=True)
            loads.append(os.getloadavg()[0])
    med = {w: {k: statistics.median(x[k] for x in res[w]) for k in res[w][0]} for w in res}
    print("%s, %d alternating rounds, %s; load average (1 min) %.1f-%.1f; CSVs identical"
          % (args.arch, args.rounds, args.events, min(loads), max(loads)))
    print("A = %s, B = %s; medians over rounds, ms per event" % (args.a, args.b))
    for t in ROWS:
        if (t, "graph", "p50_ms") not in med["a"]:
            continue
        line = "%-4s" % t
        for w in ("a", "b"):
            m = med[w]
            g, i = m[(t, "graph", "mean_ms")], m[(t, "infer", "mean_ms")]
            g5, i5 = m[(t, "graph", "p50_ms")], m[(t, "infer", "p50_ms")]
            line += ("  %s: graph %.3f (p50 %.3f) infer %.3f (%.3f) share %.1f%% (p50 %.1f%%)"
                     " of g+i %.1f%% (%.1f%%)"
                     % (w.upper(), g, g5, i, i5, 100 * g / i, 100 * g5 / i5,
                        100 * g / (g + i), 100 * g5 / (g5 + i5)))
        print(line)
    for s in ("DetFrames", "total"):
        print("%-9s A %.3f (p50 %.3f)  B %.3f (p50 %.3f)"
              % (s, med["a"][("", s, "mean_ms")], med["a"][("", s, "p50_ms")],
                 med["b"][("", s, "mean_ms")], med["b"][("", s, "p50_ms")]))


if __name__ == "__main__":
    main()
