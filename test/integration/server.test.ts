import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, copyFileSync, mkdirSync, readFileSync } from "node:fs";
import os from "node:os";
import { zipSync } from "fflate";
import path from "node:path";
import { copyStore, post, startServer } from "../support/server.ts";
import { writeRandomStore } from "../support/random-store.ts";
import { ADAPTERHUB_FIXTURES } from "../support/paths.ts";
import type { RunningServer } from "../../src/server/serve.ts";

describe("inference off the HTTP thread", () => {
  let dir: string;
  let server: RunningServer;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "polyhead-big-"));
    writeRandomStore(dir, { hidden: 256, layers: 6, heads: 4, intermediate: 1024, maxPositions: 512, adapters: 1 });
    server = await startServer(dir);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("/healthz answers while a long batch runs", async () => {
    const text = Array.from({ length: 300 }, (_, i) => ["the", "film", "was", "good", "and", "long", "day"][i % 7]).join(" ");
    const body = { model: "random", inputs: Array(16).fill(text), tasks: [{ adapters: "a0" }], options: { max_length: 256 } };
    let done = false;
    const predict = post(`${server.url}/v1/predict`, body).then((r) => ((done = true), r));
    let answeredDuring = 0;
    const started = Date.now();
    while (!done && Date.now() - started < 60_000) {
      const t0 = Date.now();
      const res = await fetch(`${server.url}/healthz`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: "ok" });
      if (!done && Date.now() - t0 < 250) answeredDuring++;
      await new Promise((r) => setTimeout(r, 20));
    }
    const res = await predict;
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.results[0].outputs.length, 16);
    // The forward pass takes seconds on 2 cores; health checks must have been answered quickly meanwhile.
    assert.ok(answeredDuring >= 3, `only ${answeredDuring} quick health answers while the batch ran`);
  });
});

// A pickle that calls os.system("echo") when unpickled by a careless reader.
const EVIL_PICKLE = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from("cos\nsystem\n", "latin1"), Buffer.from([0x58, 4, 0, 0, 0]), Buffer.from("echo"), Buffer.from([0x85, 0x52, 0x2e])]);

describe("bad requests and bad files get clear 4xx answers", () => {
  let store: { dir: string; cleanup: () => void };
  let server: RunningServer;
  const good = { model: "bert-tiny", inputs: ["a fine day"], tasks: [{ adapters: "sentiment" }] };
  before(async () => {
    store = copyStore(ADAPTERHUB_FIXTURES, () => true);
    const evil = path.join(store.dir, "adapters/evil");
    mkdirSync(evil);
    copyFileSync(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment/adapter_config.json"), path.join(evil, "adapter_config.json"));
    // torch.save's layout: a zip holding <folder>/data.pkl
    writeFileSync(path.join(evil, "pytorch_adapter.bin"), zipSync({ "archive/data.pkl": new Uint8Array(EVIL_PICKLE) }, { level: 0 }));
    const broken = path.join(store.dir, "adapters/broken");
    mkdirSync(broken);
    copyFileSync(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment/adapter_config.json"), path.join(broken, "adapter_config.json"));
    const header = Buffer.alloc(8);
    header.writeBigUInt64LE(1n << 40n);
    writeFileSync(path.join(broken, "adapter.safetensors"), Buffer.concat([header, Buffer.from("{}")]));
    const wide = path.join(store.dir, "adapters/wide");
    mkdirSync(wide);
    const cfg = JSON.parse(readFileSync(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment/adapter_config.json"), "utf8"));
    writeFileSync(path.join(wide, "adapter_config.json"), JSON.stringify({ ...cfg, hidden_size: 768 }));
    copyFileSync(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment/adapter.safetensors"), path.join(wide, "adapter.safetensors"));
    const gated = path.join(store.dir, "adapters/gated");
    mkdirSync(gated);
    writeFileSync(path.join(gated, "adapter_config.json"), JSON.stringify({ ...cfg, config: { ...cfg.config, use_gating: true } }));
    copyFileSync(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment/adapter.safetensors"), path.join(gated, "adapter.safetensors"));
    server = await startServer(store.dir);
  });
  after(async () => {
    await server.close();
    store.cleanup();
  });

  const cases: { name: string; body: unknown; status: number; type: string; detail?: RegExp }[] = [
    { name: "malformed JSON", body: "{not json", status: 400, type: "invalid-json" },
    { name: "wrong types", body: { model: "bert-tiny", inputs: "text", tasks: [] }, status: 400, type: "invalid-request", detail: /inputs/ },
    { name: "no inputs", body: { ...good, inputs: [] }, status: 400, type: "invalid-request" },
    { name: "too many inputs", body: { ...good, inputs: Array(65).fill("x") }, status: 400, type: "invalid-request", detail: /inputs/ },
    { name: "text over the size limit", body: { ...good, inputs: ["x".repeat(20_001)] }, status: 400, type: "invalid-request", detail: /20000 characters/ },
    { name: "body over the byte limit", body: { ...good, inputs: ["x"], pad: "y".repeat(5 * 1024 * 1024) }, status: 413, type: "too-large" },
    { name: "unknown model", body: { ...good, model: "gpt-7" }, status: 404, type: "not-found", detail: /model "gpt-7"/ },
    { name: "unknown adapter", body: { ...good, tasks: [{ adapters: "nope" }] }, status: 404, type: "not-found", detail: /adapter "nope"/ },
    { name: "unknown head", body: { ...good, tasks: [{ adapters: "sentiment", head: "nohead" }] }, status: 404, type: "not-found", detail: /head "nohead"/ },
    { name: "unknown fusion", body: { ...good, tasks: [{ adapters: { fuse: ["sentiment", "topic"] } }] }, status: 404, type: "not-found", detail: /fusion/ },
    { name: "path traversal", body: { ...good, tasks: [{ adapters: "../../etc/passwd" }] }, status: 400, type: "invalid-request" },
    { name: "batch_split sizes", body: { ...good, tasks: [{ adapters: { batch_split: ["sentiment", "topic"], sizes: [1, 1] } }] }, status: 422, type: "invalid-composition", detail: /add up to 2/ },
    { name: "composition too deep", body: { ...good, tasks: [{ adapters: { stack: [{ stack: [{ stack: [{ stack: [{ stack: [{ stack: ["sentiment"] }] }] }] }] }] } }] }, status: 422, type: "invalid-composition", detail: /deeper than 6/ },
    { name: "composition too wide", body: { ...good, tasks: [{ adapters: { parallel: Array(17).fill("sentiment") } }] }, status: 400, type: "invalid-request" },
    { name: "fusion given other adapters than it was trained on", body: { ...good, tasks: [{ adapters: { fuse: ["sentiment", "lang_en", "formality"], fusion: "sentiment-fusion" } }] }, status: 422, type: "invalid-adapter", detail: /trained on/ },
    { name: "parallel inside fuse", body: { ...good, tasks: [{ adapters: { fuse: [{ parallel: ["sentiment", "topic"] }] } }] }, status: 422, type: "invalid-composition" },
    { name: "malicious pickle", body: { ...good, tasks: [{ adapters: "evil" }] }, status: 422, type: "invalid-adapter", detail: /forbidden global os\.system/ },
    { name: "malformed safetensors", body: { ...good, tasks: [{ adapters: "broken" }] }, status: 422, type: "invalid-adapter", detail: /header/ },
    { name: "hidden size mismatch", body: { ...good, tasks: [{ adapters: "wide" }] }, status: 422, type: "invalid-adapter", detail: /hidden size 768/ },
    { name: "unsupported option", body: { ...good, tasks: [{ adapters: "gated" }] }, status: 422, type: "invalid-adapter", detail: /use_gating/ },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.status} ${c.type}, and the server keeps serving`, async () => {
      const res = await post(`${server.url}/v1/predict`, c.body);
      assert.equal(res.status, c.status, JSON.stringify(res.json));
      assert.match(res.headers.get("content-type") ?? "", /application\/problem\+json/);
      assert.equal(res.json.type, `https://polyhead.dev/problems/${c.type}`);
      assert.equal(res.json.status, c.status);
      if (c.detail) assert.match(res.json.detail, c.detail);
      const ok = await post(`${server.url}/v1/predict`, good);
      assert.equal(ok.status, 200);
      assert.equal(ok.json.results[0].outputs[0].label !== undefined, true);
    });
  }
});
