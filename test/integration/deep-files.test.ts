import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { copyStore, get, post, startServer } from "../support/server.ts";
import { ADAPTERHUB_FIXTURES } from "../support/paths.ts";
import { readSafetensors, writeSafetensors } from "../../src/formats/safetensors.ts";
import type { RunningServer } from "../../src/server/serve.ts";

// Store files whose JSON nests 100,000 deep, and fusion weights for a layer
// the model does not have: each a 422 (or a listing entry marked
// unsupported), never a 500, and the listings keep answering while they exist.

const DEEP = "[".repeat(100_000) + "]".repeat(100_000);

describe("deeply nested and misplaced store files", () => {
  let server: RunningServer;
  let copy: { dir: string; cleanup: () => void };

  before(async () => {
    copy = copyStore(ADAPTERHUB_FIXTURES, () => true);
    const d = copy.dir;
    cpSync(path.join(d, "fusions/sentiment-fusion"), path.join(d, "fusions/deep"), { recursive: true });
    writeFileSync(path.join(d, "fusions/deep/fusion.json"), `{"adapters": ${DEEP}}`);
    cpSync(path.join(d, "fusions/sentiment-fusion"), path.join(d, "fusions/far"), { recursive: true });
    const file = path.join(d, "fusions/far/model_adapter_fusion.safetensors");
    const weights = readSafetensors(new Uint8Array(readFileSync(file)));
    writeFileSync(file, writeSafetensors(new Map([...weights].map(([k, t]) => [k.replace(/\.layer\.\d+\./, ".layer.9999."), t]))));
    cpSync(path.join(d, "adapters/sentiment"), path.join(d, "adapters/deepcfg"), { recursive: true });
    const cfg = JSON.parse(readFileSync(path.join(d, "adapters/deepcfg/adapter_config.json"), "utf8"));
    writeFileSync(path.join(d, "adapters/deepcfg/adapter_config.json"), JSON.stringify(cfg).replace('"config":{', `"config":{"x":${DEEP},`));
    server = await startServer(d, { models: ["bert-tiny"] });
  });
  after(async () => {
    await server?.close();
    copy?.cleanup();
  });

  const fuse = (fusion: string) => post(`${server.url}/v1/fuse`, { model: "bert-tiny", inputs: ["a fine day"], fusion });

  test("a 100,000-deep fusion.json: 422 naming the depth; GET /v1/adapters keeps answering", async () => {
    const res = await fuse("deep");
    assert.equal(res.status, 422, res.text);
    assert.match(res.json.detail, /fusion\.json .*nested deeper than 32 levels/);
    const list = await get(`${server.url}/v1/adapters`);
    assert.equal(list.status, 200, list.text.slice(0, 300));
    assert.ok(list.json.adapters.some((a: { name: string }) => a.name === "sentiment"));
    assert.equal((await fuse("sentiment-fusion")).status, 200, "the good fusion is served");
  });

  test("fusion weights only for layer 9999: 422", async () => {
    const res = await fuse("far");
    assert.equal(res.status, 422, res.text);
    assert.match(res.json.detail, /no weights found/);
  });

  test("a 100,000-deep array in an adapter's config: 422 on GET /v1/adapters/{name}, listed as unsupported, refused by predict", async () => {
    const detail = await get(`${server.url}/v1/adapters/deepcfg`);
    assert.equal(detail.status, 422, detail.text.slice(0, 300));
    assert.equal(detail.json.type, "https://polyhead.dev/problems/invalid-adapter");
    assert.match(detail.json.detail, /adapter_config\.json is not valid JSON: it is nested deeper than 32 levels/);
    const list = await get(`${server.url}/v1/adapters`);
    assert.equal(list.status, 200);
    assert.equal(list.json.adapters.find((a: { name: string }) => a.name === "deepcfg").supported, false);
    const res = await post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs: ["x"], tasks: [{ adapters: "deepcfg" }] });
    assert.equal(res.status, 422, res.text);
  });
});
