// A fusion with query and key is served from its folded W_q·W_k: folded once
// per loaded fusion, whichever engine serves it first, after which its query
// and key weights are let go (on bert-base they are 56 MB nobody reads).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Catalog } from "../../../src/store/catalog.ts";
import { LocalStore } from "../../../src/store/local-store.ts";
import { Engine } from "../../../src/engine/engine.ts";
import { WorkerPool } from "../../../src/engine/worker-pool.ts";
import { ADAPTERHUB_FIXTURES } from "../../support/paths.ts";

const request = { model: "bert-tiny", inputs: ["what a day", "rain again, all week"], tasks: [{ adapters: { fuse: ["sentiment", "topic", "formality"] } }], options: { maxLength: 64, returnLogits: true, returnHiddenStates: false, returnFusionAttention: true } };

test("a fusion is folded once for every engine on its catalog, then holds no query or key", async () => {
  const pool = new WorkerPool({ threads: 1 });
  try {
    const catalog = new Catalog(new LocalStore(ADAPTERHUB_FIXTURES));
    const model = await catalog.model("bert-tiny");
    const fusion = await catalog.fusion("sentiment-fusion", model);
    assert.ok([...fusion.weights.values()].every((p) => p.query && p.key), "loaded with query and key");
    // two engines start at once: the second takes its fold inputs before the first lets them go
    const [a, b] = await Promise.all([new Engine(catalog, pool).predict(request as never), new Engine(catalog, pool).predict(request as never)]);
    assert.ok(fusion.folded && fusion.folded.size === fusion.weights.size);
    assert.ok([...fusion.weights.values()].every((p) => p.query === null && p.key === null && p.value), "query and key dropped, value kept");
    assert.deepEqual(b.results, a.results);
    // a third engine, after the drop, serves from the fold with the same numbers
    assert.deepEqual((await new Engine(catalog, pool).predict(request as never)).results, a.results);
  } finally {
    await pool.close();
  }
});
