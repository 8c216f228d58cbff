// `npx tsx bench/int8-speed.ts`: --precision int8 against fp32 and against
// AdapterHub, one adapter, 8 rows × 128 tokens, on the bert-base-sized random
// store of `npm run bench` — the int8 rows of that bench alone, in a few
// minutes instead of its full run. Sides rotate every repetition after one
// warm-up each; medians and paired ratios. POLYHEAD_REFERENCE_PYTHON (a python
// with adapter-transformers 3.2.1) adds AdapterHub's side; BENCH_QUICK=1 the
// small model; BENCH_REPS (default 5).

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Engine, type PredictInput } from "../src/engine/engine.ts";
import { DEFAULT_BATCH } from "../src/engine/batcher.ts";
import { WorkerPool } from "../src/engine/worker-pool.ts";
import { Catalog } from "../src/store/catalog.ts";
import { LocalStore } from "../src/store/local-store.ts";
import { writeRandomStore, type RandomStoreOptions } from "../test/support/random-store.ts";
import { startReferenceProcess } from "./reference.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const QUICK = process.env.BENCH_QUICK === "1";
const REPS = Number(process.env.BENCH_REPS ?? 5);
const PYTHON = process.env.POLYHEAD_REFERENCE_PYTHON || null;
const STORE: RandomStoreOptions = QUICK
  ? { hidden: 256, layers: 4, heads: 4, intermediate: 1024, maxPositions: 512, adapters: 1, reductionFactor: 16, seed: 7 }
  : { hidden: 768, layers: 12, heads: 12, intermediate: 3072, maxPositions: 512, adapters: 1, reductionFactor: 16, seed: 7 };
const ROWS = 8;
const SEQ = 128;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const log = (s: string) => process.stderr.write(`${s}\n`);

function text(i: number): string {
  const words = ["the film was good", "the story was long", "a good film", "it was the best"];
  return Array.from({ length: 80 }, (_, k) => words[(i + k) % words.length]).join(" ");
}

const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, i) => row.map((x, j) => Math.abs(x - b[i][j]))));

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "polyhead-int8-"));
  const closers: (() => unknown)[] = [];
  try {
    log(`writing a random ${QUICK ? "small" : "bert-base-sized"} store (hidden ${STORE.hidden}, ${STORE.layers} layers) in ${dir}…`);
    writeRandomStore(dir, STORE);
    const catalog = new Catalog(new LocalStore(dir));
    const pool = new WorkerPool({ threads: 1 });
    closers.push(() => pool.close());
    const engines = {
      fp32: new Engine(catalog, pool),
      int8: new Engine(catalog, pool, DEFAULT_BATCH, {}, true, "int8"),
      // each graph with its own prepacked int8 weights (onnxruntime cannot prepack the shared, mapped ones)
      "int8, --share-weights false": new Engine(catalog, pool, DEFAULT_BATCH, {}, false, "int8"),
    };
    const inputs = Array.from({ length: ROWS }, (_, i) => text(i));
    const request: PredictInput = { model: "random", inputs, tasks: [{ adapters: "a0" }], options: { maxLength: SEQ, returnLogits: true, returnHiddenStates: false, returnFusionAttention: false } };
    const logits: Record<string, number[][]> = {};
    const sides: Record<string, () => Promise<number>> = {};
    for (const [name, engine] of Object.entries(engines)) {
      sides[name] = async () => {
        const t = performance.now();
        const out = await engine.predict(request);
        const ms = performance.now() - t;
        logits[name] = out.results[0].outputs.map((o) => (o as { logits: number[] }).logits);
        return ms;
      };
    }
    if (PYTHON) {
      const model = await catalog.model("random");
      const enc = model.tokenizer.encodeBatch(inputs, SEQ);
      const file = path.join(dir, "inputs.json");
      writeFileSync(file, JSON.stringify({ input_ids: enc.inputIds.map((r, i) => r.slice(0, enc.length[i])), realistic: [] }));
      const ref = await startReferenceProcess(PYTHON, path.join(HERE, "..", "tools/adapterhub/bench_encoder.py"), [dir, "random", file]);
      closers.push(() => ref.close());
      log(`AdapterHub ${ref.ready.transformers} (torch ${ref.ready.torch}), torch threads ${ref.ready.threads}`);
      sides.AdapterHub = async () => {
        const res = await ref.ask({ case: "one", reps: 1 }, "one");
        logits.AdapterHub = res.logits;
        return res.ms[0];
      };
    }
    const names = Object.keys(sides);
    const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (const n of names) log(`warm-up ${n}: ${(await sides[n]()).toFixed(0)} ms`);
    for (let r = 0; r < REPS; r++) {
      // rotate the order, so no side always follows the same one
      const order = names.map((_, i) => names[(i + r) % names.length]);
      const line: string[] = [];
      for (const n of order) {
        const ms = await sides[n]();
        samples[n].push(ms);
        line.push(`${n} ${ms.toFixed(0)}`);
      }
      log(`rep ${r + 1}/${REPS}: ${line.join(", ")}`);
    }
    const paired = (a: string, b: string) => median(samples[a].map((x, i) => x / samples[b][i]));
    const out = [`one adapter, ${ROWS}×${SEQ}, ${QUICK ? "small model" : "bert-base"}, medians of ${REPS} (ratios paired per repetition)`, "", "| side | ms | fp32 / side | AdapterHub / side | max \\|Δ logit\\| vs fp32 |", "|---|---:|---:|---:|---:|"];
    for (const n of names) {
      const vsRef = PYTHON ? `${paired("AdapterHub", n).toFixed(2)}×` : "–";
      out.push(`| ${n} | ${median(samples[n]).toFixed(0)} | ${paired("fp32", n).toFixed(2)}× | ${vsRef} | ${maxDiff(logits[n], logits.fp32).toExponential(1)} |`);
    }
    console.log(out.join("\n"));
  } finally {
    for (const c of closers.reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    log(`int8 bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
