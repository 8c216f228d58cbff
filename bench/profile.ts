// `npx tsx bench/profile.ts [store-dir]`: where an 8×128 run's time goes, for
// the graphs `npm run bench` compares (bare, one adapter, 8 adapters gathered
// per row, fusion of 4). For each: buildFeeds, a plain onnxruntime
// session.run of the engine's own ONNX bytes in this thread (no worker, no
// heads, no JSON), and onnxruntime's per-op profile, summed by op type.
// Pass the folder of a store kept with BENCH_KEEP=1 to skip writing one.
// BENCH_QUICK=1 for the small model.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { Catalog } from "../src/store/catalog.ts";
import { LocalStore } from "../src/store/local-store.ts";
import { buildFeeds, planJobs, type Resolved } from "../src/engine/plan.ts";
import { buildEncoder } from "../src/graph/encoder.ts";
import { Engine } from "../src/engine/engine.ts";
import { WorkerPool } from "../src/engine/worker-pool.ts";
import { writeRandomStore, type RandomStoreOptions } from "../test/support/random-store.ts";

const QUICK = process.env.BENCH_QUICK === "1";
const REPS = Number(process.env.PROFILE_REPS ?? 5);
const STORE: RandomStoreOptions = QUICK
  ? { hidden: 256, layers: 4, heads: 4, intermediate: 1024, maxPositions: 512, adapters: 8, reductionFactor: 16, fuse: 4, seed: 7 }
  : { hidden: 768, layers: 12, heads: 12, intermediate: 3072, maxPositions: 512, adapters: 8, reductionFactor: 16, fuse: 4, seed: 7 };

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const log = (s: string) => process.stderr.write(`${s}\n`);

async function main() {
  let dir = process.argv[2];
  let temp = false;
  if (!dir || !existsSync(dir)) {
    dir = mkdtempSync(path.join(os.tmpdir(), "polyhead-profile-"));
    temp = true;
    log(`writing store in ${dir}…`);
    writeRandomStore(dir, STORE);
  }
  try {
    const catalog = new Catalog(new LocalStore(dir));
    const model = await catalog.model("random");
    const text = Array.from({ length: 80 }, () => "the film was good").join(" ");
    const inputs = Array.from({ length: 8 }, () => text);
    const enc = model.tokenizer.encodeBatch(inputs, 128);
    const rows = inputs.map((_, i) => i);
    const ad = async (n: string): Promise<Resolved> => ({ t: "adapter", adapter: await catalog.adapter(n, model) });
    // The engine folds a fusion's query and key weights when it first resolves it.
    const pool = new WorkerPool({ threads: 1 });
    const engine = new Engine(catalog, pool);
    const fusion = await catalog.fusion("fusion", model);
    const member = await engine.fusionMember(fusion);
    await pool.close();
    const cases: { name: string; branches: { rows: number[]; chain: Resolved | null }[] }[] = [
      { name: "bare", branches: [{ rows, chain: null }] },
      { name: "a0", branches: [{ rows, chain: await ad("a0") }] },
      { name: "8 adapters", branches: await Promise.all(rows.map(async (r) => ({ rows: [r], chain: await ad(`a${r}`) }))) },
      { name: "fuse4", branches: [{ rows, chain: { t: "fuse", fusion, member, children: await Promise.all([0, 1, 2, 3].map((i) => ad(`a${i}`))) } }] },
    ];
    const opts: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: "all", intraOpNumThreads: os.availableParallelism(), executionProviders: ["cpu"] };
    const prepared = [];
    for (const c of cases) {
      const jobs = planJobs(model, c.branches.map((b) => ({ ...b, embeddings: null, head: null })), enc);
      if (jobs.length !== 1) throw new Error(`${c.name}: ${jobs.length} jobs`);
      const job = jobs[0].job;
      const tf = performance.now();
      const { feeds, uniform } = buildFeeds(job);
      const feedsMs = performance.now() - tf;
      const tb = performance.now();
      const built = buildEncoder(model.family, model.config, model.weights, { ...job.spec, uniform });
      const buildMs = performance.now() - tb;
      const ts = performance.now();
      const session = await ort.InferenceSession.create(built.bytes, opts);
      const sessionMs = performance.now() - ts;
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [k, f] of Object.entries(feeds)) if (built.inputs.has(k)) ortFeeds[k] = new ort.Tensor(f.type, f.data, f.dims);
      const feedBytes = Object.values(ortFeeds).reduce((n, t) => n + (t.data as ArrayBufferView).byteLength, 0);
      await session.run(ortFeeds); // warm-up
      await session.run(ortFeeds);
      prepared.push({ name: c.name, session, ortFeeds, feedsMs, buildMs, sessionMs, feedBytes, bytes: built.bytes, samples: [] as number[] });
      log(`${c.name}: buildFeeds ${feedsMs.toFixed(1)} ms (${(feedBytes / 1e6).toFixed(1)} MB of feeds), buildEncoder ${buildMs.toFixed(0)} ms, session ${sessionMs.toFixed(0)} ms`);
    }
    // interleaved plain session.run
    for (let i = 0; i < REPS; i++) {
      for (const p of prepared) {
        const t = performance.now();
        await p.session.run(p.ortFeeds);
        p.samples.push(performance.now() - t);
      }
      log(`  rep ${i + 1}/${REPS}: ${prepared.map((p) => `${p.name} ${p.samples[i].toFixed(0)}`).join(", ")}`);
    }
    const base = median(prepared[1].samples);
    log("\nplain session.run, 8×128, median (ratio to a0):");
    for (const p of prepared) log(`  ${p.name.padEnd(12)} ${median(p.samples).toFixed(0).padStart(6)} ms  ${(median(p.samples) / base).toFixed(3)}×`);

    // onnxruntime's own per-node profile: one profiling session per graph, runs
    // interleaved, per-op time summed per run, median over the runs.
    const PROFILE_RUNS = Number(process.env.PROFILE_RUNS ?? 3);
    log(`\nonnxruntime profile (${PROFILE_RUNS} interleaved runs each), median ms per run by op type:`);
    type Ev = { cat: string; name: string; ts: number; dur: number; args?: { op_name?: string } };
    const profiled = [];
    for (const p of prepared) {
      const prefix = path.join(os.tmpdir(), `polyhead-prof-${process.pid}-${p.name.replace(/\W/g, "")}`);
      const s = await ort.InferenceSession.create(p.bytes, { ...opts, enableProfiling: true, profileFilePrefix: prefix });
      await s.run(p.ortFeeds); // warm-up, left out below
      profiled.push({ p, s, prefix });
    }
    for (let i = 0; i < PROFILE_RUNS; i++) for (const { p, s } of profiled) await s.run(p.ortFeeds);
    const byOp: Record<string, Record<string, number>> = {};
    for (const { p, s, prefix } of profiled) {
      s.endProfiling();
      await s.release();
      const file = latestFile(prefix);
      const events = JSON.parse(readFileSync(file, "utf8")) as Ev[];
      rmSync(file);
      const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run").sort((a, b) => a.ts - b.ts).slice(1);
      const perRun = runs.map(() => ({}) as Record<string, number>);
      for (const e of events) {
        if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
        const k = runs.findIndex((r) => e.ts >= r.ts && e.ts <= r.ts + r.dur);
        if (k < 0) continue;
        const op = e.args?.op_name ?? "?";
        perRun[k][op] = (perRun[k][op] ?? 0) + e.dur / 1000;
      }
      const ops = new Set(perRun.flatMap((r) => Object.keys(r)));
      byOp[p.name] = Object.fromEntries([...ops].map((op) => [op, median(perRun.map((r) => r[op] ?? 0))]));
      byOp[p.name]["(model_run)"] = median(runs.map((r) => r.dur / 1000));
    }
    const ops = [...new Set(Object.values(byOp).flatMap((a) => Object.keys(a)))].filter((o) => o !== "(model_run)").sort((x, y) => (byOp.fuse4[y] ?? 0) - (byOp.fuse4[x] ?? 0));
    log(`  ${"op".padEnd(24)}${prepared.map((p) => p.name.padStart(12)).join("")}`);
    for (const op of ops) log(`  ${op.padEnd(24)}${prepared.map((p) => (byOp[p.name][op] ?? 0).toFixed(1).padStart(12)).join("")}`);
    log(`  ${"(model_run)".padEnd(24)}${prepared.map((p) => byOp[p.name]["(model_run)"].toFixed(1).padStart(12)).join("")}`);
    for (const p of prepared) await p.session.release();
  } finally {
    if (temp) rmSync(dir, { recursive: true, force: true });
  }
}

function latestFile(prefix: string): string {
  const d = path.dirname(prefix);
  const base = path.basename(prefix);
  const files = readdirSync(d).filter((f) => f.startsWith(base) && f.endsWith(".json")).map((f) => path.join(d, f));
  if (!files.length) throw new Error(`no profile file ${prefix}*.json`);
  return files.sort().at(-1)!;
}

main().catch((e) => {
  log(`profile failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
