// `npm run bench:gpu [-- --device cuda|webgpu] [--precision fp32|fp16] [store-dir]`: polyhead's encoder on a
// GPU, bert-base 8 rows × 128 tokens: latency and rows/s bare, with one adapter, with 8 different adapters in
// one batch, and with a fusion of 4; then, once per case, the largest difference of the hidden states from the
// same request on the CPU. Refuses (exit code 2, one line naming what is missing) where the device cannot start:
// `cuda` needs onnxruntime's CUDA provider (ONNXRUNTIME_NODE_INSTALL=cuda12 on a CUDA 12 host,
// infra/Dockerfile.cuda); `webgpu` ships in the npm package and needs a Vulkan driver and libvulkan.so.1.
//
// Figures from a GPU run: README, "GPU".

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Engine, type PredictInput } from "../src/engine/engine.ts";
import { WorkerPool } from "../src/engine/worker-pool.ts";
import { Catalog } from "../src/store/catalog.ts";
import { LocalStore } from "../src/store/local-store.ts";
import type { Composition } from "../src/engine/composition.ts";
import { GPUS, isDevice, isGpu } from "../src/engine/session-options.ts";
import { probeDevice } from "../src/engine/probe-device.ts";
import { PRECISIONS, isPrecision } from "../src/graph/quantize.ts";
import { writeRandomStore, type RandomStoreOptions } from "../test/support/random-store.ts";

const STORE: RandomStoreOptions = { hidden: 768, layers: 12, heads: 12, intermediate: 3072, maxPositions: 512, adapters: 8, reductionFactor: 16, fuse: 4, seed: 7 };
const ROWS = 8;
const SEQ = 128;
const WARMUPS = 3;
const REPS = 20;
const log = (s: string) => process.stderr.write(`${s}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Every number in an answer, in order, so two devices' answers can be compared element by element. */
function numbers(x: unknown, out: number[] = []): number[] {
  if (typeof x === "number") out.push(x);
  else if (Array.isArray(x)) for (const v of x) numbers(v, out);
  else if (x && typeof x === "object") for (const v of Object.values(x)) numbers(v, out);
  return out;
}

async function main() {
  const { values, positionals } = parseArgs({ options: { precision: { type: "string", default: "fp32" }, device: { type: "string", default: "cuda" } }, allowPositionals: true });
  const precision = values.precision!;
  const device = values.device!;
  if (!isDevice(device) || !isGpu(device)) {
    log(`bench:gpu: --device: expected ${Object.keys(GPUS).join(" or ")}, got "${device}"`);
    process.exit(2);
  }
  if (!isPrecision(precision)) {
    log(`bench:gpu: --precision: expected ${PRECISIONS.join(" or ")}, got "${precision}"`);
    process.exit(2);
  }
  if (precision === "int8") {
    log("bench:gpu: --precision int8 runs on the CPU only (onnxruntime's DynamicQuantizeMatMul has no GPU kernel); use fp32 or fp16");
    process.exit(2);
  }
  // the server's own start-up check: one tiny graph on the device
  const pool = new WorkerPool({ threads: 1, device });
  try {
    await probeDevice(pool);
  } catch (e) {
    log(`bench:gpu: refusing to run: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
    await pool.close();
    process.exit(2);
  }
  let dir = positionals[0];
  const temp = !dir;
  if (!dir) {
    dir = mkdtempSync(path.join(os.tmpdir(), "polyhead-gpu-"));
    log(`writing a random bert-base-sized store in ${dir}…`);
    writeRandomStore(dir, STORE);
  }
  const cpuPool = new WorkerPool({ threads: 1, intraOpThreads: Math.min(8, os.availableParallelism()) });
  try {
    // the encoder's share of each request: its runs on the worker, the round trip included
    let encoderMs = 0;
    const catalog = new Catalog(new LocalStore(dir));
    const engine = new Engine(catalog, pool, undefined, { onRun: (info) => (encoderMs += info.ms) }, true, precision);
    const cpu = new Engine(catalog, cpuPool, undefined, {}, true, "fp32");
    const text = (i: number) => Array.from({ length: 80 }, (_, k) => ["the film was good", "the story was long", "a good film", "it was the best"][(i + k) % 4]).join(" ");
    const inputs = Array.from({ length: ROWS }, (_, i) => text(i));
    const req = (adapters: Composition | null): PredictInput => ({ model: "random", inputs, tasks: [{ adapters }], options: { maxLength: SEQ, returnLogits: false, returnHiddenStates: false, returnFusionAttention: false } });
    const adapters = Array.from({ length: 8 }, (_, i) => `a${i}`);
    const cases: [string, PredictInput][] = [
      ["bare (no adapter)", req(null)],
      ["one adapter", req("a0")],
      ["8 adapters (batch_split)", req({ batch_split: adapters, sizes: Array(ROWS).fill(1) } as Composition)],
      ["fusion of 4", req({ fuse: adapters.slice(0, 4) } as Composition)],
    ];
    const times: number[][] = cases.map(() => []);
    const encoder: number[][] = cases.map(() => []);
    for (const [, r] of cases) for (let w = 0; w < WARMUPS; w++) await engine.predict(r);
    // rounds over every case, so drift touches them alike
    for (let i = 0; i < REPS; i++) {
      for (const [k, [, r]] of cases.entries()) {
        encoderMs = 0;
        const t = performance.now();
        await engine.predict(r);
        times[k].push(performance.now() - t);
        encoder[k].push(encoderMs);
      }
    }
    // the same requests with the hidden states returned, on the device and on the CPU at fp32
    const deltas: number[] = [];
    for (const [, r] of cases) {
      const withHidden = { ...r, options: { ...r.options, returnHiddenStates: true } };
      const [a, b] = [numbers((await engine.predict(withHidden)).results), numbers((await cpu.predict(withHidden)).results)];
      if (a.length !== b.length || a.length === 0) throw new Error(`the device answered ${a.length} numbers, the CPU ${b.length}`);
      deltas.push(a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0));
    }
    process.stdout.write(`polyhead on ${device} (${precision}), bert-base ${ROWS}×${SEQ}, median of ${REPS}; max |Δ| of the hidden states against the CPU at fp32:\n`);
    for (const [k, [name]] of cases.entries()) {
      const m = median(times[k]);
      process.stdout.write(`  ${name.padEnd(26)} ${m.toFixed(1).padStart(8)} ms  ${((ROWS * 1000) / m).toFixed(0).padStart(6)} rows/s  (/ bare ${(m / median(times[0])).toFixed(3)}×)  encoder ${median(encoder[k]).toFixed(1)} ms  max |Δ| ${deltas[k].toExponential(2)}\n`);
    }
  } finally {
    await Promise.all([pool.close(), cpuPool.close()]);
    if (temp) rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    log(`bench:gpu failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
