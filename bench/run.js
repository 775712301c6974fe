#!/usr/bin/env node
// bench/run.js — e2e and ONNX Runtime side by side on the 20 tagger models (what
// `make bench` runs through bench/run.sh).
//
//   node bench/run.js [--e2e build/e2e] [--models build/models] [--model FILE ...]
//        [--rounds K] [--budget-ms MS] [--configs 1x1,1x2,32x1,32x2] [--no-ort]
//        [--no-docs] [--work DIR] [--results bench/results] [--docs docs/benchmarks.md]
//   node bench/run.js --render bench/results/DATE-SIMD.json   (only regenerate the docs from it)
//   node bench/run.js --render NEW.json --earlier OLD.json    (NEW plus the models only OLD has;
//        writes the merged results file too)
//
// For every model and every (batch x threads) configuration it runs `e2e bench --json` and
// `node bench/ort_bench.js --json` ALTERNATELY, K rounds each (e2e, ort, e2e, ort, ...),
// with the same warm-up and run counts (chosen so one invocation lasts about MS), and keeps
// the median of the per-round medians (and of the p99s). It then feeds one seeded input
// batch through `e2e infer` and ORT and reports the largest output difference, profiles
// per architecture the model furthest from its target (`e2e bench --profile`), times `e2e run`
// pipeline when that command exists, writes bench/results/<date>-<simd>.json and regenerates
// docs/benchmarks.md and docs/benchmarks.svg.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const MODELS = ['eg_simplenet', 'qg_simplenet', 'top_simplenet', 'tau_simplenet',
                'eg_vit', 'qg_vit', 'top_vit', 'tau_vit',
                // graph models (inputs points/features/mask[/seed], filled with random numbers)
                'eg_pnet', 'qg_pnet', 'top_pnet', 'tau_pnet',
                'eg_dgcnn', 'qg_dgcnn', 'top_dgcnn', 'tau_dgcnn',
                'eg_part', 'qg_part', 'top_part', 'tau_part',
                // int8 (issue 20): QDQ versions of the SimpleNet taggers, written from the float
                // ones by models/torch/quantize_taggers.py (onnx + numpy; calibrated with e2e infer)
                'eg_simplenet_int8', 'qg_simplenet_int8', 'top_simplenet_int8', 'tau_simplenet_int8'];
// Targets of issue 5: batch 1 latency <= 0.8x ORT; batch 32 throughput >= 1.2x ORT.
const LAT_TARGET = 0.8, THR_TARGET = 1.2;


// The widest vector extension the CPU reports (e2e's kernels differ: AVX-512 vs AVX2).
function simdLevel() {
  try {
    const flags = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m) || ['', ''])[1].split(/\s+/);
    if (flags.includes('avx512f')) return 'AVX-512';
    if (flags.includes('avx2') && flags.includes('fma')) return 'AVX2 + FMA (no AVX-512)';
    return flags.includes('sse4_2') ? 'SSE4.2' : 'unknown';
  } catch (e) {
    return 'unknown';
  }
}

// Name of a run's results file: the date and the SIMD level, so that runs of one day on an
// AVX-512 and on an AVX2 machine (the kernels differ) do not overwrite each other.
function resultName(res) {
  const s = (res.host && res.host.simd) || '';
  const tag = s.startsWith('AVX-512') ? 'avx512' : s.startsWith('AVX2') ? 'avx2' : s.startsWith('SSE') ? 'sse' : 'other';
  return `${res.date}-${tag}.json`;
}

function parseArgs(argv) {
  const o = { e2e: 'build/e2e', models: 'build/models', files: [], rounds: 4, budget: 1000,
              configs: '1x1,1x2,32x1,32x2', ort: true, docs: true, work: null,
              results: 'bench/results', doc: 'docs/benchmarks.md', accBatch: 8 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    const take = () => { i++; if (v === undefined) { console.error(`bench: ${a} needs a value`); process.exit(2); } return v; };
    if (a === '-h' || a === '--help') {
      console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 19).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else if (a === '--e2e') o.e2e = take();
    else if (a === '--models') o.models = take();
    else if (a === '--model') o.files.push(take());
    else if (a === '--rounds') o.rounds = Math.max(1, parseInt(take(), 10));
    else if (a === '--budget-ms') o.budget = Math.max(10, Number(take()));
    else if (a === '--configs') o.configs = take();
    else if (a === '--no-ort') o.ort = false;
    else if (a === '--no-docs') o.docs = false;
    else if (a === '--work') o.work = take();
    else if (a === '--results') o.results = take();
    else if (a === '--docs') o.doc = take();
    else if (a === '--render') o.render = take();
    else if (a === '--earlier') o.earlier = take();
    else { console.error(`bench: unknown argument ${a}`); process.exit(2); }
  }
  o.configs = o.configs.split(',').map((c) => {
    const m = /^(\d+)x(\d+)$/.exec(c.trim());
    if (!m) { console.error(`bench: bad config ${c} (want BATCHxTHREADS)`); process.exit(2); }
    return { batch: +m[1], threads: +m[2] };
  });
  if (!o.work) o.work = path.join(path.dirname(o.e2e), 'bench');
  return o;
}

const log = (s) => process.stdout.write(s + '\n');
const median = (a) => {
  const v = a.filter((x) => typeof x === 'number' && isFinite(x)).sort((x, y) => x - y);
  if (!v.length) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : 0.5 * (v[v.length / 2 - 1] + v[v.length / 2]);
};
const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  return { ok: r.status === 0, status: r.status, out: r.stdout || '', err: (r.stderr || '') + (r.error ? String(r.error) : '') };
}

function lastJson(text) {
  const lines = text.trim().split('\n');
  // e2e bench --json may span lines when --profile is on: take from the first '{'
  const start = text.indexOf('{');
  try { return JSON.parse(text.slice(start)); } catch (e) { /* try the last line */ }
  try { return JSON.parse(lines[lines.length - 1]); } catch (e) { return null; }
}

function e2eBench(o, model, c, runs, warmup, extra = []) {
  const args = ['bench', model, '--json', '--batch', String(c.batch), '--threads', String(c.threads)];
  if (runs) args.push('--runs', String(runs));
  if (warmup !== undefined) args.push('--warmup', String(warmup));
  const r = run(o.e2e, args.concat(extra));
  const j = r.ok ? lastJson(r.out) : null;
  return j || { error: (r.err || r.out).trim().split('\n').slice(-1)[0] || `exit ${r.status}` };
}

function ortBench(o, model, c, runs, warmup, flops) {
  const args = [path.join(__dirname, 'ort_bench.js'), model, '--json', '--batch', String(c.batch),
                '--threads', String(c.threads), '--runs', String(runs), '--warmup', String(warmup)];
  if (flops) args.push('--flops', String(flops));
  const r = run(process.execPath, args);
  const j = r.ok ? lastJson(r.out) : null;
  return j || { error: (r.err || r.out).trim().split('\n').slice(-1)[0] || `exit ${r.status}` };
}

function aggregate(list) {
  const ok = list.filter((x) => !x.error);
  if (!ok.length) return { error: (list[0] && list[0].error) || 'no result' };
  const m = (k) => median(ok.map((x) => x[k]));
  const med = m('median_ms');
  const batch = ok[0].batch;
  return {
    median_ms: med, p99_ms: m('p99_ms'), p999_ms: m('p999_ms'), min_ms: Math.min(...ok.map((x) => x.min_ms)),
    throughput_per_s: med > 0 ? batch * 1000 / med : 0, gflops: m('gflops'),
    round_medians_ms: ok.map((x) => x.median_ms), runs: ok[0].runs, warmup: ok[0].warmup,
    version: ok[0].version, api: ok[0].api,
    load_ms: ok[0].load_ms != null ? m('load_ms') : null,
    session_ms: ok[0].session_ms != null ? m('session_ms') : null,
    session2_ms: ok[0].session2_ms != null ? m('session2_ms') : null,
  };
}

// ---- .npy reader for the output comparison (float32 / int64 / int32 / uint8) ----
function readNpy(file) {
  const buf = fs.readFileSync(file);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.slice(hstart, hstart + hlen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const T = { '<f4': Float32Array, '<f8': Float64Array, '<i8': BigInt64Array, '<i4': Int32Array, '|b1': Uint8Array, '|u1': Uint8Array }[descr];
  if (!T) throw new Error(`${file}: dtype ${descr}`);
  const bytes = new Uint8Array(n * T.BYTES_PER_ELEMENT);
  bytes.set(buf.subarray(hstart + hlen, hstart + hlen + bytes.length));
  return { shape, data: Array.from(new T(bytes.buffer), Number) };
}

function accuracy(o, name, model) {
  const dir = path.join(o.work, 'acc', name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const inDir = path.join(dir, 'in'), eOut = path.join(dir, 'e2e'), oOut = path.join(dir, 'ort');
  let r = run(o.e2e, ['bench', model, '--batch', String(o.accBatch), '--runs', '1', '--warmup', '0', '--save-inputs', inDir]);
  if (!r.ok) return { error: `e2e bench --save-inputs: ${r.err.trim()}` };
  const inputs = fs.readdirSync(inDir).filter((f) => f.endsWith('.npy'));
  const specs = inputs.map((f) => `${f.slice(0, -4)}=${path.join(inDir, f)}`);
  r = run(o.e2e, ['infer', model, ...specs.flatMap((s) => ['--input', s]), '--output', eOut]);
  if (!r.ok) return { error: `e2e infer: ${r.err.trim()}` };
  r = run(process.execPath, [path.join(__dirname, 'ort_bench.js'), model, '--runs', '1', '--warmup', '0', '--json',
                             ...specs.flatMap((s) => ['--input', s]), '--write-outputs', oOut]);
  if (!r.ok) return { error: `ort: ${r.err.trim()}` };
  let maxAbs = 0, maxRef = 0, maxRel = 0, n = 0;
  const outputs = [];
  for (const f of fs.readdirSync(oOut).filter((x) => x.endsWith('.npy'))) {
    const ef = path.join(eOut, f);
    if (!fs.existsSync(ef)) return { error: `e2e wrote no ${f}` };
    const a = readNpy(ef), b = readNpy(path.join(oOut, f));
    if (a.shape.join('x') !== b.shape.join('x')) return { error: `${f}: shape ${a.shape.join('x')} vs ORT ${b.shape.join('x')}` };
    for (let i = 0; i < a.data.length; i++) {
      const d = Math.abs(a.data[i] - b.data[i]);
      if (!(d <= maxAbs)) maxAbs = d; // NaN sticks
      maxRef = Math.max(maxRef, Math.abs(b.data[i]));
      maxRel = Math.max(maxRel, d / Math.max(Math.abs(b.data[i]), 1e-3));
    }
    n += a.data.length;
    outputs.push(f.slice(0, -4));
  }
  return { batch: o.accBatch, outputs, values: n, max_abs_diff: maxAbs, max_rel_diff: maxRel, max_abs_ort: maxRef };
}

// ---- the `e2e run` pipeline (skipped when the command is not built in) ----
// E2E_RUN_EVENTS (default 200) toy events from `e2e gen`, then `e2e run` with the SimpleNet,
// the ViT and the ParticleNet (gnn: graph frames) models; E2E_RUN_ARGS replaces the run arguments altogether.
function pipeline(o) {
  if (!run(o.e2e, ['help', 'run']).ok) return { skipped: 'this e2e has no `run` command' };
  const dir = path.join(o.work, 'pipeline');
  fs.mkdirSync(dir, { recursive: true });
  const runs = [];
  let variants;
  if (process.env.E2E_RUN_ARGS) variants = [{ name: 'custom', args: process.env.E2E_RUN_ARGS.split(/\s+/).filter(Boolean) }];
  else {
    if (!run(o.e2e, ['help', 'gen']).ok) return { skipped: 'no `e2e gen` to make events (set E2E_RUN_ARGS)' };
    const nev = process.env.E2E_RUN_EVENTS || '200';
    const events = path.join(dir, `events_${nev}.e2e`);
    if (!fs.existsSync(events)) {
      const gr = run(o.e2e, ['gen', '--events', nev, '-o', events]);
      if (!gr.ok) return { skipped: `e2e gen failed: ${gr.err.trim().split('\n').slice(-1)[0]}` };
    }
    variants = ['simplenet', 'vit', 'gnn'].map((arch) => ({ name: arch, args: ['run', '--events', events, '--model-dir', o.models, '--arch', arch,
      '--threads', '1', '-o', path.join(dir, `predictions_${arch}.csv`), '--no-progress'] }));
  }
  for (const v of variants) {
    const timing = path.join(dir, `timing_${v.name}.json`);
    fs.rmSync(timing, { force: true });
    const args = v.args.concat(['--timing-json', timing]);
    const t0 = process.hrtime.bigint();
    const r = run(o.e2e, args);
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    const command = `e2e ${args.join(' ')}`;
    if (!r.ok) { runs.push({ name: v.name, command, error: (r.err || r.out).trim().split('\n').slice(-1)[0] }); continue; }
    let t = null;
    try { t = JSON.parse(fs.readFileSync(timing, 'utf8')); } catch (e) { t = null; }
    runs.push({ name: v.name, command, wall_ms: wall, timing: t });
  }
  return { runs };
}

// ---- report ----
const fmt = (x, d = 3) => (x === null || x === undefined || !isFinite(x) ? '—' : x >= 1000 ? x.toFixed(0) : x >= 100 ? x.toFixed(1) : x.toPrecision(d));
const fmtRatio = (x) => (x === null || x === undefined || !isFinite(x) ? '—' : x.toFixed(2) + '×');
const key = (c) => `b${c.batch}t${c.threads}`;

function svgPlot(res, configs) {
  // speed-up over ORT (ORT median / e2e median) per model and configuration
  const models = res.models.filter((m) => configs.some((c) => m.cfg[key(c)] && m.cfg[key(c)].speedup));
  const W = 960, H = 380, L = 60, R = 200, T = 40, B = 70;
  const vals = models.flatMap((m) => configs.map((c) => (m.cfg[key(c)] || {}).speedup || 0));
  const ymax = Math.max(1.5, ...vals) * 1.1;
  const y = (v) => +(T + (H - T - B) * (1 - v / ymax)).toFixed(1);
  const gw = (W - L - R) / Math.max(models.length, 1), bw = (gw * 0.8) / configs.length;
  const colors = ['#4c78a8', '#9ecae9', '#f58518', '#ffbf79', '#54a24b', '#88d27a'];
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  let s = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">\n`;
  s += `<rect width="${W}" height="${H}" fill="white"/>\n`;
  s += `<text x="${L}" y="22" font-size="15">e2e speed-up over ONNX Runtime ${esc(res.ort_version || '')} (ORT median / e2e median; higher is better)</text>\n`;
  const step = ymax > 6 ? 1 : ymax > 3 ? 0.5 : 0.25;
  for (let v = 0; v <= ymax; v += step) {
    s += `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`;
    s += `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>\n`;
  }
  models.forEach((m, i) => {
    configs.forEach((c, j) => {
      const v = (m.cfg[key(c)] || {}).speedup;
      if (!v) return;
      const x = L + i * gw + gw * 0.1 + j * bw;
      s += `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${(y(0) - y(v)).toFixed(1)}" fill="${colors[j % colors.length]}"><title>${esc(m.name)} batch ${c.batch}, ${c.threads} thread(s): ${v.toFixed(2)}x</title></rect>\n`;
    });
    s += `<text x="${(L + i * gw + gw / 2).toFixed(1)}" y="${H - B + 18}" text-anchor="middle" font-size="11">${esc(m.name)}</text>\n`;
  });
  const line = (v, color, label, dy) => {
    s += `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="${color}" stroke-dasharray="6,4" stroke-width="1.5"/>`;
    s += `<text x="${W - R + 6}" y="${y(v) + 4 + dy}" fill="${color}">${esc(label)}</text>\n`;
  };
  line(1, '#333', 'parity (1.0)', 0);
  line(1 / LAT_TARGET, '#d62728', `batch 1 target ${(1 / LAT_TARGET).toFixed(2)}`, -6);
  line(THR_TARGET, '#9467bd', `batch 32 target ${THR_TARGET.toFixed(2)}`, 8);
  s += `<line x1="${L}" x2="${L}" y1="${T}" y2="${y(0)}" stroke="#333"/><line x1="${L}" x2="${W - R}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>\n`;
  configs.forEach((c, j) => {
    const ly = H - B + 36 + Math.floor(j / 4) * 16, lx = L + (j % 4) * 150;
    s += `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${colors[j % colors.length]}"/><text x="${lx + 16}" y="${ly + 10}">batch ${c.batch}, ${c.threads} thread${c.threads > 1 ? 's' : ''}</text>\n`;
  });
  return s + '</svg>\n';
}

function markdown(res, o, svgName) {
  const cfg = (m, b, t) => m.cfg[`b${b}t${t}`] || {};
  const L = [];
  L.push('# Benchmarks: e2e and ONNX Runtime side by side', '');
  L.push(`<!-- generated by bench/run.js (make bench) on ${res.date}; do not edit by hand -->`, '');
  L.push(`Machine: ${res.host.cpu}, ${res.host.cpus} logical CPUs, widest SIMD ${res.host.simd || '?'}, ${res.host.os}, load average ${res.host.loadavg_start[0]} at the start and ${res.host.loadavg_end[0]} at the end (other work on the machine shows up as noise, mostly in the 2-thread rows). e2e ${String(res.e2e_version).split('\n')[0]}` +
         (res.ort_available ? `, ONNX Runtime ${res.ort_version} (onnxruntime-node, CPU, timed through the native binding's run() — ${res.ort_api})` : `; ONNX Runtime not available (${res.ort_reason})`) + '.', '');
  L.push(`Method: for every model and configuration, \`e2e bench --json\` and \`bench/ort_bench.js --json\` ran alternately, ${o.rounds} rounds each, with the same warm-up and run counts (about ${o.budget} ms per invocation). Each number is the median over rounds of the per-round median (p99, p99.9 likewise). ORT session: intraOpNumThreads = threads, interOpNumThreads = 1, graph optimisation level "all", sequential execution. Inputs: seeded uniform random numbers in [0, 1). Ratios are e2e/ORT: below 1 means e2e is faster for latency, above 1 means e2e has more throughput. GFLOP/s are nominal: the FLOPs of e2e's kernels as \`e2e info\` counts them (multiply-add = 2, direct convolution; for the ViTs the last MLP on the class token only, which e2e computes alone) over the median, the same count for both engines, so a Winograd convolution can go past the machine's peak. Raw data: \`bench/results/${resultName(res)}\`. Reproduce with \`make bench\`.`, '');
  if (res.models.some((m) => /_int8$/.test(m.name)))
    L.push('Models `*_int8` are QDQ (int8) versions of the SimpleNet taggers written by `models/torch/quantize_taggers.py` (uint8 activations per tensor, calibrated on 64 random sparse frames; int8 symmetric per-channel weights; int32 biases), the form ONNX Runtime\'s static quantizer writes; both engines fold the QDQ patterns into integer kernels (e2e: src/engine/passes/fuse_qdq.c; AVX512-VNNI at the avx512 level, AVX-VNNI or plain AVX2 at avx2, the same integers as the generic path). The issue-20 target for them is batch-1 latency ≤ 0.8× ORT\'s int8 latency; e2e\'s integer kernels run on one thread.', '');
  if (res.earlier) // rows carried over from an earlier run (see --render)
    L.push(`Rows of ${res.earlier.models.join(', ')}: measured on ${res.earlier.date} on ${res.earlier.cpu || 'another machine'} (load average ${res.earlier.loadavg_start} at the start), copied from \`bench/results/${res.earlier.file}\`; the other rows on ${res.date} (\`make bench BENCH_ARGS="--model build/models/NAME.onnx ..."\` measures a subset; \`--render NEW.json --earlier OLD.json\` adds the models NEW lacks).`, '');
  if (svgName) L.push(`![speed-up over ONNX Runtime](${svgName})`, '');
  const ok = (r, good) => (r === null || r === undefined ? '—' : good ? 'yes' : '**no**');

  L.push(`## Latency, batch 1 (median ms; target: e2e ≤ ${LAT_TARGET}× ORT)`, '');
  L.push('| model | e2e 1 thr | ORT 1 thr | e2e/ORT | e2e 2 thr | ORT 2 thr | e2e/ORT | target met |');
  L.push('|---|---:|---:|---:|---:|---:|---:|:---:|');
  for (const m of res.models) {
    const a = cfg(m, 1, 1), b = cfg(m, 1, 2);
    const met = a.ratio != null && b.ratio != null ? ok(true, a.ratio <= LAT_TARGET && b.ratio <= LAT_TARGET) : '—';
    L.push(`| ${m.name} | ${fmt(a.e2e && a.e2e.median_ms)} | ${fmt(a.ort && a.ort.median_ms)} | ${fmtRatio(a.ratio)} | ${fmt(b.e2e && b.e2e.median_ms)} | ${fmt(b.ort && b.ort.median_ms)} | ${fmtRatio(b.ratio)} | ${met} |`);
  }
  L.push('');
  L.push(`## Throughput, batch 32 (images/s; target: e2e ≥ ${THR_TARGET}× ORT)`, '');
  L.push('| model | e2e 1 thr | ORT 1 thr | e2e/ORT | e2e 2 thr | ORT 2 thr | e2e/ORT | target met |');
  L.push('|---|---:|---:|---:|---:|---:|---:|:---:|');
  for (const m of res.models) {
    const a = cfg(m, 32, 1), b = cfg(m, 32, 2);
    const met = a.thr_ratio != null && b.thr_ratio != null ? ok(true, a.thr_ratio >= THR_TARGET && b.thr_ratio >= THR_TARGET) : '—';
    L.push(`| ${m.name} | ${fmt(a.e2e && a.e2e.throughput_per_s)} | ${fmt(a.ort && a.ort.throughput_per_s)} | ${fmtRatio(a.thr_ratio)} | ${fmt(b.e2e && b.e2e.throughput_per_s)} | ${fmt(b.ort && b.ort.throughput_per_s)} | ${fmtRatio(b.thr_ratio)} | ${met} |`);
  }
  L.push('');
  L.push('## Model load (e2e; target: ≤ 50 ms per model)', '');
  L.push('Median over the rounds of `e2e bench`: reading and converting the file (`e2e_model_load_file`), and creating a session (plan, fusions, packed weights, arena) at batch 1 and 32, 1 thread.', '');
  L.push('ORT: the first `InferenceSession.create` of its process (file, graph optimisation, environment) and a second one in the same process (ORT warm), batch 1, 1 thread; ratio = e2e load + session / ORT\'s (issue 20 target: ≤ 0.5; `bench/startup.sh` measures the same alternately).', '');
  L.push('| model | load ms | session ms, batch 1 | session ms, batch 32 | load + session (batch 1) | ORT first session ms | ratio | ORT second session ms | ratio |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const m of res.models) {
    const a = (cfg(m, 1, 1).e2e) || {}, b = (cfg(m, 32, 1).e2e) || {}, o1 = (cfg(m, 1, 1).ort) || {};
    const sum = a.load_ms != null && a.session_ms != null ? a.load_ms + a.session_ms : null;
    const osum = o1.session_ms != null ? o1.session_ms : null, osum2 = o1.session2_ms != null ? o1.session2_ms : null;
    const r = (d) => (sum != null && d ? fmtRatio(sum / d) : '—');
    L.push(`| ${m.name} | ${fmt(a.load_ms)} | ${fmt(a.session_ms)} | ${fmt(b.session_ms)} | ${fmt(sum)} | ${fmt(osum)} | ${r(osum)} | ${fmt(osum2)} | ${r(osum2)} |`);
  }
  L.push('');
  L.push('## Tail latency and compute rate', '');
  L.push('| model | batch | threads | e2e median / p99 / p99.9 ms | ORT median / p99 / p99.9 ms | e2e GFLOP/s | ORT GFLOP/s |');
  L.push('|---|---:|---:|---|---|---:|---:|');
  for (const m of res.models) {
    for (const c of o.configs) {
      const x = m.cfg[key(c)] || {};
      const e = x.e2e || {}, r = x.ort || {};
      const trio = (v) => (v.error ? `error: ${v.error.slice(0, 60)}` : v.median_ms == null ? '—' : `${fmt(v.median_ms)} / ${fmt(v.p99_ms)} / ${fmt(v.p999_ms)}`);
      L.push(`| ${m.name} | ${c.batch} | ${c.threads} | ${trio(e)} | ${trio(r)} | ${fmt(e.gflops)} | ${fmt(r.gflops)} |`);
    }
  }
  L.push('');
  L.push(`## Agreement with ONNX Runtime (one seeded batch of ${o.accBatch} through \`e2e infer\` and ORT)`, '');
  L.push('| model | outputs | values | largest \\|e2e − ORT\\| | largest relative | largest \\|ORT\\| |');
  L.push('|---|---|---:|---:|---:|---:|');
  for (const m of res.models) {
    const a = m.accuracy || {};
    if (a.error || a.skipped) L.push(`| ${m.name} | ${a.error ? 'error: ' + a.error.slice(0, 80) : a.skipped} | | | | |`);
    else L.push(`| ${m.name} | ${a.outputs.join(', ')} | ${a.values} | ${a.max_abs_diff.toExponential(2)} | ${a.max_rel_diff.toExponential(2)} | ${fmt(a.max_abs_ort)} |`);
  }
  L.push('');
  for (const p of res.profiles || []) {
    L.push(`## Profile: ${p.model}, batch ${p.batch}, ${p.threads} thread(s) (the ${/_(pnet|dgcnn|part)/i.test(p.model) ? 'graph model' : /vit/i.test(p.model) ? 'ViT' : 'SimpleNet'} furthest from its target)`, '');
    L.push(`${p.ratio ? `e2e/ORT time ${fmtRatio(p.ratio)}. ` : ''}\`e2e bench --profile --sort\`: median per node over kernel-by-kernel runs (whole run ${fmt(p.median_ms)} ms); "sgemm share" is the node's GFLOP/s over cblas_sgemm's GFLOP/s on the same GEMM shape (M × N × K, count GEMMs), same thread count.`, '');
    L.push('| node | op | ms | % | GFLOP/s | GEMM M×N×K (count) | sgemm share |');
    L.push('|---|---|---:|---:|---:|---|---:|');
    const tot = p.nodes.reduce((a, n) => a + n.ms, 0);
    for (const n of p.nodes.slice(0, 10))
      L.push(`| ${n.name} | ${n.op} | ${fmt(n.ms)} | ${(100 * n.ms / tot).toFixed(1)} | ${fmt(n.gflops)} | ${n.gemm ? `${n.gemm[0]}×${n.gemm[1]}×${n.gemm[2]} (${n.gemm[3]})` : ''} | ${n.sgemm_share != null ? (100 * n.sgemm_share).toFixed(0) + '%' : ''} |`);
    if (p.nodes.length > 10) L.push(`| … ${p.nodes.length - 10} more | | | | | | |`);
    L.push('', '| op type | nodes | ms | % | GFLOP/s |', '|---|---:|---:|---:|---:|');
    for (const t of p.op_totals) L.push(`| ${t.op} | ${t.nodes} | ${fmt(t.ms)} | ${(100 * t.ms / tot).toFixed(1)} | ${fmt(t.gflops)} |`);
    L.push('');
  }
  L.push('## The whole job: `e2e run`', '');
  const pl = res.pipeline || {};
  if (pl.skipped) L.push(`Skipped: ${pl.skipped}.`, '');
  for (const pr of pl.runs || []) {
    L.push(`### ${pr.name === 'vit' ? 'ViT' : pr.name === 'simplenet' ? 'SimpleNet' : pr.name === 'gnn' ? 'ParticleNet (gnn)' : pr.name} taggers`, '', `\`${pr.command}\``, '');
    if (pr.error) { L.push(`Failed: ${pr.error}`, ''); continue; }
    const t = pr.timing || {};
    L.push(`${t.events || '?'} events, ${fmt(t.events_per_s)} events/s for the whole job (all four taggers, 1 thread); wall time of the command ${fmt(pr.wall_ms)} ms.`, '');
    if (Array.isArray(t.stages)) {
      L.push('| stage | mean ms/event | p50 | p99 |', '|---|---:|---:|---:|');
      for (const st of t.stages) L.push(`| ${st.stage || st.name} | ${fmt(st.mean_ms)} | ${fmt(st.p50_ms)} | ${fmt(st.p99_ms)} |`);
      L.push('');
    }
    if (Array.isArray(t.taggers)) {
      L.push('| tagger | frame | slots (seeded) | frames + inference ms/event | events/s |', '|---|---|---:|---:|---:|');
      for (const g of t.taggers) L.push(`| ${g.name} | ${(g.frame || []).join('×')} | ${g.slots} (${g.seeded}) | ${fmt(g.frames_inference_ms)} | ${fmt(g.frames_inference_events_per_s)} |`);
      L.push('');
    }
  }
  L.push('## Reference numbers quoted in issue 5 (ONNX Runtime on the reference machine)', '');
  L.push('| model | batch 1, 1 thread | batch 1, 2 threads | batch 32, 1 thread | batch 32, 2 threads |');
  L.push('|---|---:|---:|---:|---:|');
  L.push('| E/Gamma SimpleNet | 0.057 ms | 0.047 ms | ~30,000 /s | ~58,000 /s |');
  L.push('| QG SimpleNet | 1.15 ms | 0.65 ms | | |');
  L.push('| Top/Tau SimpleNet | 1.30 ms | 0.72 ms | ~1,070 /s | ~2,150 /s |');
  L.push('| ViT-Ti | 7.6 ms | 5.1 ms | ~146 /s | ~280 /s |');
  L.push('');
  return L.join('\n');
}

function writeDocs(o, res) {
  const doc = path.resolve(ROOT, o.doc);
  const svg = doc.replace(/\.md$/, '') + '.svg';
  fs.mkdirSync(path.dirname(doc), { recursive: true });
  fs.writeFileSync(svg, svgPlot(res, res.configs));
  // the sections measured by other scripts (bench/startup.sh, bench/batch_events.sh) follow
  // this marker in the old file and are kept
  const KEPT = '<!-- the sections below are measured by other scripts or by hand (bench/startup.sh, batch_events.sh, bf16_compare.sh, ...): bench/run.js keeps them -->';
  const old = fs.existsSync(doc) ? fs.readFileSync(doc, 'utf8') : '';
  const tail = old.includes(KEPT) ? '\n' + old.slice(old.indexOf(KEPT)) : '';
  fs.writeFileSync(doc, markdown(res, { ...o, rounds: res.rounds, budget: res.budget_ms, configs: res.configs, accBatch: res.acc_batch || o.accBatch }, path.basename(svg)) + tail);
  log(`bench: wrote ${path.relative(process.cwd(), doc)} and ${path.relative(process.cwd(), svg)}`);
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.render) {
    const res = JSON.parse(fs.readFileSync(o.render, 'utf8'));
    res.profiles = res.profiles || (res.profile ? [res.profile] : []);
    if (o.earlier) {
      // the models of an earlier results file that this one lacks, first, marked as such;
      // the merged data is written as this run's results file
      const old = JSON.parse(fs.readFileSync(o.earlier, 'utf8'));
      const have = new Set(res.models.map((m) => m.name));
      const add = old.models.filter((m) => !have.has(m.name));
      res.models = add.concat(res.models);
      res.earlier = { file: path.basename(o.earlier), date: old.date, cpu: old.host.cpu, loadavg_start: old.host.loadavg_start[0],
                      models: add.map((m) => m.name) };
      res.targets_missed = (old.targets_missed || []).filter((t) => add.some((m) => t.startsWith(m.name + ' ')))
        .concat(res.targets_missed || []);
      const out = path.resolve(ROOT, o.results, resultName(res));
      fs.writeFileSync(out, JSON.stringify(res, null, 1) + '\n');
      log(`bench: wrote ${path.relative(process.cwd(), out)}`);
    }
    writeDocs(o, res);
    return;
  }
  if (!fs.existsSync(o.e2e)) { console.error(`bench: ${o.e2e} not found (make first)`); process.exit(1); }
  fs.mkdirSync(o.work, { recursive: true });

  // ONNX Runtime
  let ortAvail = false, ortReason = 'disabled with --no-ort', ortVersion = null;
  if (o.ort) {
    const p = path.join(__dirname, 'ort', 'node_modules', 'onnxruntime-node');
    try {
      require(p);
      ortAvail = true;
      ortVersion = require(path.join(p, 'package.json')).version;
    } catch (e) {
      ortReason = `onnxruntime-node not installed in bench/ort (sh bench/ort_install.sh): ${e.message.split('\n')[0]}`;
    }
  }
  if (!ortAvail) log(`bench: ONNX Runtime not available — ${ortReason}; timing e2e alone`);
  const load = os.loadavg()[0];
  if (load > 0.5 * os.cpus().length)
    log(`bench: warning: the machine is busy (load average ${load.toFixed(1)} on ${os.cpus().length} CPUs); timings will be noisy, the 2-thread ones most`);

  // models
  const nameOf = (f) => (path.basename(f) === 'model.onnx' ? path.basename(path.dirname(f)) : path.basename(f, '.onnx'));
  let models = o.files.map((f) => {
    const file = fs.existsSync(f) && fs.statSync(f).isDirectory() ? path.join(f, 'model.onnx') : f;
    return { name: nameOf(file), file };
  });
  if (!models.length) {
    const missing = MODELS.filter((n) => !fs.existsSync(path.join(o.models, n + '.onnx')));
    if (missing.length) {
      log(`bench: writing the benchmark models into ${o.models} (${missing.length} missing)`);
      const r = run(o.e2e, ['models', '--out', o.models]);
      if (!r.ok) log(`bench: e2e models failed: ${(r.err || r.out).trim().split('\n').slice(-1)[0]}`);
    }
    for (const n of MODELS.filter((x) => x.endsWith('_int8'))) {
      const f = path.join(o.models, n + '.onnx'), src = path.join(o.models, n.replace(/_int8$/, '') + '.onnx');
      if (fs.existsSync(f) || !fs.existsSync(src)) continue;
      const py = process.env.PYTHON || '/usr/bin/python3';
      const r = run(py, [path.join(ROOT, 'models', 'torch', 'quantize_taggers.py'), '--e2e', o.e2e, src, f]);
      if (!r.ok) log(`bench: ${n}: quantize_taggers.py failed: ${(r.err || r.out).trim().split('\n').slice(-1)[0]}`);
    }
    models = MODELS.filter((n) => fs.existsSync(path.join(o.models, n + '.onnx'))).map((n) => ({ name: n, file: path.join(o.models, n + '.onnx') }));
    const still = MODELS.filter((n) => !models.some((m) => m.name === n));
    if (still.length) log(`bench: missing models, not measured: ${still.join(', ')}`);
  }
  if (!models.length) { console.error('bench: no model to measure'); process.exit(1); }

  const res = {
    date: new Date().toISOString().slice(0, 10), time: new Date().toISOString(),
    host: { cpu: (os.cpus()[0] || {}).model || '?', cpus: os.cpus().length, simd: simdLevel(), loadavg_start: os.loadavg().map((x) => +x.toFixed(2)), os: `${os.type()} ${os.release()}`, node: process.version },
    e2e_version: (run(o.e2e, ['--version']).out.trim().split('\n')[0].split(' ')[1]) || '?',
    ort_available: ortAvail, ort_reason: ortAvail ? null : ortReason, ort_version: ortVersion, ort_api: null,
    rounds: o.rounds, budget_ms: o.budget, configs: o.configs, acc_batch: o.accBatch,
    targets: { batch1_latency_ratio_max: LAT_TARGET, batch32_throughput_ratio_min: THR_TARGET },
    models: [],
  };

  log(`\n${'model'.padEnd(16)} ${'batch'.padStart(5)} ${'thr'.padStart(3)}  ${'e2e ms'.padStart(10)} ${'ORT ms'.padStart(10)} ${'e2e/ORT'.padStart(8)}  ${'e2e img/s'.padStart(10)} ${'ORT img/s'.padStart(10)}`);
  for (const m of models) {
    const entry = { name: m.name, file: m.file, cfg: {} };
    res.models.push(entry);
    for (const c of o.configs) {
      const probe = e2eBench(o, m.file, c, 3, 1);
      const x = { batch: c.batch, threads: c.threads };
      entry.cfg[key(c)] = x;
      if (probe.error && !ortAvail) { x.e2e = { error: probe.error }; log(`${m.name.padEnd(16)} ${String(c.batch).padStart(5)} ${String(c.threads).padStart(3)}  e2e error: ${probe.error}`); continue; }
      const est = probe.error ? null : probe.median_ms;
      let runs, warmup;
      if (est) {
        runs = clamp(Math.round(o.budget / est), 10, 2000);
        warmup = clamp(Math.ceil(0.2 * o.budget / est), 2, 50);
      } else { runs = 20; warmup = 3; }
      const flops = probe.error ? null : probe.flops_per_run;
      const E = [], R = [];
      for (let r = 0; r < o.rounds; r++) {
        if (!probe.error) E.push(e2eBench(o, m.file, c, runs, warmup));
        if (ortAvail) R.push(ortBench(o, m.file, c, runs, warmup, flops));
        if (r === 0 && ortAvail && R[0].error) { break; }
      }
      x.e2e = probe.error ? { error: probe.error } : aggregate(E);
      if (flops) x.e2e.flops_per_run = flops;
      if (ortAvail) { x.ort = aggregate(R); if (!res.ort_api && x.ort.api) res.ort_api = x.ort.api; }
      if (x.e2e.median_ms && x.ort && x.ort.median_ms) {
        x.ratio = x.e2e.median_ms / x.ort.median_ms;           // latency: lower is better
        x.thr_ratio = x.ort.median_ms / x.e2e.median_ms;       // throughput: higher is better
        x.speedup = x.thr_ratio;
      }
      log(`${m.name.padEnd(16)} ${String(c.batch).padStart(5)} ${String(c.threads).padStart(3)}  ${fmt(x.e2e.median_ms).padStart(10)} ${fmt(x.ort && x.ort.median_ms).padStart(10)} ${(x.ratio ? x.ratio.toFixed(2) : '—').padStart(8)}  ${fmt(x.e2e.throughput_per_s).padStart(10)} ${fmt(x.ort && x.ort.throughput_per_s).padStart(10)}` +
          (x.e2e.error ? `  e2e error: ${x.e2e.error}` : '') + (x.ort && x.ort.error ? `  ORT error: ${x.ort.error}` : ''));
    }
    if (ortAvail) {
      entry.accuracy = accuracy(o, m.name, m.file);
      const a = entry.accuracy;
      log(`${m.name.padEnd(16)} largest |e2e - ORT| = ${a.error ? 'error: ' + a.error : a.max_abs_diff.toExponential(2) + ` over ${a.values} values`}`);
    } else entry.accuracy = { skipped: 'ONNX Runtime not available' };
  }

  // profile, per architecture family (SimpleNet, ViT, graph models), the model/configuration
  // furthest from its target
  res.profiles = [];
  const family = (n) => (/_(pnet|dgcnn|part)/i.test(n) ? 'gnn' : /vit/i.test(n) ? 'vit' : 'cnn');
  for (const fam of ['cnn', 'vit', 'gnn']) {
    let worst = null;
    for (const m of res.models.filter((x) => family(x.name) === fam))
      for (const c of o.configs) {
        const x = m.cfg[key(c)];
        if (!x || !x.ratio) continue;
        const miss = c.batch === 1 ? x.ratio / LAT_TARGET : THR_TARGET / x.thr_ratio; // > 1: target missed
        if (!worst || miss > worst.miss) worst = { miss, m, c, x };
      }
    if (!worst) // no ORT: the slowest batch-1 model
      for (const m of res.models.filter((x) => family(x.name) === fam)) {
        const x = m.cfg.b1t1;
        if (x && x.e2e && x.e2e.median_ms && (!worst || x.e2e.median_ms > worst.x.e2e.median_ms)) worst = { m, c: { batch: 1, threads: 1 }, x };
      }
    if (!worst) continue;
    const p = e2eBench(o, worst.m.file, worst.c, 50, 5, ['--profile', '--sort']);
    if (p.error || !p.profile) { log(`bench: profile of ${worst.m.name} failed: ${p.error}`); continue; }
    res.profiles.push({ model: worst.m.name, batch: worst.c.batch, threads: worst.c.threads, ratio: worst.x.ratio || null,
                        thr_ratio: worst.x.thr_ratio || null, median_ms: p.median_ms, nodes: p.profile, op_totals: p.op_totals });
    log(`\nprofile of ${worst.m.name} (batch ${worst.c.batch}, ${worst.c.threads} thread(s)${worst.x.ratio ? `, e2e/ORT time ${worst.x.ratio.toFixed(2)}` : ''}), slowest nodes:`);
    for (const n of p.profile.slice(0, 5))
      log(`  ${n.name.padEnd(28)} ${n.op.padEnd(16)} ${n.ms.toFixed(4).padStart(9)} ms ${n.gflops.toFixed(1).padStart(7)} GFLOP/s` +
          (n.gemm ? `  ${n.gemm.slice(0, 3).join('x')} (${n.gemm[3]})  sgemm share ${(100 * n.sgemm_share).toFixed(0)}%` : ''));
  }

  res.pipeline = pipeline(o);
  if (res.pipeline.skipped) log(`\npipeline: skipped — ${res.pipeline.skipped}`);
  for (const pr of res.pipeline.runs || []) {
    if (pr.error) { log(`\npipeline ${pr.name}: ${pr.command}: ${pr.error}`); continue; }
    const t = pr.timing || {};
    log(`\npipeline ${pr.name}: ${t.events} events, ${fmt(t.events_per_s)} events/s; ms/event: ` +
        (t.stages || []).map((x) => `${x.stage} ${fmt(x.mean_ms)}`).join(', '));
  }

  // summary against the targets
  const misses = [];
  for (const m of res.models)
    for (const c of o.configs) {
      const x = m.cfg[key(c)];
      if (!x || !x.ratio) continue;
      if (c.batch === 1 && x.ratio > LAT_TARGET) misses.push(`${m.name} b${c.batch}t${c.threads} latency ${x.ratio.toFixed(2)}x`);
      if (c.batch > 1 && x.thr_ratio < THR_TARGET) misses.push(`${m.name} b${c.batch}t${c.threads} throughput ${x.thr_ratio.toFixed(2)}x`);
    }
  res.targets_missed = misses;
  res.host.loadavg_end = os.loadavg().map((x) => +x.toFixed(2));
  if (ortAvail) log(`\ntargets (batch 1 latency <= ${LAT_TARGET}x ORT, batch 32 throughput >= ${THR_TARGET}x ORT): ` + (misses.length ? `${misses.length} missed: ${misses.join('; ')}` : 'all met'));

  fs.mkdirSync(path.resolve(ROOT, o.results), { recursive: true });
  const rfile = path.resolve(ROOT, o.results, resultName(res));
  fs.writeFileSync(rfile, JSON.stringify(res, null, 1) + '\n');
  log(`\nbench: wrote ${path.relative(process.cwd(), rfile)}`);
  if (o.docs && !ortAvail) log('bench: docs/benchmarks.md not regenerated: it compares with ONNX Runtime, which was not available');
  if (o.docs && ortAvail) writeDocs(o, res);
}

main();
