// `npm run bench:gpu [-- --precision fp16] [store-dir]`: polyhead's encoder on
// onnxruntime's CUDA provider, bert-base 8 rows × 128 tokens: latency and
// rows/s bare, with one adapter, with 8 different adapters in one batch, and
// with a fusion of 4. Refuses (exit code 2, one line naming what is missing)
// where onnxruntime-node has no usable CUDA provider: install it with
// ONNXRUNTIME_NODE_INSTALL=cuda12 on a CUDA 12 host (infra/Dockerfile.cuda).
//
// Not measured yet: no GPU run has been made (README, "GPU").

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { Engine, type PredictInput } from "../src/engine/engine.ts";
import { WorkerPool } from "../src/engine/worker-pool.ts";
import { Catalog } from "../src/store/catalog.ts";
import { LocalStore } from "../src/store/local-store.ts";
import type { Composition } from "../src/engine/composition.ts";
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

/** Why CUDA cannot be used here, or null when a session on it can be created. */
export async function cudaMissing(): Promise<string | null> {
  const backends = ort.listSupportedBackends();
  const cuda = backends.find((b) => b.name === "cuda");
  const list = backends.map((b) => `${b.name}${b.bundled ? "" : " (not bundled)"}`).join(", ");
  if (!cuda) return `this onnxruntime-node has no CUDA provider (backends: ${list})`;
  // A tiny graph on the device: the provider's shared libraries and a GPU must both be there.
  const { GraphBuilder } = await import("../src/graph/onnx-builder.ts");
  const g = new GraphBuilder();
  g.output(g.op("Relu", [g.input("x", "float32", [1])]), "y");
  try {
    const s = await ort.InferenceSession.create(g.encode(), { executionProviders: ["cuda"] });
    await s.release();
    return null;
  } catch (e) {
    return `onnxruntime's CUDA provider does not start here: ${(e instanceof Error ? e.message : String(e)).split("\n")[0].slice(0, 300)} (backends: ${list}; install with ONNXRUNTIME_NODE_INSTALL=cuda12 on a CUDA 12 host)`;
  }
}

async function main() {
  const { values, positionals } = parseArgs({ options: { precision: { type: "string", default: "fp32" } }, allowPositionals: true });
  const precision = values.precision!;
  if (!isPrecision(precision)) {
    log(`bench:gpu: --precision: expected ${PRECISIONS.join(" or ")}, got "${precision}"`);
    process.exit(2);
  }
  if (precision === "int8") {
    log("bench:gpu: --precision int8 runs on the CPU only (onnxruntime's DynamicQuantizeMatMul has no CUDA kernel); use fp32 or fp16");
    process.exit(2);
  }
  const missing = await cudaMissing();
  if (missing) {
    log(`bench:gpu: refusing to run: ${missing}`);
    process.exit(2);
  }
  let dir = positionals[0];
  const temp = !dir;
  if (!dir) {
    dir = mkdtempSync(path.join(os.tmpdir(), "polyhead-gpu-"));
    log(`writing a random bert-base-sized store in ${dir}…`);
    writeRandomStore(dir, STORE);
  }
  const pool = new WorkerPool({ threads: 1, device: "cuda" });
  try {
    const engine = new Engine(new Catalog(new LocalStore(dir)), pool, undefined, {}, true, precision);
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
    for (const [, r] of cases) for (let w = 0; w < WARMUPS; w++) await engine.predict(r);
    // rounds over every case, so drift touches them alike
    for (let i = 0; i < REPS; i++) {
      for (const [k, [, r]] of cases.entries()) {
        const t = performance.now();
        await engine.predict(r);
        times[k].push(performance.now() - t);
      }
    }
    process.stdout.write(`polyhead on CUDA (${precision}), bert-base ${ROWS}×${SEQ}, median of ${REPS}:\n`);
    for (const [k, [name]] of cases.entries()) {
      const m = median(times[k]);
      process.stdout.write(`  ${name.padEnd(26)} ${m.toFixed(1).padStart(8)} ms  ${((ROWS * 1000) / m).toFixed(0).padStart(6)} rows/s  (/ bare ${(m / median(times[0])).toFixed(3)}×)\n`);
    }
  } finally {
    await pool.close();
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
