import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Batcher, type RunOutputs } from "../../../src/engine/batcher.ts";
import type { Job, RowJob } from "../../../src/engine/plan.ts";
import { Catalog } from "../../../src/store/catalog.ts";
import { LocalStore } from "../../../src/store/local-store.ts";
import { Engine } from "../../../src/engine/engine.ts";
import { WorkerPool } from "../../../src/engine/worker-pool.ts";
import { ADAPTERHUB_FIXTURES } from "../../support/paths.ts";

// A run function that echoes each row's first token id at every position, so
// the test can see which row landed where.
function echoRun(calls: Job[]) {
  return async (job: Job): Promise<RunOutputs> => {
    calls.push(job);
    if (job.rows.some((r) => r.ids[0] === 666)) throw new Error("poisoned row");
    const T = Math.max(...job.rows.map((r) => r.ids.length));
    const data = new Float32Array(job.rows.length * T * 2);
    job.rows.forEach((r, i) => data.fill(r.ids[0], i * T * 2, (i + 1) * T * 2));
    return { last_hidden_state: { dims: [job.rows.length, T, 2], data } };
  };
}

const row = (id: number, len: number): RowJob => ({ ids: [id, ...Array(len - 1).fill(1)], types: Array(len).fill(0), positions: [...Array(len).keys()], members: [], averages: [], fused: {}, padTo: len });
const job = (key: string, rows: RowJob[]) => ({ key, rows, spec: { block: null, slots: [], averages: 0, embeddings: null }, model: {} as Job["model"] }) as Job;
const firstIds = (o: RunOutputs) => {
  const [n, T, w] = o.last_hidden_state.dims;
  return Array.from({ length: n }, (_, i) => o.last_hidden_state.data[i * T * w]);
};

describe("batcher", () => {
  test("concurrent jobs of one graph share runs; each gets its own rows back, in order", async () => {
    const calls: Job[] = [];
    const b = new Batcher(echoRun(calls), { maxRows: 4, maxTokens: 1000, maxWaitMs: 5 });
    const jobs = [job("g", [row(10, 9), row(11, 2)]), job("g", [row(20, 5)]), job("g", [row(30, 3), row(31, 8), row(32, 1)])];
    const outs = await Promise.all(jobs.map((j) => b.submit(j)));
    assert.deepEqual(outs.map(firstIds), [[10, 11], [20], [30, 31, 32]]);
    assert.equal(calls.length, 2, "6 rows at 4 rows a run");
    // sorted by length and cut where padding is least: the short rows run together
    assert.deepEqual(calls.map((c) => c.rows.map((r) => r.ids.length)), [[1, 2, 3], [5, 8, 9]]);
    assert.equal(outs[0].last_hidden_state.dims[1], 9, "padded to the job's longest row");
  });

  test("different graphs never share a run", async () => {
    const calls: Job[] = [];
    const b = new Batcher(echoRun(calls), { maxRows: 32, maxTokens: 1000, maxWaitMs: 5 });
    await Promise.all([b.submit(job("a", [row(1, 2)])), b.submit(job("b", [row(2, 2)])), b.submit(job("a", [row(3, 2)]))]);
    assert.deepEqual(calls.map((c) => c.rows.map((r) => r.ids[0])).sort(), [[1, 3], [2]]);
  });

  test("the token budget cuts runs", async () => {
    const calls: Job[] = [];
    const b = new Batcher(echoRun(calls), { maxRows: 32, maxTokens: 20, maxWaitMs: 5 });
    await b.submit(job("g", [row(1, 10), row(2, 10), row(3, 10)]));
    assert.deepEqual(calls.map((c) => c.rows.length), [2, 1]);
  });

  test("while a run is in flight, due jobs keep collecting and then run together", async () => {
    const calls: Job[] = [];
    const echo = echoRun(calls);
    const slow = async (j: Job) => {
      await new Promise((r) => setTimeout(r, 80));
      return echo(j);
    };
    const b = new Batcher(slow, { maxRows: 32, maxTokens: 1000, maxWaitMs: 2, concurrency: 1 });
    const first = b.submit(job("g", [row(1, 2)]));
    await new Promise((r) => setTimeout(r, 10)); // the first run is now in flight
    const later: Promise<RunOutputs>[] = [];
    for (const id of [2, 3, 4]) {
      later.push(b.submit(job("g", [row(id, 2)])));
      await new Promise((r) => setTimeout(r, 10)); // each one is due before the next arrives
    }
    await Promise.all([first, ...later]);
    assert.deepEqual(calls.map((c) => c.rows.map((r) => r.ids[0])), [[1], [2, 3, 4]]);
  });

  test("a job whose signal aborts while it waits is dropped from its batch; one already running finishes", async () => {
    const calls: Job[] = [];
    const echo = echoRun(calls);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const gated = async (j: Job) => {
      await gate;
      return echo(j);
    };
    const b = new Batcher(gated, { maxRows: 32, maxTokens: 1000, maxWaitMs: 2, concurrency: 1 });
    const running = new AbortController();
    const first = b.submit(job("g", [row(1, 2)]), running.signal);
    await new Promise((r) => setTimeout(r, 10)); // the first run is in flight, held by the gate
    const gone = new AbortController();
    const waiting = [b.submit(job("g", [row(2, 2)]), gone.signal), b.submit(job("g", [row(3, 2)]))];
    await new Promise((r) => setTimeout(r, 10));
    gone.abort("client gone");
    running.abort("too late");
    await assert.rejects(waiting[0], (e) => e === "client gone");
    release();
    assert.deepEqual(firstIds(await first), [1], "a running job is not cancelled");
    assert.deepEqual(firstIds(await waiting[1]), [3]);
    assert.deepEqual(calls.map((c) => c.rows.map((r) => r.ids[0])), [[1], [3]], "the dropped job never ran");
    const aborted = new AbortController();
    aborted.abort("already");
    await assert.rejects(b.submit(job("g", [row(4, 2)]), aborted.signal));
  });

  test("one job's failure never fails its neighbours", async () => {
    const b = new Batcher(echoRun([]), { maxRows: 32, maxTokens: 1000, maxWaitMs: 5 });
    const results = await Promise.allSettled([b.submit(job("g", [row(5, 3)])), b.submit(job("g", [row(666, 3)])), b.submit(job("g", [row(7, 4)]))]);
    assert.equal(results[0].status, "fulfilled");
    assert.equal(results[1].status, "rejected");
    assert.equal(results[2].status, "fulfilled");
    assert.deepEqual(firstIds((results[2] as PromiseFulfilledResult<RunOutputs>).value), [7]);
  });
});

test("concurrent requests for different adapters run together and get the numbers they get alone", async () => {
  const pool = new WorkerPool({ threads: 1 });
  try {
    const engine = new Engine(new Catalog(new LocalStore(ADAPTERHUB_FIXTURES)), pool, { maxRows: 64, maxTokens: 8192, maxWaitMs: 20 });
    const adapters = ["sentiment", "topic", "formality", "toxicity", "ner", "sentiment", "topic", "formality"];
    const req = (a: string, text: string) => ({ model: "bert-tiny", inputs: [text], tasks: [{ adapters: a }], options: { maxLength: 32, returnLogits: true, returnHiddenStates: false, returnFusionAttention: false } });
    const texts = adapters.map((_, i) => `request number ${i} is ${"long ".repeat(i)}`);
    const alone: Awaited<ReturnType<Engine["predict"]>>[] = [];
    for (const [i, a] of adapters.entries()) alone.push(await engine.predict(req(a, texts[i])));
    let runs = 0;
    engine.onRun = () => runs++;
    const together = await Promise.all(adapters.map((a, i) => engine.predict(req(a, texts[i]))));
    assert.ok(runs < adapters.length, `${runs} encoder runs for ${adapters.length} requests`);
    together.forEach((t, i) => {
      const got = t.results[0].outputs[0].logits as number[] | number[][];
      const want = alone[i].results[0].outputs[0].logits as number[] | number[][];
      assert.ok(Math.max(...got.flat().map((x, k) => Math.abs(x - want.flat()[k]))) < 1e-5, `request ${i}`);
    });
  } finally {
    await pool.close();
  }
});

test("fusions of 3 and 4 adapters share one graph (empty slots masked) and mix in one batch", async () => {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const os = await import("node:os");
  const path = await import("node:path");
  const { writeRandomStore } = await import("../../support/random-store.ts");
  const dir = mkdtempSync(path.join(os.tmpdir(), "polyhead-fuse-"));
  writeRandomStore(dir, { hidden: 32, layers: 2, heads: 2, intermediate: 64, maxPositions: 64, adapters: 4, fusions: [{ name: "f3", adapters: 3 }, { name: "f4", adapters: 4 }] });
  const pool = new WorkerPool({ threads: 1 });
  try {
    const engine = new Engine(new Catalog(new LocalStore(dir)), pool, { maxRows: 64, maxTokens: 8192, maxWaitMs: 20 });
    const req = (fusion: string, n: number) => ({
      model: "random", inputs: ["the film was good", "a long and dull day"],
      tasks: [{ adapters: { fuse: ["a0", "a1", "a2", "a3"].slice(0, n), fusion } }],
      options: { maxLength: 32, returnLogits: true, returnHiddenStates: false, returnFusionAttention: true },
    });
    const alone3 = await engine.predict(req("f3", 3));
    const alone4 = await engine.predict(req("f4", 4));
    assert.equal(engine.compiledGraphs, 1, "one graph for both fusion sizes");
    const attn = alone3.results[0].outputs[0].fusion_attention as Record<string, Record<string, number[][]>>;
    for (const tok of attn["0"].output_adapter) {
      assert.equal(tok.length, 3, "the padded slot is not reported");
      assert.ok(Math.abs(tok.reduce((a, b) => a + b, 0) - 1) < 1e-5, "the real adapters' weights sum to 1");
    }
    let runs = 0;
    engine.onRun = () => runs++;
    const [both3, both4] = await Promise.all([engine.predict(req("f3", 3)), engine.predict(req("f4", 4))]);
    assert.equal(runs, 1, "one run for both");
    assert.deepEqual(both3.results[0].outputs.map((o) => o.label), alone3.results[0].outputs.map((o) => o.label));
    const close = (a: any, b: any) => Math.max(...(a.results[0].outputs as any[]).flatMap((o, i) => (o.logits as number[]).map((x, k) => Math.abs(x - b.results[0].outputs[i].logits[k]))));
    assert.ok(close(both3, alone3) < 1e-5 && close(both4, alone4) < 1e-5);
    assert.ok(close(alone3, alone4) > 1e-4, "the two fusions really differ");
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
