// A server that may keep only a few compiled graphs still answers every
// composition shape, with the same numbers, and says on /metrics what it holds
// and what it released.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { get, post, startServer } from "../support/server.ts";
import { writeRandomStore } from "../support/random-store.ts";
import { ADAPTERHUB_FIXTURES } from "../support/paths.ts";

const SHAPES: unknown[] = ["sentiment", { stack: ["lang_en", "sentiment"] }, { fuse: ["sentiment", "topic", "formality"] }, "lora_sent", "nli", { parallel: ["sentiment", "ner"] }];

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);

test("--max-graphs bounds the compiled graphs; evicted shapes compile again and answer the same", async () => {
  const server = await startServer(ADAPTERHUB_FIXTURES, { maxGraphs: 3 });
  try {
    const ask = async (adapters: unknown) => {
      const r = await post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs: ["a fine day", "rain again"], tasks: [{ adapters }], options: { return_logits: true } });
      assert.equal(r.status, 200, r.text);
      return r.json.results;
    };
    const first = [];
    for (const s of SHAPES) first.push(await ask(s));
    const m1 = (await get(`${server.url}/metrics`)).text;
    assert.ok(metric(m1, "polyhead_graphs_loaded") <= 3, `held ${metric(m1, "polyhead_graphs_loaded")}`);
    assert.ok(metric(m1, "polyhead_graph_evictions") >= 1);
    assert.ok(metric(m1, "polyhead_graph_bytes") > 0);
    // every shape again, in the same order: each was released meanwhile and compiles anew
    for (const [i, s] of SHAPES.entries()) assert.deepEqual(await ask(s), first[i], JSON.stringify(s));
    const m2 = (await get(`${server.url}/metrics`)).text;
    assert.ok(metric(m2, "polyhead_graph_evictions") > metric(m1, "polyhead_graph_evictions"));
    assert.ok(metric(m2, "polyhead_graphs_loaded") <= 3);
  } finally {
    await server.close();
  }
});

test("--hot-graphs: a busy shape gets a prepacked session, counted on /metrics, with the same answers", async () => {
  const server = await startServer(ADAPTERHUB_FIXTURES, { hotGraphs: 1 });
  try {
    const ask = async (adapters: unknown) => {
      const r = await post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs: ["a fine day", "rain again"], tasks: [{ adapters }], options: { return_logits: true } });
      assert.equal(r.status, 200, r.text);
      return r.json.results;
    };
    const first = await ask("sentiment");
    const before = (await get(`${server.url}/metrics`)).text;
    assert.equal(metric(before, "polyhead_hot_graphs"), 0);
    // eight runs make a shape hot; the session is built between runs
    for (let i = 0; i < 20; i++) assert.deepEqual(await ask("sentiment"), first, `run ${i + 2}`);
    await ask("nli"); // another shape, run once: not hot
    const m = (await get(`${server.url}/metrics`)).text;
    assert.equal(metric(m, "polyhead_hot_graphs"), 1);
    assert.equal(metric(m, "polyhead_graph_promotions"), 1);
  } finally {
    await server.close();
  }
});

/** Proportional set size (RSS counts a file mapped by several sessions once per mapping; PSS counts its pages once). */
function pssMiB(): number {
  const t = readFileSync("/proc/self/smaps_rollup", "utf8");
  return Number(/^Pss:\s+(\d+)/m.exec(t)![1]) / 1024;
}

test("base weights: one copy however many composition shapes are compiled", async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "polyhead-shared-"));
  // ~100 MB of base weights: enough for a copy per graph to show
  writeRandomStore(dir, { hidden: 512, layers: 8, heads: 8, intermediate: 2048, maxPositions: 128, adapters: 4, fuse: 4 });
  const weightsMiB = 8 * (4 * 512 * 512 + 2 * 512 * 2048) * 4 / 2 ** 20;
  const shapes: unknown[] = ["a0", { stack: ["a0", "a1"] }, { fuse: ["a0", "a1", "a2", "a3"] }, { parallel: ["a0", "a1"] }, null, { stack: ["a0", "a1", "a2"] }, { average: ["a0", "a1"] }];
  const growth = async (shareWeights: boolean, n: number) => {
    const server = await startServer(dir, { shareWeights, models: ["random"] });
    try {
      const ask = async (adapters: unknown) => assert.equal((await post(`${server.url}/v1/predict`, { model: "random", inputs: ["hello there"], tasks: [{ adapters }] })).status, 200);
      await ask(shapes[0]);
      const first = pssMiB();
      for (const s of shapes.slice(1, n)) await ask(s);
      const last = pssMiB();
      return { added: last - first, ratio: last / first };
    } finally {
      await server.close();
    }
  };
  try {
    const { added: shared, ratio } = await growth(true, shapes.length);
    const { added: copies } = await growth(false, 3);
    t.diagnostic(`weights ${weightsMiB.toFixed(0)} MiB; shared: +${shared.toFixed(0)} MiB PSS over 6 more shapes (${ratio.toFixed(2)}x the first); a copy per graph: +${copies.toFixed(0)} MiB over 2 more`);
    assert.ok(ratio < 1.3, `PSS after 7 shapes is ${ratio.toFixed(2)}x PSS after the first`);
    assert.ok(copies > 1.5 * weightsMiB, `a copy per graph: +${copies.toFixed(0)} MiB for 2 more shapes (weights ${weightsMiB.toFixed(0)} MiB)`);
    // three times as many new shapes, still well under what two copies cost
    assert.ok(shared < 0.5 * copies, `shared: +${shared.toFixed(0)} MiB for 6 more shapes, copies: +${copies.toFixed(0)} MiB for 2`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
