// temp measurement script (not committed)
import { existsSync } from "node:fs";
import { writeRandomStore } from "../test/support/random-store.ts";
import { Catalog } from "../src/store/catalog.ts";
import { LocalStore } from "../src/store/local-store.ts";
import { WorkerPool } from "../src/engine/worker-pool.ts";
import { Engine } from "../src/engine/engine.ts";
const dir = "/tmp/lead/bb-store";
if (!existsSync(dir)) writeRandomStore(dir, { hidden: 768, layers: 12, heads: 12, intermediate: 3072, maxPositions: 512, adapters: 8, reductionFactor: 16, fuse: 4, seed: 7 });
const pool = new WorkerPool({ threads: 1 });
const engine = new Engine(new Catalog(new LocalStore(dir)), pool);
const runs: number[] = [];
engine.onRun = (i: any) => runs.push(i.ms);
const text = (i: number) => Array.from({ length: 80 }, (_, k) => ["the film was good", "the story was long", "a good film", "it was the best"][(i + k) % 4]).join(" ");
const req = (rows: number, len: number) => ({ model: "random", inputs: Array.from({ length: rows }, (_, i) => text(i)), tasks: [{ adapters: "a0" }], options: { maxLength: len, returnLogits: false, returnHiddenStates: false, returnFusionAttention: false } });
const shapes = [[1, 8], [1, 16], [1, 32], [1, 64], [1, 128], [2, 32], [4, 32], [8, 16], [4, 64], [8, 64], [8, 128]];
for (const [r, l] of shapes) await engine.predict(req(r, l) as any);
const res: Record<string, number[]> = {};
for (let rep = 0; rep < 5; rep++) for (const [r, l] of shapes) { runs.length = 0; await engine.predict(req(r, l) as any); (res[`${r}x${l}`] ??= []).push(runs.reduce((a, b) => a + b, 0)); }
for (const [k, v] of Object.entries(res)) { v.sort((a, b) => a - b); const [r, l] = k.split("x").map(Number); console.log(k, "tokens", r * l, "median ms", v[2].toFixed(1), "ms/token", (v[2] / (r * l)).toFixed(3)); }
await pool.close();
