import { Catalog } from "../src/store/catalog.ts";
import { LocalStore } from "../src/store/local-store.ts";
import { WorkerPool } from "../src/engine/worker-pool.ts";
import { Engine } from "../src/engine/engine.ts";
import { DEFAULT_BATCH } from "../src/engine/batcher.ts";
const dir = "/tmp/lead/bb-store";
const pool = new WorkerPool({ threads: 1 });
const catalog = new Catalog(new LocalStore(dir));
const mk = (c: number) => { const e = new Engine(catalog, pool, { ...DEFAULT_BATCH, runCostTokens: c } as any); return e; };
const engines: Record<string, Engine> = { one: mk(1e9), cut: mk(80), cut40: mk(40), cut160: mk(160) };
const text = (i: number) => Array.from({ length: 80 }, (_, k) => ["the film was good", "the story was long", "a good film", "it was the best"][(i + k) % 4]).join(" ");
const R = Array.from({ length: 32 }, (_, i) => ({ i, tokens: 8 + ((i * 37) % 121), adapter: `a${i % 8}` }));
const work = (e: Engine) => Promise.all(R.map((r) => e.predict({ model: "random", inputs: [text(r.i)], tasks: [{ adapters: r.adapter }], options: { maxLength: r.tokens, returnLogits: true, returnHiddenStates: false, returnFusionAttention: false } } as any)));
for (const e of Object.values(engines)) await work(e);
const t: Record<string, number[]> = {};
for (let rep = 0; rep < 5; rep++) for (const [k, e] of Object.entries(engines)) { const s = performance.now(); await work(e); (t[k] ??= []).push(performance.now() - s); }
const med = (v: number[]) => [...v].sort((a, b) => a - b)[2];
for (const [k, v] of Object.entries(t)) console.log(k, med(v).toFixed(0), "ms", "ratio one/x", (med(t.one) / med(v)).toFixed(2));
// same numbers?
const a = await work(engines.one), b = await work(engines.cut);
let md = 0; a.forEach((x: any, i) => { const la = JSON.stringify(x); const lb = JSON.stringify(b[i]); const xa = JSON.parse(la).results[0].logits ?? []; const xb = JSON.parse(lb).results[0].logits ?? []; xa.flat(3).forEach((v: number, j: number) => md = Math.max(md, Math.abs(v - xb.flat(3)[j]))); });
console.log("max diff", md);
await pool.close();
