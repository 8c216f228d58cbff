import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { push } from "../src/cli/push.ts";
import { S3Store } from "../src/store/s3-store.ts";
import type { RunningServer } from "../functions/server.ts";
import { SHARED_FIXTURES } from "./paths.ts";
import { goldenStores, requestFor } from "./support/cases.ts";
import { checkGolden } from "./support/check.ts";
import { startS3, withEnv, type TestS3 } from "./support/s3.ts";
import { post, startServer } from "./support/server.ts";

// The server over s3://: the shared AdapterHub store pushed into a real
// S3-protocol server, every golden case over HTTP, and the store going away
// and coming back under a running server.

const LOCATION = "s3://polyhead/golden";
const folders = (kind: string) => readdirSync(path.join(SHARED_FIXTURES, kind)).sort().map((f) => path.join(SHARED_FIXTURES, kind, f));

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
      await push([path.join(SHARED_FIXTURES, "adapters/sentiment")], { ...quiet, as: "sentiment-copy" }, () => {});
    } finally {
      bucket.close();
    }
    // The server finds the endpoint and keys as a deployed one would: in the AWS environment.
    restoreEnv = withEnv(s3.env);
    server = await startServer(LOCATION);
  });
  after(async () => {
    await server?.close();
    restoreEnv();
    await s3?.dispose();
  });

  const shared = goldenStores().find((s) => s.name === "shared")!;
  for (const c of shared.cases) {
    test(c.id, async () => {
      const res = await post(`${server.url}/v1/predict`, requestFor(c));
      assert.equal(res.status, 200, JSON.stringify(res.json));
      checkGolden(c, res.json);
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
});
