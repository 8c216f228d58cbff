import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { answer, copyStore, startServer, type Answer } from "../support/server.ts";
import { ADAPTERHUB_FIXTURES } from "../support/paths.ts";
import type { RunningServer } from "../../src/server/serve.ts";
import { optionsFromEnv } from "../../src/server/settings.ts";
import { push } from "../../src/cli/push.ts";
import { LocalStore } from "../../src/store/local-store.ts";
import type { Store } from "../../src/store/store.ts";
import { ls } from "../../src/cli/ls.ts";
import { inspect } from "../../src/cli/inspect.ts";

// Tenants over HTTP: API keys (hashed) → namespaces of adapters, per-key
// rate and concurrency limits.

const sha = (key: string) => createHash("sha256").update(key).digest("hex");
const KEYS = [
  { sha256: sha("key-a"), tenant: "A" },
  { sha256: sha("key-b"), tenant: "B" },
  { sha256: sha("key-rps"), tenant: "A", rps: 1 },
  { sha256: sha("key-one"), tenant: "B", concurrency: 1 },
  { sha256: sha("key-g"), tenant: "gamma" },
];

/** A store whose listing of adapters/ waits while the gate is closed: a request held in flight, without timing. */
class GatedStore implements Store {
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;
  waiting = 0;
  constructor(private inner: Store) {}
  get description() {
    return this.inner.description;
  }
  close() {
    this.gate = new Promise((r) => (this.open = r));
  }
  release() {
    this.open?.();
    this.gate = null;
  }
  get(key: string) {
    return this.inner.get(key);
  }
  head(key: string) {
    return this.inner.head(key);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  async listFolders(prefix: string) {
    if (prefix === "adapters/" && this.gate) {
      this.waiting++;
      await this.gate;
      this.waiting--;
    }
    return this.inner.listFolders(prefix);
  }
  put(key: string, bytes: Uint8Array) {
    return this.inner.put(key, bytes);
  }
}

describe("tenants", () => {
  let server: RunningServer;
  let store: GatedStore;
  let copy: { dir: string; cleanup: () => void };

  const call = async (pathname: string, key?: string, body?: unknown, how: "bearer" | "x-api-key" = "bearer"): Promise<Answer> => {
    const headers: Record<string, string> = {};
    if (key !== undefined) headers[how === "bearer" ? "authorization" : "x-api-key"] = how === "bearer" ? `Bearer ${key}` : key;
    if (body !== undefined) headers["content-type"] = "application/json";
    return answer(await fetch(server.url + pathname, { method: body === undefined ? "GET" : "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) }));
  };
  const predict = (key: string | undefined, adapters: unknown, how?: "bearer" | "x-api-key") =>
    call("/v1/predict", key, { model: "bert-tiny", inputs: ["a fine day"], tasks: [{ adapters }] }, how);

  before(async () => {
    copy = copyStore(ADAPTERHUB_FIXTURES, () => true);
    mkdirSync(path.join(copy.dir, "adapters/A"), { recursive: true });
    cpSync(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment"), path.join(copy.dir, "adapters/A/mine"), { recursive: true });
    // a shared adapter named like a tenant, and that tenant's own adapter inside its namespace
    cpSync(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment"), path.join(copy.dir, "adapters/gamma"), { recursive: true });
    cpSync(path.join(ADAPTERHUB_FIXTURES, "adapters/topic"), path.join(copy.dir, "adapters/gamma/private_g"), { recursive: true });
    // a shared fusion whose list names a tenant's adapter
    cpSync(path.join(ADAPTERHUB_FIXTURES, "fusions/sentiment-fusion"), path.join(copy.dir, "fusions/leaky"), { recursive: true });
    writeFileSync(path.join(copy.dir, "fusions/leaky/fusion.json"), JSON.stringify({ adapters: ["A/mine", "topic", "formality"] }));
    // tenant A's own fusion of its adapter and shared ones
    cpSync(path.join(ADAPTERHUB_FIXTURES, "fusions/sentiment-fusion"), path.join(copy.dir, "fusions/A/fa"), { recursive: true });
    writeFileSync(path.join(copy.dir, "fusions/A/fa/fusion.json"), JSON.stringify({ adapters: ["A/mine", "topic", "formality"] }));
    store = new GatedStore(new LocalStore(copy.dir));
    server = await startServer(copy.dir, { store, keys: KEYS, models: ["bert-tiny"] });
  });
  after(async () => {
    await server?.close();
    copy?.cleanup();
  });

  test("POLYHEAD_KEYS and POLYHEAD_KEYS_FILE configure the keys; malformed keys stop the start", () => {
    assert.deepEqual(optionsFromEnv({ POLYHEAD_KEYS: JSON.stringify(KEYS) }).keys, KEYS);
    assert.equal(optionsFromEnv({}).keys, undefined);
    assert.throws(() => optionsFromEnv({ POLYHEAD_KEYS: "[]" }), /at least one key/);
    assert.throws(() => optionsFromEnv({ POLYHEAD_KEYS: '[{"sha256":"abc","tenant":"A"}]' }), /POLYHEAD_KEYS: 0\.sha256/);
    assert.throws(() => optionsFromEnv({ POLYHEAD_KEYS: '[{"sha256":"' + sha("x") + '","tenant":"a/b"}]' }), /tenant/);
    assert.throws(() => optionsFromEnv({ POLYHEAD_KEYS_FILE: path.join(copy.dir, "nope.json") }), /POLYHEAD_KEYS_FILE: cannot read/);
  });

  test("no key or a wrong key → 401; /healthz needs none", async () => {
    for (const res of [await predict(undefined, "sentiment"), await predict("nope", "sentiment"), await call("/v1/adapters", "KEY-A")]) {
      assert.equal(res.status, 401, res.text);
      assert.equal(res.json.type.endsWith("unauthorized"), true, res.text);
    }
    assert.equal((await call("/v1/adapters", sha("key-a"))).status, 401, "the hash itself is not a key");
    assert.equal((await call("/healthz")).status, 200);
  });

  test("a tenant uses its own adapters and the shared ones; another tenant's are not found", async () => {
    const mine = await predict("key-a", "A/mine");
    assert.equal(mine.status, 200, mine.text);
    const shared = await predict("key-a", "sentiment");
    assert.equal(shared.status, 200, shared.text);
    assert.deepEqual(mine.json.results[0].outputs, shared.json.results[0].outputs, "the same files give the same answer");
    assert.equal((await predict("key-b", "sentiment", "x-api-key")).status, 200);

    const other = await predict("key-b", "A/mine");
    const missing = await predict("key-b", "B/none");
    assert.equal(other.status, 404, other.text);
    assert.equal(missing.status, 404, missing.text);
    assert.equal(other.json.type, missing.json.type);
    // nested anywhere in a composition, or as a head, or in /v1/fuse
    assert.equal((await predict("key-b", { stack: ["sentiment", { parallel: ["topic", "A/mine"] }] })).status, 404);
    assert.equal((await predict("key-b", { batch_split: ["sentiment", "A/mine"], sizes: [1, 0] })).status, 404);
    const head = await call("/v1/predict", "key-b", { model: "bert-tiny", inputs: ["x"], tasks: [{ adapters: "sentiment", head: "A/mine" }] });
    assert.equal(head.status, 404, head.text);
    const fuse = await call("/v1/fuse", "key-b", { model: "bert-tiny", inputs: ["x"], fuse: ["A/mine", "topic"], fusion: "sentiment-fusion" });
    assert.equal(fuse.status, 404, fuse.text);
    // two slashes are not a name
    assert.equal((await predict("key-a", "A/mine/x")).status, 400);
  });

  test("listing shows the shared adapters and the key's own, never another tenant's", async () => {
    const a = await call("/v1/adapters", "key-a");
    const b = await call("/v1/adapters", "key-b");
    assert.equal(a.status, 200, a.text);
    const namesA: string[] = a.json.adapters.map((x: { name: string }) => x.name);
    const namesB: string[] = b.json.adapters.map((x: { name: string }) => x.name);
    assert.ok(namesA.includes("A/mine") && namesA.includes("sentiment"), namesA.join());
    assert.ok(!namesB.includes("A/mine") && namesB.includes("sentiment"), namesB.join());
    assert.ok(!namesA.includes("A") && !namesB.includes("A"), "a tenant folder is not an adapter");
    assert.deepEqual(namesB.sort(), namesA.filter((n) => !n.startsWith("A/")).sort());
    assert.ok(!b.text.includes("A/fa"), "another tenant's fusion is not named in the fusions of shared adapters");
    const entry = a.json.adapters.find((x: { name: string }) => x.name === "A/mine");
    assert.equal(entry.supported, true, JSON.stringify(entry));
  });

  test("a shared adapter named like a tenant: its files are its own; the tenant's adapters inside never show to others", async () => {
    const shared = await call("/v1/adapters/gamma", "key-a");
    assert.equal(shared.status, 200, shared.text);
    const files: string[] = shared.json.files.map((f: { name: string }) => f.name);
    assert.ok(files.includes("adapter_config.json"), files.join());
    assert.ok(!shared.text.includes("private_g"), `tenant gamma's folder leaks: ${files.join()}`);
    const sentiment = await call("/v1/adapters/sentiment", "key-a");
    assert.equal(shared.json.size, sentiment.json.size, "the size is the shared adapter's files only");
    const listed = await call("/v1/adapters", "key-a");
    assert.ok(!listed.text.includes("private_g"), "not in another tenant's listing");
    assert.equal((await predict("key-a", "gamma")).status, 200);
    assert.equal((await predict("key-a", "gamma/private_g")).status, 404);
    // tenant gamma sees both, and each is what it is
    const own = await call("/v1/adapters", "key-g");
    const names: string[] = own.json.adapters.map((x: { name: string }) => x.name);
    assert.ok(names.includes("gamma") && names.includes("gamma/private_g"), names.join());
    const g = await predict("key-g", "gamma/private_g");
    const topic = await predict("key-g", "topic");
    assert.equal(g.status, 200, g.text);
    assert.deepEqual(g.json.results[0].outputs, topic.json.results[0].outputs);
  });

  test("a tenant inspects its own adapter as tenant%2Fname; another tenant gets the 404 of a missing one", async () => {
    const mine = await call("/v1/adapters/A%2Fmine", "key-a");
    assert.equal(mine.status, 200, mine.text);
    assert.equal(mine.json.name, "A/mine");
    assert.ok(mine.json.fusions.includes("A/fa"), `the tenant's own fusion that fuses it: ${mine.json.fusions}`);
    assert.equal(mine.json.supported, true);
    const plain = await call("/v1/adapters/A/mine", "key-a");
    assert.equal(plain.status, 200, plain.text);
    assert.deepEqual(plain.json, mine.json, "the slash as it is works too");
    assert.equal((await call("/v1/adapters/A/mine", "key-b")).status, 404);
    const other = await call("/v1/adapters/A%2Fmine", "key-b");
    const missing = await call("/v1/adapters/B%2Fnone", "key-b");
    assert.equal(other.status, 404, other.text);
    assert.equal(missing.status, 404, missing.text);
    assert.equal(other.json.type, missing.json.type);
  });

  test("a shared fusion that lists a tenant's adapter is refused without naming it, to every tenant", async () => {
    for (const key of ["key-a", "key-b"]) {
      const fuse = await call("/v1/fuse", key, { model: "bert-tiny", inputs: ["x"], fusion: "leaky" });
      assert.ok(fuse.status === 404 || fuse.status === 422, fuse.text);
      assert.ok(!/mine/.test(fuse.text), `the tenant's adapter is named: ${fuse.text}`);
      const composed = await call("/v1/predict", key, { model: "bert-tiny", inputs: ["x"], tasks: [{ adapters: { fuse: ["sentiment", "topic", "formality"], fusion: "leaky" } }] });
      assert.equal(composed.status, 422, composed.text);
      assert.ok(!/mine/.test(composed.text), `the tenant's adapter is named: ${composed.text}`);
    }
    // the tenant's own fusion of the same adapters is found by its adapter list, for that tenant only
    const own = await call("/v1/fuse", "key-a", { model: "bert-tiny", inputs: ["x"], fuse: ["A/mine", "topic", "formality"] });
    assert.equal(own.status, 200, own.text);
    assert.equal(own.json.fusion, "A/fa");
    const shared = await call("/v1/fuse", "key-a", { model: "bert-tiny", inputs: ["x"], fuse: ["sentiment", "topic", "formality"] });
    assert.deepEqual(own.json.outputs, shared.json.outputs, "the same files give the same answer");
    assert.equal((await call("/v1/fuse", "key-b", { model: "bert-tiny", inputs: ["x"], fusion: "A/fa" })).status, 404);
  });

  test("polyhead ls and inspect show tenants' adapters as tenant/name; a server without keys lists them too", async () => {
    const entries = await ls(copy.dir);
    const names = entries.filter((e) => e.kind === "adapter").map((e) => e.name);
    assert.ok(names.includes("A/mine") && names.includes("gamma/private_g") && names.includes("gamma"), names.join());
    assert.ok(!names.includes("A"), "a tenant's namespace is not an entry");
    assert.ok(!entries.find((e) => e.name === "gamma")!.files.some((f) => f.name.includes("/")));
    const found = await inspect(copy.dir, "A/mine");
    assert.equal(found.kind, "adapter");
    assert.equal(found.prefix, "adapters/A/mine/");
    assert.deepEqual(found.problems, []);
    const open = await startServer(copy.dir, { models: ["bert-tiny"] });
    try {
      const listed = await answer(await fetch(`${open.url}/v1/adapters`));
      const all: string[] = listed.json.adapters.map((x: { name: string }) => x.name);
      assert.ok(all.includes("A/mine") && all.includes("gamma/private_g"), all.join());
      assert.equal((await answer(await fetch(`${open.url}/v1/adapters/A%2Fmine`))).status, 200);
    } finally {
      await open.close();
    }
  });

  test("unknown names suggest only names the key may use: its own and shared ones, never another tenant's or a tenant's namespace", async () => {
    const own = await predict("key-a", "A/mien");
    assert.equal(own.status, 404, own.text);
    assert.match(own.json.detail, /did you mean "A\/mine"\?/);
    for (const name of ["mine", "B/mine", "A/mien"]) {
      const other = await predict("key-b", name);
      assert.equal(other.status, 404, other.text);
      assert.doesNotMatch(other.json.detail, /did you mean.*A\//, `${name}: ${other.json.detail}`);
    }
    const namespace = await predict("key-b", "AA");
    assert.equal(namespace.status, 404);
    assert.doesNotMatch(namespace.json.detail, /did you mean "A"/, "a tenant's namespace is not an adapter");
    assert.match((await predict("key-b", "sentimen")).json.detail, /did you mean "sentiment"/, "shared names are suggested");
  });

  test("push --tenant lands in the tenant's namespace and is served to that tenant", async () => {
    const lines: string[] = [];
    const pushed = await push([path.join(ADAPTERHUB_FIXTURES, "adapters/topic")], { store: new LocalStore(copy.dir), tenant: "B", as: "pushed", quiet: true }, (l) => lines.push(l));
    assert.equal(pushed[0].prefix, "adapters/B/pushed/");
    assert.equal(pushed[0].name, "B/pushed");
    assert.equal((await predict("key-b", "B/pushed")).status, 200);
    assert.equal((await predict("key-a", "B/pushed")).status, 404);
    const names = (await call("/v1/adapters", "key-b")).json.adapters.map((x: { name: string }) => x.name);
    assert.ok(names.includes("B/pushed"), names.join());
    await assert.rejects(push([path.join(ADAPTERHUB_FIXTURES, "adapters/topic")], { store: new LocalStore(copy.dir), tenant: "../x", quiet: true }, () => {}), /tenant/);
    await assert.rejects(push([path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny")], { store: new LocalStore(copy.dir), tenant: "B", quiet: true }, () => {}), /models are shared/);
  });

  test("a key over its rate gets 429 with Retry-After, then is served again", async () => {
    assert.equal((await call("/v1/models", "key-rps")).status, 200);
    const limited = await call("/v1/models", "key-rps");
    assert.equal(limited.status, 429, limited.text);
    assert.ok(limited.json.type.endsWith("rate-limited"), limited.text);
    const wait = Number(limited.headers.get("retry-after"));
    assert.ok(Number.isInteger(wait) && wait >= 1, `Retry-After ${wait}`);
    assert.equal((await call("/v1/models", "key-a")).status, 200, "other keys are not limited");
    await new Promise((r) => setTimeout(r, wait * 1000 + 100));
    assert.equal((await call("/v1/models", "key-rps")).status, 200);
  });

  test("a key over its concurrency gets 429 while its other request is in flight", async () => {
    store.close();
    const slow = call("/v1/adapters", "key-one");
    try {
      const started = Date.now();
      while (store.waiting === 0) {
        assert.ok(Date.now() - started < 10_000, "the first request never reached the store");
        await new Promise((r) => setTimeout(r, 10));
      }
      const second = await call("/v1/models", "key-one");
      assert.equal(second.status, 429, second.text);
      assert.ok(Number(second.headers.get("retry-after")) >= 1);
      assert.equal((await call("/v1/models", "key-b")).status, 200, "the same tenant's other key is not limited");
    } finally {
      store.release();
    }
    assert.equal((await slow).status, 200);
    assert.equal((await call("/v1/models", "key-one")).status, 200, "served again once the first is answered");
  });
});
