import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import path from "node:path";
import { copyStore, post, startServer } from "../support/server.ts";
import { ADAPTERHUB_FIXTURES } from "../support/paths.ts";

// The store is the truth: an adapter folder that appears under a running
// server is found on the next request, without a restart. (The catalog's
// caching rules themselves are unit-tested in test/unit/store/cache.test.ts.)

describe("hot add over HTTP", () => {
  test("an adapter copied into the store while the server runs is served on its first request", async () => {
    const store = copyStore(ADAPTERHUB_FIXTURES, () => true);
    const server = await startServer(store.dir);
    try {
      const body = { model: "bert-tiny", inputs: ["nice"], tasks: [{ adapters: "newcomer" }], options: { return_logits: true } };
      const missing = await post(`${server.url}/v1/predict`, body);
      assert.equal(missing.status, 404);
      cpSync(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment"), path.join(store.dir, "adapters/newcomer"), { recursive: true });
      const added = await post(`${server.url}/v1/predict`, body);
      assert.equal(added.status, 200, JSON.stringify(added.json));
      const reference = await post(`${server.url}/v1/predict`, { ...body, tasks: [{ adapters: "sentiment" }] });
      assert.deepEqual(added.json.results[0].outputs, reference.json.results[0].outputs);
    } finally {
      await server.close();
      store.cleanup();
    }
  });
});
