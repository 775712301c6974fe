#!/usr/bin/env node
// ort_run.js — runs a batch of small models under ONNX Runtime (onnxruntime-node, CPU) for
// gen_cases.py, which makes the models and reads the outputs back.
//
//   node tests/differential/ort_run.js JOBS.json
//
// JOBS.json: [{"model": "m.onnx", "inputs": [{"name", "type", "dims", "file"}],
//              "outdir": "DIR"}, ...]; each input file holds the raw little-endian values.
// For each job it writes DIR/ort.json ([{"name", "type", "dims", "file"}] of the outputs,
// the values raw in DIR/ort_out_<i>.bin) or DIR/ort_error.txt when ORT refuses the model.
// Sessions run on one thread with every graph optimisation off, so ORT's plain kernels
// are the reference. ORT is looked up in bench/ort/node_modules (bench/ort_install.sh),
// then $ORT_NODE, then the normal module path.
'use strict';
const fs = require('fs');
const path = require('path');

function loadOrt() {
  const tries = [path.join(__dirname, '..', '..', 'bench', 'ort', 'node_modules', 'onnxruntime-node'),
    process.env.ORT_NODE, 'onnxruntime-node'].filter(Boolean);
  for (const t of tries) {
    try { return require(t); } catch (e) { /* next */ }
  }
  throw new Error('onnxruntime-node not found (run: sh bench/ort_install.sh)');
}

const ARRAYS = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array, bool: Uint8Array,
  uint8: Uint8Array, int8: Int8Array };

function readRaw(file, type) {
  const buf = fs.readFileSync(file);
  const A = ARRAYS[type];
  if (!A) throw new Error(`${file}: type ${type} not supported`);
  const bytes = new Uint8Array(buf.length);
  bytes.set(buf);
  return new A(bytes.buffer, 0, buf.length / A.BYTES_PER_ELEMENT);
}

async function main() {
  if (process.argv.length !== 3) { console.error('usage: ort_run.js JOBS.json'); process.exit(2); }
  const ort = loadOrt();
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const opt = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'disabled',
    executionMode: 'sequential', executionProviders: ['cpu'], logSeverityLevel: 4 };
  let done = 0, refused = 0;
  for (const job of jobs) {
    try {
      const session = await ort.InferenceSession.create(job.model, opt);
      const feeds = {};
      for (const i of job.inputs) feeds[i.name] = new ort.Tensor(i.type, readRaw(i.file, i.type), i.dims);
      const res = await session.run(feeds);
      const outs = session.outputNames.map((name, k) => {
        const v = res[name];
        const file = path.join(job.outdir, `ort_out_${k}.bin`);
        const d = v.data;
        fs.writeFileSync(file, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
        return { name, type: v.type, dims: Array.from(v.dims, Number), file };
      });
      fs.writeFileSync(path.join(job.outdir, 'ort.json'), JSON.stringify(outs));
      if (session.release) await session.release();
      done++;
    } catch (e) {
      fs.writeFileSync(path.join(job.outdir, 'ort_error.txt'), String(e.message || e) + '\n');
      refused++;
    }
  }
  console.log(`ort_run: ${done} ran, ${refused} refused`);
}

main().catch((e) => { console.error(`ort_run: ${e.message}`); process.exit(1); });
