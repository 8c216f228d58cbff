import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Catalog } from "../../../src/store/catalog.ts";
import { LocalStore } from "../../../src/store/local-store.ts";
import { Engine } from "../../../src/engine/engine.ts";
import { WorkerPool } from "../../../src/engine/worker-pool.ts";
import { readSafetensors, writeSafetensors } from "../../../src/formats/safetensors.ts";
import { copyStore } from "../../support/server.ts";
import { CountingStore } from "../../support/counting-store.ts";
import { ADAPTERHUB_FIXTURES } from "../../support/paths.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const request = (adapter: string) => ({
  model: "bert-tiny",
  // question answering reads [question, context] pairs
  inputs: adapter === "qa" ? [["who was great?", "the cast was great"], ["how was it?", "a dull evening"]] as [string, string][] : ["the cast was great", "a dull evening"],
  tasks: [{ adapters: adapter }],
  options: { maxLength: 32, returnLogits: true, returnHiddenStates: false, returnFusionAttention: false },
});
const logitsOf = (out: Awaited<ReturnType<Engine["predict"]>>) => out.results[0].outputs.map((o) => o.logits as number[]);

/** Rewrites an adapter's weights (every value × factor): a new version of the same adapter. */
function rescale(file: string, factor: number) {
  const dict = readSafetensors(new Uint8Array(readFileSync(file)));
  for (const [k, t] of dict) dict.set(k, { shape: t.shape, data: t.data.map((x) => x * factor) });
  writeFileSync(file, writeSafetensors(dict));
}

function writeManifest(dir: string) {
  const files: Record<string, { size: number; sha256: string }> = {};
  for (const f of ["adapter_config.json", "adapter.safetensors", "head_config.json", "model_head.safetensors"]) {
    const b = readFileSync(path.join(dir, f));
    files[f] = { size: b.length, sha256: createHash("sha256").update(b).digest("hex") };
  }
  writeFileSync(path.join(dir, "polyhead.json"), JSON.stringify({ format: 1, kind: "adapter", files, pushed_at: new Date().toISOString() }));
}

describe("catalog cache", () => {
  let pool: WorkerPool;
  let store: { dir: string; cleanup: () => void };
  before(() => {
    pool = new WorkerPool({ threads: 1 });
    // only safetensors, so each adapter is one weight file
    store = copyStore(ADAPTERHUB_FIXTURES, (f) => !f.endsWith(".bin"));
  });
  after(async () => {
    await pool.close();
    store.cleanup();
  });

  test("100 concurrent first requests for one adapter fetch it once", async () => {
    const counting = new CountingStore(new LocalStore(store.dir));
    const engine = new Engine(new Catalog(counting), pool);
    const outs = await Promise.all(Array.from({ length: 100 }, () => engine.predict(request("topic"))));
    assert.equal(counting.gets.get("adapters/topic/adapter.safetensors"), 1);
    assert.equal(counting.gets.get("adapters/topic/model_head.safetensors"), 1);
    for (const o of outs) assert.deepEqual(logitsOf(o), logitsOf(outs[0]));
  });

  test("on a remote store, files fetched while listing are reused: still one fetch per file", async () => {
    const counting = new CountingStore(new LocalStore(store.dir), true);
    const engine = new Engine(new Catalog(counting), pool);
    const outs = await Promise.all(Array.from({ length: 20 }, () => engine.predict(request("toxicity"))));
    assert.equal(counting.gets.get("adapters/toxicity/adapter.safetensors"), 1);
    assert.equal(counting.gets.get("adapters/toxicity/adapter_config.json"), 1);
    for (const o of outs) assert.deepEqual(logitsOf(o), logitsOf(outs[0]));
    const local = logitsOf(await new Engine(new Catalog(new LocalStore(store.dir)), pool).predict(request("toxicity")));
    assert.deepEqual(logitsOf(outs[0]), local);
  });

  test("fusions found by their adapters: one listing per TTL, and a fusion added a moment ago is still found", async () => {
    const counting = new CountingStore(new LocalStore(store.dir));
    const engine = new Engine(new Catalog(counting, { ttlMs: 60_000 }), pool);
    const fuse = (adapters: string[]) => ({ ...request("x"), tasks: [{ adapters: { fuse: adapters } }] });
    for (let i = 0; i < 5; i++) await engine.predict(fuse(["sentiment", "topic", "formality"]));
    assert.equal(counting.folderListings.get("fusions/"), 1, "the fusions folder is listed once, not per request");
    // a new fusion (the same files, fusion.json naming other adapters) appears while the listing is cached
    cpSync(path.join(store.dir, "fusions/sentiment-fusion"), path.join(store.dir, "fusions/late-fusion"), { recursive: true });
    writeFileSync(path.join(store.dir, "fusions/late-fusion/fusion.json"), JSON.stringify({ adapters: ["formality", "topic", "sentiment"] }));
    const out = await engine.predict(fuse(["formality", "topic", "sentiment"]));
    assert.equal(out.results[0].outputs.length, 2);
    assert.equal(counting.folderListings.get("fusions/"), 2, "a miss lists once more");
  });

  test("a replaced adapter is served in its new version once the check after the TTL has seen it, not before", async () => {
    const catalog = new Catalog(new LocalStore(store.dir), { ttlMs: 300 });
    const engine = new Engine(catalog, pool);
    const v1 = logitsOf(await engine.predict(request("sentiment")));
    rescale(path.join(store.dir, "adapters/sentiment/adapter.safetensors"), 3);
    assert.deepEqual(logitsOf(await engine.predict(request("sentiment"))), v1, "within the TTL the old version is served");
    await sleep(350);
    // stale-while-revalidate: the request past the TTL is answered at once, the check runs behind it
    assert.deepEqual(logitsOf(await engine.predict(request("sentiment"))), v1, "past the TTL, served from what is loaded while the check runs");
    await catalog.settled();
    const v2 = logitsOf(await engine.predict(request("sentiment")));
    assert.notDeepEqual(v2, v1);
    const fresh = logitsOf(await new Engine(new Catalog(new LocalStore(store.dir)), pool).predict(request("sentiment")));
    assert.deepEqual(v2, fresh, "the new version is the one a fresh server sees");
    assert.equal(catalog.stats().reloads, 1);
  });

  test("a folder caught mid-replacement is never served as a mix of two versions", async () => {
    const dir = path.join(store.dir, "adapters/formality");
    writeManifest(dir);
    const catalog = new Catalog(new LocalStore(store.dir), { ttlMs: 100 });
    const engine = new Engine(catalog, pool);
    const v1 = logitsOf(await engine.predict(request("formality")));
    // new weights uploaded, manifest not yet: the folder is half-pushed
    rescale(path.join(dir, "adapter.safetensors"), 2);
    writeFileSync(path.join(dir, "polyhead.json"), readFileSync(path.join(dir, "polyhead.json"))); // new manifest ETag, old content
    await sleep(150);
    assert.deepEqual(logitsOf(await engine.predict(request("formality"))), v1, "the old version, whole");
    await catalog.settled();
    assert.deepEqual(logitsOf(await engine.predict(request("formality"))), v1, "still the old version, whole, after the check");
    // a server that never saw the old version refuses rather than serving half of the new one
    await assert.rejects(new Engine(new Catalog(new LocalStore(store.dir)), pool).predict(request("formality")), /kept changing/);
    writeManifest(dir); // the push completes
    await sleep(150);
    await engine.predict(request("formality")); // starts the check
    await catalog.settled();
    const v2 = logitsOf(await engine.predict(request("formality")));
    assert.notDeepEqual(v2, v1);
    assert.deepEqual(v2, logitsOf(await new Engine(new Catalog(new LocalStore(store.dir)), pool).predict(request("formality"))));
  });

  test("loaded adapters are evicted under a small byte budget, and reload correctly", async () => {
    const counting = new CountingStore(new LocalStore(store.dir));
    // bert-tiny adapters and heads are ~1-5 KB each: room for about two
    const catalog = new Catalog(counting, { budgetBytes: 12_000 });
    const engine = new Engine(catalog, pool);
    const first = new Map<string, number[][]>();
    for (const a of ["nli", "ner", "toxicity", "rating", "qa"]) first.set(a, logitsOf(await engine.predict(request(a))) as number[][]);
    const s = catalog.stats();
    assert.ok(s.evictions >= 2, `evictions: ${s.evictions}`);
    assert.ok(s.bytes <= 12_000 + 200_000, `bytes kept: ${s.bytes}`); // + the pinned model
    // evicted adapters come back with the same numbers (from the file cache or the store)
    for (const [a, l] of first) assert.deepEqual(logitsOf(await engine.predict(request(a))), l);
  });

  test("the file cache is bounded in bytes and keeps versions apart", async () => {
    const counting = new CountingStore(new LocalStore(store.dir));
    const catalog = new Catalog(counting, { budgetBytes: 1, cache: undefined });
    const engine = new Engine(catalog, pool);
    await engine.predict(request("topic"));
    await engine.predict(request("topic")); // evicted from the catalog (budget 1 byte), served from the file cache
    assert.equal(counting.gets.get("adapters/topic/adapter.safetensors"), 1);
    const stats = catalog.cache.stats();
    assert.ok(stats.hits >= 1 && stats.misses >= 1 && stats.bytes > 0);
  });
});
