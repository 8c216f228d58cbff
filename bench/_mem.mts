import { readFileSync } from "node:fs";
import { Catalog } from "../src/store/catalog.ts";
import { LocalStore } from "../src/store/local-store.ts";
import { WorkerPool } from "../src/engine/worker-pool.ts";
import { Engine } from "../src/engine/engine.ts";
import { shapes } from "./memory.ts";
const pool = new WorkerPool({ threads: 1 });
const engine = new Engine(new Catalog(new LocalStore("/tmp/lead/bb-store")), pool);
const pss = () => { const t = readFileSync("/proc/self/smaps_rollup", "utf8"); const g = (k: string) => Math.round(Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(t)![1]) / 1024); return `PSS ${g("Pss")} anon ${g("Anonymous")} shClean ${g("Shared_Clean")} privDirty ${g("Private_Dirty")}`; };
const mu = () => { const m = process.memoryUsage(); return `heap ${(m.heapUsed / 2 ** 20).toFixed(0)} ext ${(m.external / 2 ** 20).toFixed(0)} ab ${(m.arrayBuffers / 2 ** 20).toFixed(0)}`; };
for (const [name, c] of shapes(["a0", "a1", "a2", "a3"])) {
  await engine.predict({ model: "random", inputs: ["the film was good", "a good film it was"], tasks: [c === null ? { adapters: null, head: "a0" } : { adapters: c }], options: { maxLength: 128, returnLogits: false, returnHiddenStates: false, returnFusionAttention: false } } as any);
  (globalThis as any).gc?.();
  console.log(name.padEnd(14), pss(), mu());
}
await pool.close();
