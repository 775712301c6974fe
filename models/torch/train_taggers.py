#!/usr/bin/python3
"""Train the four shipped taggers (models/trained) on toy events, end to end.

    /usr/bin/python3 models/torch/train_taggers.py --e2e build/e2e --out models/trained

1. `e2e gen`: a training file (seed 1001) and a test file (seed 1002) of toy events;
2. `e2e frames --all-events`: the frames of every seeded slot, with their truth, by the
   project's own front end (the same DetFrames, seeds and crops as `e2e run`), a chunk of
   events at a time; the model's fixed preprocessing (compactnet.Pre) is applied once;
3. one CompactNet per tagger (compactnet.py, ~16 k parameters), Adam, fixed seeds; signal
   and background per tagger as in docs/trained-models.md (frames of other truths unused);
4. ONNX export (opset 13, dynamic batch) to OUT/<tagger>.onnx;
5. `e2e run` over the test file with the exported models: its AUC (computed in C from the
   CSV's truth) is written into OUT/MANIFEST beside the AUC PyTorch gets on the same frames;
6. with --subsets: models on channel subsets (not shipped; exported to WORK/subsets), the
   table of docs/trained-models.md, written to OUT/SUBSETS.

Needs Debian's python3-torch, python3-onnx, python3-numpy. Not needed by make demo/check.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compactnet import CompactNet  # noqa: E402

TRAIN_SEED, TEST_SEED, TORCH_SEED = 1001, 1002, 2026
PHOTON, ELECTRON, QUARK, GLUON, TOP, TAU = 0, 1, 2, 3, 4, 5
SCALE = {"ecal": 1.0, "hbhe": 1.0, "pt": 1.0, "d0": 100.0, "dz": 100.0,
         "bpix1": 1.0, "bpix2": 1.0, "bpix3": 1.0, "bpix4": 1.0}
JET8 = ["pt", "d0", "dz", "ecal", "hbhe", "bpix1", "bpix2", "bpix3"]
# tagger: frames dumped by (tagger), channels, pool, signal truths, background truths, epochs
TAGGERS = {
    "eg": dict(dump="eg", channels=["ecal"], pool=1, sig=[PHOTON], bkg=[ELECTRON], epochs=15),
    "qg": dict(dump="qg", channels=["pt", "d0", "dz", "ecal", "hbhe"], pool=4, sig=[QUARK],
               bkg=[GLUON], epochs=8),
    # top and tau taggers run on the same AK8 frames (same objects, same channels)
    "top": dict(dump="top", channels=JET8, pool=4, sig=[TOP], bkg=[QUARK, GLUON], epochs=10),
    "tau": dict(dump="top", channels=JET8, pool=4, sig=[TAU], bkg=[QUARK, GLUON], epochs=10),
}
# channel subsets of the table in docs/trained-models.md (models retrained per subset)
SUBSETS = {
    "qg": [["pt", "ecal", "hbhe"], ["ecal", "hbhe"], ["pt", "d0", "dz"]],
    "top": [["pt", "d0", "dz", "ecal", "hbhe"], ["pt", "ecal", "hbhe"], ["ecal", "hbhe"],
            ["ecal"]],
    "tau": [["pt", "d0", "dz", "ecal", "hbhe"], ["pt", "ecal", "hbhe"], ["ecal", "hbhe"],
            ["ecal"]],
}
NAMES = {PHOTON: "photon", ELECTRON: "electron", QUARK: "quark", GLUON: "gluon", TOP: "top",
         TAU: "tau"}


def auc(scores, labels):
    """Exact ROC AUC, ties counted half (Mann-Whitney U with mid-ranks)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    order = np.argsort(s, kind="mergesort")
    ss = s[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and ss[j + 1] == ss[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    npos, nneg = y.sum(), (~y).sum()
    return (ranks[y].sum() - npos * (npos + 1) / 2.0) / (npos * nneg)


def run(cmd, **kw):
    r = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, **kw)
    return r.stdout


def load_frames(e2e, events, n_events, work, chunk, names, qg_frac):
    """Preprocessed frames and truths per dumped tagger, chunk by chunk (the quark/gluon
    frames from the first qg_frac of the events only: there are ~3 per event)."""
    dumps = sorted({TAGGERS[n]["dump"] for n in names})
    pre = {}
    for d in dumps:
        cfg = next(c for c in TAGGERS.values() if c["dump"] == d)
        pre[d] = CompactNet([SCALE[c] for c in cfg["channels"]], cfg["pool"]).pre
    wanted = {d: sum((TAGGERS[n]["sig"] + TAGGERS[n]["bkg"] for n in names
                      if TAGGERS[n]["dump"] == d), []) for d in dumps}
    x = {d: [] for d in dumps}
    y = {d: [] for d in dumps}
    tmp = os.path.join(work, "chunk")
    limit = {d: int(n_events * qg_frac) if d == "qg" else n_events for d in dumps}
    for first in range(0, n_events, chunk):
        active = [d for d in dumps if first < limit[d]]
        cmd = [e2e, "--quiet", "frames", "--all-events", "--events", events, "-o", tmp,
               "--skip-events", str(first), "--max-events", str(min(chunk, n_events - first))]
        for d in active:
            cmd += ["--tagger", d]
        run(cmd)
        for d in active:
            f = np.load(os.path.join(tmp, f"{d}_frames.npy"), mmap_mode="r")
            t = np.load(os.path.join(tmp, f"{d}_truth.npy"))
            keep = np.nonzero(np.isin(t, wanted[d]))[0]  # frames no tagger of this dump uses
            with torch.no_grad():
                for i in range(0, len(keep), 256):
                    x[d].append(pre[d](torch.from_numpy(f[keep[i:i + 256]])))
            y[d].append(t[keep])
        shutil.rmtree(tmp)
    return {d: (torch.cat(x[d]), np.concatenate(y[d])) for d in dumps}


def select(data, cfg, channels):
    x, t = data[cfg["dump"]]
    keep = np.isin(t, cfg["sig"] + cfg["bkg"])
    idx = [cfg["channels"].index(c) for c in channels]
    lab = np.isin(t[keep], cfg["sig"]).astype(np.float32)
    return x[torch.from_numpy(np.nonzero(keep)[0])][:, idx].contiguous(), torch.from_numpy(lab)


def train(cfg, channels, xtr, ytr, log):
    torch.manual_seed(TORCH_SEED)
    model = CompactNet([SCALE[c] for c in channels], cfg["pool"])
    opt = torch.optim.Adam(model.body.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg["epochs"])
    gen = torch.Generator().manual_seed(TORCH_SEED)
    lossf = torch.nn.BCELoss()
    for ep in range(cfg["epochs"]):
        model.body.train()
        perm = torch.randperm(len(xtr), generator=gen)
        tot = 0.0
        for i in range(0, len(xtr), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            loss = lossf(model.body(xtr[b])[:, 0], ytr[b])
            loss.backward()
            opt.step()
            tot += loss.item() * len(b)
        sched.step()
        log(f"    epoch {ep + 1:2d}/{cfg['epochs']}: loss {tot / len(xtr):.4f}")
    model.eval()
    return model


def predict(model, x):
    with torch.no_grad():
        return torch.cat([model.body(x[i:i + 512])[:, 0] for i in range(0, len(x), 512)]).numpy()


def export(model, path, channels, hw):
    x = torch.zeros(2, len(channels), hw, hw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, path, opset_version=13, input_names=["modelInput"],
                          output_names=["modelOutput"], do_constant_folding=True,
                          dynamic_axes={"modelInput": {0: "batch"}, "modelOutput": {0: "batch"}})


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--e2e", default="build/e2e")
    ap.add_argument("--out", default="models/trained")
    ap.add_argument("--work", default="build/train")
    ap.add_argument("--train-events", type=int, default=2000)
    ap.add_argument("--test-events", type=int, default=800)
    ap.add_argument("--chunk", type=int, default=200, help="events per frames dump")
    ap.add_argument("--qg-fraction", type=float, default=0.4,
                    help="quark/gluon training frames from this fraction of the events")
    ap.add_argument("--taggers", default="eg,qg,top,tau")
    ap.add_argument("--subsets", action="store_true", help="also the channel-subset table")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: fastest on a shared 2-core machine)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t_start = time.time()
    os.makedirs(a.work, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)

    def log(msg):
        print(f"[{time.time() - t_start:7.1f} s] {msg}", flush=True)

    files = {}
    for split, seed, n in (("train", TRAIN_SEED, a.train_events), ("test", TEST_SEED, a.test_events)):
        files[split] = os.path.join(a.work, f"{split}.e2e")
        run([a.e2e, "--quiet", "gen", "--events", str(n), "--seed", str(seed), "-o", files[split]])
    log(f"events: {a.train_events} (seed {TRAIN_SEED}) for training, {a.test_events} "
        f"(seed {TEST_SEED}) for the test")
    names = a.taggers.split(",")
    # the test keeps every quark/gluon frame, so that e2e run on the test file sees the same
    # objects as PyTorch
    data = {s: load_frames(a.e2e, files[s], n, a.work, a.chunk, names, f)
            for s, n, f in (("train", a.train_events, a.qg_fraction),
                            ("test", a.test_events, 1.0))}
    log("frames: " + ", ".join(f"{d} {len(v[1])} train / {len(data['test'][d][1])} test"
                               for d, v in data["train"].items()))

    record = {}
    for name in names:
        cfg = TAGGERS[name]
        xtr, ytr = select(data["train"], cfg, cfg["channels"])
        xte, yte = select(data["test"], cfg, cfg["channels"])
        log(f"{name}: {len(ytr)} training frames ({int(ytr.sum())} signal), {len(yte)} test")
        model = train(cfg, cfg["channels"], xtr, ytr, log)
        a_torch = auc(predict(model, xte), yte.numpy())
        path = os.path.join(a.out, f"{name}.onnx")
        hw = 32 if name == "eg" else 128
        export(model, path, cfg["channels"], hw)
        nparam = sum(p.numel() for p in model.parameters())
        log(f"{name}: test AUC {a_torch:.4f} (PyTorch), {nparam} parameters -> {path}")
        record[name] = dict(train_frames=len(ytr), train_signal=int(ytr.sum()),
                            test_frames=len(yte), test_signal=int(yte.sum()),
                            auc_torch=a_torch, params=nparam, epochs=cfg["epochs"])

    # the end-to-end check: e2e run over the test file with the exported models
    js = os.path.join(a.work, "test_run.json")
    cmd = [a.e2e, "--quiet", "run", "--events", files["test"], "--taggers", ",".join(names),
           "-o", os.path.join(a.work, "test_predictions.csv"), "--timing-json", js]
    for name in names:
        cmd += ["--model", f"{name}={os.path.join(a.out, name + '.onnx')}"]
    run(cmd)
    with open(js) as f:
        for t in json.load(f)["taggers"]:
            if t["name"] in record and "auc" in t:
                record[t["name"]]["auc_e2e"] = t["auc"]
    log("e2e run on the test file: " + ", ".join(
        f"{n} {record[n].get('auc_e2e', float('nan')):.4f}" for n in names))

    minutes = (time.time() - t_start) / 60
    cmdline = "/usr/bin/python3 models/torch/train_taggers.py " + " ".join(sys.argv[1:])
    with open(os.path.join(a.out, "MANIFEST"), "w") as f:
        f.write("# The trained taggers of e2e run (docs/trained-models.md). Made by:\n"
                f"#   {cmdline}\n"
                f"# in {minutes:.1f} min on {os.cpu_count()} cores, torch {torch.__version__}, "
                f"torch seed {TORCH_SEED}\n"
                f"# training events: e2e gen --events {a.train_events} --seed {TRAIN_SEED} "
                "(pileup 40, noise 1)\n"
                f"# test events:     e2e gen --events {a.test_events} --seed {TEST_SEED}\n"
                "# auc_torch: PyTorch on the test frames; auc_e2e: e2e run on the test file.\n"
                "# file sha256 params epochs signal background train_frames(signal) "
                "test_frames(signal) auc_torch auc_e2e\n")
        for name in names:
            cfg, r = TAGGERS[name], record[name]
            f.write(f"{name}.onnx {sha256(os.path.join(a.out, name + '.onnx'))} {r['params']} "
                    f"{r['epochs']} {'+'.join(NAMES[t] for t in cfg['sig'])} "
                    f"{'+'.join(NAMES[t] for t in cfg['bkg'])} "
                    f"{r['train_frames']}({r['train_signal']}) {r['test_frames']}({r['test_signal']}) "
                    f"{r['auc_torch']:.4f} {r.get('auc_e2e', float('nan')):.4f}\n")
    subsets = []
    if a.subsets:
        sub_dir = os.path.join(a.work, "subsets")
        os.makedirs(sub_dir, exist_ok=True)
        for name in names:
            cfg = TAGGERS[name]
            for chans in SUBSETS.get(name, []):
                xtr, ytr = select(data["train"], cfg, chans)
                xte, yte = select(data["test"], cfg, chans)
                model = train(cfg, chans, xtr, ytr, lambda m: None)
                a_sub = auc(predict(model, xte), yte.numpy())
                export(model, os.path.join(sub_dir, f"{name}_{'_'.join(chans)}.onnx"), chans, 128)
                log(f"{name} on {','.join(chans)}: test AUC {a_sub:.4f}")
                subsets.append((name, chans, a_sub))

    if subsets:
        with open(os.path.join(a.out, "SUBSETS"), "w") as f:
            f.write("# tagger channels test_auc (PyTorch, test file; models retrained per subset)\n")
            for name in names:
                f.write(f"{name} {','.join(TAGGERS[name]['channels'])} {record[name]['auc_torch']:.4f}\n")
            for name, chans, v in subsets:
                f.write(f"{name} {','.join(chans)} {v:.4f}\n")
    log(f"done: models and MANIFEST in {minutes:.1f} min, all in "
        f"{(time.time() - t_start) / 60:.1f} min")


if __name__ == "__main__":
    main()
