// A local store is its folder: links that lead out of it are not followed,
// and what a refused file holds never shows in an error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, cpSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { copyStore, get, post, startServer } from "../support/server.ts";
import { ADAPTERHUB_FIXTURES } from "../support/paths.ts";

test("links out of a local store are not followed; error texts never quote file contents", async () => {
  const { dir, cleanup } = copyStore(ADAPTERHUB_FIXTURES, () => true);
  const outside = mkdtempSync(path.join(os.tmpdir(), "polyhead-outside-"));
  try {
    // an adapter folder outside the store, linked in
    cpSync(path.join(dir, "adapters/sentiment"), path.join(outside, "stolen"), { recursive: true });
    symlinkSync(path.join(outside, "stolen"), path.join(dir, "adapters/linked"));
    // a config that links to a secret outside the store
    writeFileSync(path.join(outside, "secret"), "root:x:0:0:root:/root:/bin/bash\n");
    mkdirSync(path.join(dir, "adapters/passwd"));
    cpSync(path.join(dir, "adapters/sentiment/adapter.safetensors"), path.join(dir, "adapters/passwd/adapter.safetensors"));
    symlinkSync(path.join(outside, "secret"), path.join(dir, "adapters/passwd/adapter_config.json"));
    // a config inside the store that is not JSON at all
    mkdirSync(path.join(dir, "adapters/garbled"));
    writeFileSync(path.join(dir, "adapters/garbled/adapter_config.json"), "root:x:0:0:root:/root:/bin/bash\n");
    const server = await startServer(dir);
    try {
      const ask = (adapters: string) => post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs: ["hi"], tasks: [{ adapters }] });
      assert.equal((await ask("linked")).status, 404, "a linked folder is not part of the store");
      assert.equal((await ask("passwd")).status, 404, "a linked config is not there either");
      const garbled = await ask("garbled");
      assert.equal(garbled.status, 422);
      assert.match(garbled.json.detail, /not valid JSON: syntax error/);
      const listing = await get(`${server.url}/v1/adapters`);
      assert.equal(listing.status, 200);
      assert.doesNotMatch(listing.text, /root:x/);
      assert.doesNotMatch(garbled.text, /root:x/);
      assert.ok(!listing.json.adapters.some((a: any) => a.name === "linked"));
      assert.equal((await ask("sentiment")).status, 200);
    } finally {
      await server.close();
    }
  } finally {
    cleanup();
    rmSync(outside, { recursive: true, force: true });
  }
});
