#!/usr/bin/env node
// ort_bench.js — time ONNX Runtime (onnxruntime-node, CPU) on one model the way `e2e bench`
// times e2e: batch N, T intra-op threads, W warm-up runs then R timed runs, median / p99 /
// p99.9 latency, throughput. Prints the same keys as `e2e bench --json`.
//
//   node bench/ort_bench.js MODEL [--batch N] [--threads T] [--runs R] [--warmup W] [--json]
//        [--input [NAME=]FILE.npy ...] [--write-outputs DIR] [--flops F] [--api sync|async]
//
// Session: intraOpNumThreads=T, interOpNumThreads=1, graphOptimizationLevel 'all',
// executionMode 'sequential', CPU execution provider.
// --api sync (default) times the native binding's run() directly (no event-loop hop, the
// closest to ORT's C API); --api async times `await session.run()` of the public JS API.
// --input feeds .npy files instead of seeded random numbers; --write-outputs writes
// DIR/<output name>.npy of the last run, to compare with `e2e infer`.
// ORT is looked up in bench/ort/node_modules (bench/ort_install.sh), then $ORT_NODE, then
// the normal module path.
'use strict';
const fs = require('fs');
const path = require('path');

// ---------- .npy ----------
const NPY_TYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array], '<i8': ['int64', BigInt64Array],
  '<i4': ['int32', Int32Array], '|b1': ['bool', Uint8Array], '|u1': ['uint8', Uint8Array],
  '|i1': ['int8', Int8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.slice(0, 6).toString('latin1') !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.slice(hstart, hstart + hlen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order not supported`);
  const shapeTxt = /'shape':\s*\(([^)]*)\)/.exec(header)[1];
  const shape = shapeTxt.split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const t = NPY_TYPES[descr];
  if (!t) throw new Error(`${file}: dtype ${descr} not supported`);
  const off = hstart + hlen;
  const n = shape.reduce((a, b) => a * b, 1);
  const bytes = new Uint8Array(n * t[1].BYTES_PER_ELEMENT);
  bytes.set(buf.subarray(off, off + bytes.length));
  let data = new t[1](bytes.buffer);
  let type = t[0];
  if (type === 'float64') { data = Float32Array.from(data); type = 'float32'; }
  return { type, dims: shape, data };
}

function writeNpy(file, type, dims, data) {
  const descr = { float32: '<f4', int64: '<i8', int32: '<i4', bool: '|b1', uint8: '|u1', int8: '|i1' }[type];
  if (!descr) throw new Error(`cannot write ${type} to .npy`);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(pre, 0);
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

// ---------- arguments ----------
function usage(code) {
  const text = fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 17)
    .map((l) => l.replace(/^\/\/ ?/, '')).join('\n');
  (code ? process.stderr : process.stdout).write(text + '\n');
  process.exit(code);
}

function parseArgs(argv) {
  const o = { batch: 1, threads: 1, runs: 0, warmup: 10, json: false, inputs: [], out: null,
              flops: null, api: 'sync', model: null, seed: 42 };
  const int = (name, v, min) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min) { console.error(`ort_bench: ${name} wants an integer >= ${min}`); process.exit(2); }
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    if (a === '-h' || a === '--help') usage(0);
    else if (a === '--batch') { o.batch = int(a, v, 1); i++; }
    else if (a === '--threads') { o.threads = int(a, v, 1); i++; }
    else if (a === '--runs') { o.runs = int(a, v, 1); i++; }
    else if (a === '--warmup') { o.warmup = int(a, v, 0); i++; }
    else if (a === '--seed') { o.seed = int(a, v, 0); i++; }
    else if (a === '--json') o.json = true;
    else if (a === '--input') { o.inputs.push(v); i++; }
    else if (a === '--write-outputs') { o.out = v; i++; }
    else if (a === '--flops') { o.flops = Number(v); i++; }
    else if (a === '--api') { o.api = v; i++; }
    else if (a === '--ort') { o.ortPath = v; i++; }
    else if (a.startsWith('-')) { console.error(`ort_bench: unknown option ${a}`); process.exit(2); }
    else if (!o.model) o.model = a;
    else { console.error(`ort_bench: unexpected argument ${a}`); process.exit(2); }
  }
  if (!o.model) usage(2);
  if (o.api !== 'sync' && o.api !== 'async') { console.error('ort_bench: --api is sync or async'); process.exit(2); }
  if (fs.existsSync(o.model) && fs.statSync(o.model).isDirectory()) o.model = path.join(o.model, 'model.onnx');
  return o;
}

function loadOrt(o) {
  const tries = [o.ortPath, path.join(__dirname, 'ort', 'node_modules', 'onnxruntime-node'),
                 process.env.ORT_NODE, 'onnxruntime-node'].filter(Boolean);
  for (const t of tries) {
    try {
      const ort = require(t);
      let version = '?';
      try { version = require(path.join(path.dirname(require.resolve(t)), '..', 'package.json')).version; } catch (e) { /* keep ? */ }
      let binding = null;
      try { binding = require(path.join(path.dirname(require.resolve(t)), 'binding.js')); } catch (e) { binding = null; }
      return { ort, version, binding };
    } catch (e) { /* next */ }
  }
  console.error('ort_bench: onnxruntime-node not found (run sh bench/ort_install.sh)');
  process.exit(1);
}

// seeded uniform [0, 1) (xorshift64*), like e2e bench's inputs
function rng(seed) {
  let s = BigInt(seed) * 0x9E3779B97F4A7C15n + 1n & 0xFFFFFFFFFFFFFFFFn;
  return () => {
    s ^= s >> 12n; s ^= (s << 25n) & 0xFFFFFFFFFFFFFFFFn; s ^= s >> 27n;
    const r = (s * 0x2545F4914F6CDD1Dn) & 0xFFFFFFFFFFFFFFFFn;
    return Number(r >> 40n) / 16777216;
  };
}

function percentile(sorted, p) {
  let r = Math.ceil(p / 100 * sorted.length - 1e-9);
  r = Math.min(Math.max(r, 1), sorted.length);
  return sorted[r - 1];
}

function median(sorted) {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const { ort, version, binding } = loadOrt(o);
  const sessOpt = {
    executionProviders: ['cpu'], intraOpNumThreads: o.threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential',
  };
  // session_ms: the first InferenceSession.create of the process (reads the file, builds and
  // optimises the graph, the first one also makes ORT's environment); compare with e2e's
  // load_ms + session_ms. session2_ms: a second creation (the native binding's, below).
  // *_cpu_ms: the process's CPU time (all threads) over the same calls, e2e bench's
  // load_cpu_ms + session_cpu_ms beside them.
  const cpuMs = (u) => (u.user + u.system) / 1e3;
  const tc = process.hrtime.bigint(), cc = process.cpuUsage();
  const session = await ort.InferenceSession.create(o.model, sessOpt);
  const sessionMs = Number(process.hrtime.bigint() - tc) / 1e6, sessionCpuMs = cpuMs(process.cpuUsage(cc));
  let session2Ms = null, session2CpuMs = null;

  // inputs: files, else seeded random in the declared shapes with dynamic dims -> batch
  const feeds = {};
  const given = {};
  o.inputs.forEach((spec, i) => {
    const eq = spec.indexOf('=');
    const name = eq > 0 ? spec.slice(0, eq) : session.inputNames[i];
    given[name] = readNpy(eq > 0 ? spec.slice(eq + 1) : spec);
  });
  const rand = rng(o.seed);
  let batch = o.batch;
  session.inputNames.forEach((name, i) => {
    const md = (session.inputMetadata || [])[i] || {};
    if (given[name]) {
      const g = given[name];
      feeds[name] = new ort.Tensor(g.type, g.data, g.dims);
      if (i === 0 && g.dims.length) batch = g.dims[0];
      return;
    }
    const type = md.type || 'float32';
    const dims = (md.shape || []).map((d, k) => (typeof d === 'number' && d >= 0 ? d : (k === 0 ? o.batch : 1)));
    const n = dims.reduce((a, b) => a * b, 1);
    let data;
    if (type === 'float32') { data = new Float32Array(n); for (let j = 0; j < n; j++) data[j] = rand(); }
    else if (type === 'int64') data = new BigInt64Array(n);
    else if (type === 'int32') data = new Int32Array(n);
    else if (type === 'bool' || type === 'uint8') data = new Uint8Array(n);
    else throw new Error(`input ${name}: type ${type} not supported`);
    feeds[name] = new ort.Tensor(type, data, dims);
    if (i === 0 && dims.length) batch = dims[0];
  });

  // the timed call
  let api = o.api, runOnce;
  if (api === 'sync' && binding && binding.binding && binding.binding.InferenceSession) {
    try {
      if (binding.initOrt) binding.initOrt();
      const t2 = process.hrtime.bigint(), c2 = process.cpuUsage();
      const native = new binding.binding.InferenceSession();
      native.loadModel(o.model, sessOpt);
      session2Ms = Number(process.hrtime.bigint() - t2) / 1e6;
      session2CpuMs = cpuMs(process.cpuUsage(c2));
      const fetches = {};
      for (const n of session.outputNames) fetches[n] = null;
      const runOpt = {};
      runOnce = () => native.run(feeds, fetches, runOpt);
      runOnce();
    } catch (e) {
      if (!o.json) console.error(`ort_bench: native binding unusable (${e.message}); timing session.run`);
      api = 'async';
    }
  } else api = 'async';
  if (api === 'async') runOnce = () => session.run(feeds);

  const now = () => Number(process.hrtime.bigint()) / 1e6;
  let last;
  const w = Math.max(o.warmup, 1);
  let t0 = now();
  for (let i = 0; i < w; i++) last = await runOnce();
  const est = (now() - t0) / w;
  let runs = o.runs;
  if (!runs) runs = Math.min(2000, Math.max(20, Math.floor(est > 0 ? 2000 / est : 2000)));
  const t = new Array(runs);
  for (let r = 0; r < runs; r++) {
    t0 = now();
    last = await runOnce();
    t[r] = now() - t0;
  }
  const mean = t.reduce((a, b) => a + b, 0) / runs;
  t.sort((a, b) => a - b);
  const med = median(t);

  if (o.out) {
    fs.mkdirSync(o.out, { recursive: true });
    for (const name of session.outputNames) {
      const v = last[name];
      const dims = Array.from(v.dims, Number);
      writeNpy(path.join(o.out, name.replace(/[/:]/g, '_') + '.npy'), v.type, dims, v.data);
    }
  }
  const res = {
    engine: 'onnxruntime', version, api, model: o.model, batch, threads: o.threads, runs, warmup: o.warmup,
    median_ms: med, p99_ms: percentile(t, 99), p999_ms: percentile(t, 99.9), mean_ms: mean,
    min_ms: t[0], max_ms: t[runs - 1], throughput_per_s: med > 0 ? batch * 1000 / med : 0,
    gflops: o.flops && med > 0 ? o.flops / (med * 1e6) : null,
    session_ms: sessionMs, session2_ms: session2Ms, session_cpu_ms: sessionCpuMs, session2_cpu_ms: session2CpuMs,
  };
  if (o.json) console.log(JSON.stringify(res));
  else {
    console.log(`model       ${o.model}`);
    console.log(`setup       onnxruntime-node ${version} (${api}), batch ${batch}, ${o.threads} thread(s), ${runs} timed runs after ${o.warmup} warm-up`);
    console.log(`latency     median ${med.toFixed(4)} ms   p99 ${res.p99_ms.toFixed(4)} ms   p99.9 ${res.p999_ms.toFixed(4)} ms   (min ${t[0].toFixed(4)}, mean ${mean.toFixed(4)})`);
    console.log(`throughput  ${res.throughput_per_s.toFixed(1)} images/s`);
    if (res.gflops !== null) console.log(`compute     ${res.gflops.toFixed(2)} GFLOP/s`);
    console.log(`session     created in ${sessionMs.toFixed(1)} ms (first in the process)` +
                (session2Ms !== null ? `, a second in ${session2Ms.toFixed(1)} ms` : ''));
  }
}

main().catch((e) => { console.error(`ort_bench: ${e.message}`); process.exit(1); });
