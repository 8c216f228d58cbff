import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { LocalStore } from "../../src/store/local-store.ts";
import { FaultyStore } from "../support/faulty-store.ts";
import { copyStore, post, startServer } from "../support/server.ts";
import { ROOT, ADAPTERHUB_FIXTURES } from "../support/paths.ts";
import type { RunningServer } from "../../src/server/serve.ts";

// The object store misbehaving under a running server, and the server itself
// killed and started again (nothing to recover: the store is the truth).

const ask = (url: string, adapters: string) =>
  post(`${url}/v1/predict`, { model: "bert-tiny", inputs: ["a calm and kind reply"], tasks: [{ adapters }], options: { return_logits: true } });

describe("store faults", () => {
  let store: FaultyStore;
  let server: RunningServer;
  before(async () => {
    store = new FaultyStore(new LocalStore(ADAPTERHUB_FIXTURES));
    server = await startServer(ADAPTERHUB_FIXTURES, { store, ttlSeconds: 0.2 });
  });
  after(() => server.close());

  test("a slow store: new adapters still load; loaded ones do not wait for it", async () => {
    assert.equal((await ask(server.url, "sentiment")).status, 200);
    store.delayMs = 300;
    try {
      const before = store.gets.length;
      const slowLoad = await ask(server.url, "topic");
      assert.equal(slowLoad.status, 200, "a slow store is slow, not down");
      assert.ok(store.gets.length > before, "topic was read through the slow store");
      const afterLoad = store.gets.length;
      // within the TTL a loaded adapter never touches the store
      const cached = await ask(server.url, "topic");
      assert.equal(cached.status, 200);
      assert.equal(store.gets.length, afterLoad);
      assert.deepEqual(cached.json.results[0].outputs, slowLoad.json.results[0].outputs);
    } finally {
      store.delayMs = 0;
    }
  });

  test("a frozen store past the TTL: requests for what is loaded are answered without waiting for it", async () => {
    const fuse = { fuse: ["sentiment", "topic", "formality"] };
    const byHead = () => post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs: ["a calm and kind reply"], tasks: [{ adapters: "topic", head: "sentiment,topic,formality" }] });
    const warm = [await ask(server.url, "sentiment"), await post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs: ["a calm and kind reply"], tasks: [{ adapters: fuse }] }), await byHead()];
    for (const w of warm) assert.equal(w.status, 200, w.text);
    await new Promise((r) => setTimeout(r, 250)); // past the TTL (0.2 s)
    store.freeze();
    try {
      const all = Promise.all(
        Array.from({ length: 8 }, () => [
          ask(server.url, "sentiment"),
          post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs: ["a calm and kind reply"], tasks: [{ adapters: fuse }] }),
          byHead(),
        ]).flat(),
      );
      // a guard only: without stale-while-revalidate these wait on the store for as long as it is frozen
      const answers = await Promise.race([all, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("requests for loaded adapters waited on the frozen store")), 30_000))]);
      for (const a of answers) assert.equal(a.status, 200, a.text);
      assert.ok(store.waiting > 0, "the checks past the TTL went to the store and are still waiting there");
    } finally {
      store.thaw();
    }
  });

  test("downloads breaking off: loaded adapters keep serving, new ones get 503 + Retry-After, then recover", async () => {
    const loaded = await ask(server.url, "formality");
    assert.equal(loaded.status, 200);
    store.failing = /\.(safetensors|bin|json)$/;
    try {
      await new Promise((r) => setTimeout(r, 250)); // past the TTL: the next use revalidates
      const stillServed = await ask(server.url, "formality");
      assert.equal(stillServed.status, 200, "what is loaded keeps serving while the store fails");
      assert.deepEqual(stillServed.json.results[0].outputs, loaded.json.results[0].outputs);
      const broken = await ask(server.url, "toxicity");
      assert.equal(broken.status, 503, JSON.stringify(broken.json));
      assert.equal(broken.json.type, "https://polyhead.dev/problems/store-unavailable");
      assert.ok(Number(broken.headers.get("retry-after")) > 0);
    } finally {
      store.failing = null;
    }
    const healed = await ask(server.url, "toxicity");
    assert.equal(healed.status, 200, "the same adapter loads once the store is back, without a restart");
  });
});

function startCli(store: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, "bin/polyhead.js"), "serve", "--store", store, "--port", "0"], { cwd: ROOT, env: { ...process.env, POLYHEAD_STORE: undefined } });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`no "listening" line in 20 s; stderr: ${err}`)), 20_000);
    child.stderr!.on("data", (d) => (err += d));
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /polyhead listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
}

test("killed and started again: the new process answers the same, from the store alone", async () => {
  const store = copyStore(ADAPTERHUB_FIXTURES, () => true);
  let first: ChildProcess | undefined;
  let second: ChildProcess | undefined;
  try {
    const a = await startCli(store.dir);
    first = a.child;
    const before = await ask(a.url, "nli");
    assert.equal(before.status, 200);
    const exited = new Promise((r) => first!.once("exit", r));
    first.kill("SIGKILL");
    await exited;
    await assert.rejects(fetch(`${a.url}/healthz`), "the killed server is gone");
    const b = await startCli(store.dir);
    second = b.child;
    const after = await ask(b.url, "nli");
    assert.equal(after.status, 200);
    assert.deepEqual(after.json.results[0].outputs, before.json.results[0].outputs);
  } finally {
    first?.kill("SIGKILL");
    second?.kill("SIGTERM");
    store.cleanup();
  }
});
