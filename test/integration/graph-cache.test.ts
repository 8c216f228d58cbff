// A server that may keep only a few compiled graphs still answers every
// composition shape, with the same numbers, and says on /metrics what it holds
// and what it released.
import { test } from "node:test";
import assert from "node:assert/strict";
import { get, post, startServer } from "../support/server.ts";
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
