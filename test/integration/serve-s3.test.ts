import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { readSafetensors, writeSafetensors } from "../../src/formats/safetensors.ts";
import path from "node:path";
import { push } from "../../src/cli/push.ts";
import { S3Store } from "../../src/store/s3-store.ts";
import type { RunningServer } from "../../src/server/serve.ts";
import { ADAPTERHUB_FIXTURES, ADAPTERHUB_STORE } from "../support/paths.ts";
import { goldenStores } from "../support/cases.ts";
import { checkGoldenAt } from "../support/check.ts";
import { startS3, withEnv, type TestS3 } from "../support/s3.ts";
import { copyStore, post, startServer } from "../support/server.ts";

// The server over s3://: the AdapterHub golden store (test/fixtures/adapterhub) pushed into a real
// S3-protocol server, every golden case over HTTP, and the store going away
// and coming back under a running server.

const LOCATION = "s3://polyhead/golden";
const folders = (kind: string) => readdirSync(path.join(ADAPTERHUB_FIXTURES, kind)).sort().map((f) => path.join(ADAPTERHUB_FIXTURES, kind, f));

describe("serving from S3", () => {
  let s3: TestS3;
  let server: RunningServer;
  let restoreEnv = () => {};

  before(async () => {
    s3 = await startS3();
    const bucket = new S3Store(LOCATION, { endpoint: s3.endpoint, credentials: s3.credentials });
    try {
      const quiet = { store: bucket, quiet: true };
      await push([...folders("models"), ...folders("adapters"), ...folders("fusions")], quiet, () => {});
      // a copy no golden case loads, to ask for while the store is away
      await push([path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment")], { ...quiet, as: "sentiment-copy" }, () => {});
    } finally {
      bucket.close();
    }
    // The server finds the endpoint and keys as a deployed one would: in the AWS environment.
    restoreEnv = withEnv(s3.env);
    server = await startServer(LOCATION, { ttlSeconds: 1 });
  });
  after(async () => {
    await server?.close();
    restoreEnv();
    await s3?.dispose();
  });

  const adapterhub = goldenStores().find((s) => s.name === ADAPTERHUB_STORE)!;
  for (const c of adapterhub.cases) {
    test(c.id, async () => {
      await checkGoldenAt(server.url, c);
    });
  }

  test("the store goes away: loaded adapters keep serving, new ones answer 503 at once; then it comes back", async () => {
    const ask = (adapter: string) =>
      post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs: ["what a wonderful film"], tasks: [{ adapters: adapter }] });
    await s3.stop();
    try {
      assert.equal((await ask("sentiment")).status, 200, "served from what is loaded");
      const t0 = Date.now();
      const away = await ask("sentiment-copy");
      assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
      assert.equal(away.status, 503, JSON.stringify(away.json));
      assert.match(away.json.detail ?? away.json.title, /cannot reach the store|unavailable/i);
    } finally {
      await s3.restart();
    }
    const back = await ask("sentiment-copy");
    assert.equal(back.status, 200, JSON.stringify(back.json));
    const original = await ask("sentiment");
    assert.deepEqual(back.json.results[0].outputs, original.json.results[0].outputs);
  });

  test("the store goes away past the TTL: fusions found by their adapters and heads found by saved name keep serving from the last good listing", async () => {
    const fuse = () => post(`${server.url}/v1/fuse`, { model: "bert-tiny", inputs: ["what a wonderful film"], fuse: ["sentiment", "topic", "formality"] });
    const byHead = () =>
      post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs: ["what a wonderful film"], tasks: [{ adapters: "sentiment", head: "sentiment,topic,formality" }] });
    const fused = await fuse();
    const headed = await byHead();
    assert.equal(fused.status, 200, fused.text);
    assert.equal(headed.status, 200, headed.text);
    await new Promise((r) => setTimeout(r, 1100)); // past the TTL (1 s): listings and entries are stale
    await s3.stop();
    try {
      for (let i = 0; i < 3; i++) {
        const f = await fuse();
        assert.equal(f.status, 200, f.text);
        assert.deepEqual(f.json.outputs, fused.json.outputs);
        const h = await byHead();
        assert.equal(h.status, 200, h.text);
        assert.deepEqual(h.json.results, headed.json.results);
      }
      const unknown = await post(`${server.url}/v1/fuse`, { model: "bert-tiny", inputs: ["x"], fuse: ["topic", "sentiment"] });
      assert.equal(unknown.status, 503, `a fusion never loaded cannot be looked for while the store is away: ${unknown.text}`);
    } finally {
      await s3.restart();
    }
  });

  test("hot add and replacement with polyhead push while serving: new on first request, new version after the TTL", async () => {
    const bucket = new S3Store(LOCATION, { endpoint: s3.endpoint, credentials: s3.credentials });
    const tmp = copyStore(path.join(ADAPTERHUB_FIXTURES, "adapters/formality"), () => true);
    try {
      const ask = () => post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs: ["kindly be seated"], tasks: [{ adapters: "late" }], options: { return_logits: true } });
      assert.equal((await ask()).status, 404);
      await push([tmp.dir], { store: bucket, quiet: true, as: "late" }, () => {});
      const v1 = await ask();
      assert.equal(v1.status, 200, "served on its first request after the push");
      // a new version of the same adapter: every weight × 2
      const file = path.join(tmp.dir, "adapter.safetensors");
      const dict = readSafetensors(new Uint8Array(readFileSync(file)));
      for (const [k, t] of dict) dict.set(k, { shape: t.shape, data: t.data.map((x) => x * 2) });
      writeFileSync(file, writeSafetensors(dict));
      await push([tmp.dir], { store: bucket, quiet: true, as: "late" }, () => {});
      assert.deepEqual((await ask()).json.results[0].outputs, v1.json.results[0].outputs, "the old version until the TTL runs out");
      await new Promise((r) => setTimeout(r, 1100));
      // past the TTL a request is answered from what is loaded while the check runs behind it; the new version follows
      let v2 = await ask();
      for (const until = Date.now() + 15_000; Date.now() < until && v2.status === 200 && v2.json.results[0].outputs[0].logits.join() === v1.json.results[0].outputs[0].logits.join(); ) {
        await new Promise((r) => setTimeout(r, 100));
        v2 = await ask();
      }
      assert.equal(v2.status, 200);
      assert.notDeepEqual(v2.json.results[0].outputs[0].logits, v1.json.results[0].outputs[0].logits, "the new version after the TTL");
    } finally {
      bucket.close();
      tmp.cleanup();
    }
  });
});
