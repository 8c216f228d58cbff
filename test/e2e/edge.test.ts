import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { PROBLEM_BASE, PROBLEM_BASE as SERVER_PROBLEM_BASE } from "../../src/core/problem.ts";
import { affinityKey, compositionNames, rank } from "../../src/edge/routing.ts";
import { ROOT, ADAPTERHUB_FIXTURES, LOCAL_FIXTURES } from "../support/paths.ts";
import { answer, copyStore, startServer } from "../support/server.ts";
import type { RunningServer } from "../../src/server/serve.ts";

// The edge Worker in the Workers runtime (Miniflare/workerd), routing to real
// polyhead servers. Each server sits behind a counting proxy on its own port:
// the proxy's URL is the backend, so the test sees which backend got what.

const KEY = "test-key-1";
const SECRET = "s3cret-between-edge-and-backends";
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

interface Proxy {
  url: string;
  port: number;
  hits: { path: string; secret: string | undefined }[];
  close(): Promise<void>;
}

function startProxy(target: string, port = 0): Promise<Proxy> {
  const hits: Proxy["hits"] = [];
  const server = http.createServer(async (req, res) => {
    hits.push({ path: req.url ?? "", secret: req.headers["x-polyhead-secret"] as string | undefined });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    try {
      const up = await fetch(target + req.url, {
        method: req.method,
        headers: { "content-type": req.headers["content-type"] ?? "application/json" },
        body: req.method === "GET" || req.method === "HEAD" ? undefined : Buffer.concat(chunks),
      });
      res.writeHead(up.status, { "content-type": up.headers.get("content-type") ?? "application/octet-stream" });
      res.end(Buffer.from(await up.arrayBuffer()));
    } catch {
      res.writeHead(502).end();
    }
  });
  return new Promise((resolve) =>
    server.listen(port, "127.0.0.1", () => {
      const p = (server.address() as AddressInfo).port;
      resolve({
        url: `http://127.0.0.1:${p}`,
        port: p,
        hits,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    }),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("edge worker (Miniflare)", () => {
  const stores: { cleanup: () => void }[] = [];
  const servers: RunningServer[] = [];
  const proxies: Proxy[] = [];
  let mf: Miniflare;
  let backendUrls: string[];

  const call = async (p: string, init: RequestInit & { key?: string | null } = {}) => {
    const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
    if (init.key !== null) headers.authorization = `Bearer ${init.key ?? KEY}`;
    const res = await mf.dispatchFetch(`http://edge.test${p}`, { method: init.method, headers, body: init.body as string | undefined });
    return answer(res as unknown as Response);
  };
  const predict = (body: unknown, key?: string | null) =>
    call("/v1/predict", { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body), key });
  // question answering reads [question, context] pairs
  const request = (adapters: unknown) => ({ model: "bert-tiny", inputs: [adapters === "qa" ? ["what was it?", "a wonderful film"] : "what a wonderful film"], tasks: [{ adapters }] });
  const totalHits = () => proxies.reduce((n, p) => n + p.hits.length, 0);
  const expectedOrder = (adapters: unknown) => rank(affinityKey("bert-tiny", compositionNames(adapters as never)), backendUrls);

  before(async () => {
    for (let i = 0; i < 3; i++) {
      const s = copyStore(ADAPTERHUB_FIXTURES, () => true);
      stores.push(s);
      // a translation model with two domain adapters beside the encoder
      const seq2seq = path.join(LOCAL_FIXTURES, "seq2seq");
      for (const f of ["models/bart-s2s", "adapters/bart-news", "adapters/bart-legal"]) cpSync(path.join(seq2seq, f), path.join(s.dir, f), { recursive: true });
      const server = await startServer(s.dir);
      servers.push(server);
      proxies.push(await startProxy(server.url));
    }
    backendUrls = proxies.map((p) => p.url);
    const out = await build({
      entryPoints: [path.join(ROOT, "functions/worker.ts")],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      mainFields: ["module", "main"],
      conditions: ["workerd", "worker", "browser"],
      external: ["cloudflare:workers"],
      write: false,
      logLevel: "error",
    });
    mf = new Miniflare({
      modules: true,
      script: out.outputFiles[0].text,
      compatibilityDate: "2025-01-01",
      bindings: {
        API_KEYS: `${sha("another-key")}, ${sha(KEY)}`,
        BACKENDS: JSON.stringify(backendUrls),
        BACKEND_SECRET: SECRET,
        BACKEND_COOLDOWN_MS: "1500",
      },
      r2Buckets: ["STORE"],
    });
    await mf.ready;
  });

  after(async () => {
    await mf?.dispose();
    for (const p of proxies) await p.close().catch(() => {});
    for (const s of servers) await s.close().catch(() => {});
    for (const s of stores) s.cleanup();
  });

  test("uses the server's problem format", () => {
    assert.equal(PROBLEM_BASE, SERVER_PROBLEM_BASE);
  });

  test("GET /healthz answers without a key", async () => {
    const r = await call("/healthz", { key: null });
    assert.equal(r.status, 200);
    assert.equal(r.json.status, "ok");
    assert.equal(r.json.backends, 3);
  });

  test("refuses a missing or wrong key with 401, accepts Bearer and x-api-key", async () => {
    const before = totalHits();
    const none = await predict(request("sentiment"), null);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("content-type"), "application/problem+json");
    assert.equal(none.json.type, "https://polyhead.dev/problems/unauthorized");
    assert.equal(none.json.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
    const wrong = await predict(request("sentiment"), "test-key-2");
    assert.equal(wrong.status, 401);
    const wrongHeader = await call("/v1/adapters", { key: null, headers: { "x-api-key": sha(KEY) } });
    assert.equal(wrongHeader.status, 401, "the hash itself is not a key");
    assert.equal(totalHits(), before, "a refused request reaches no backend");

    const ok = await predict(request("sentiment"));
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json.results[0].head, "sentiment");
    const viaHeader = await call("/v1/predict", {
      method: "POST",
      key: null,
      headers: { "x-api-key": KEY, "content-type": "application/json" },
      body: JSON.stringify(request("topic")),
    });
    assert.equal(viaHeader.status, 200, JSON.stringify(viaHeader.json));
    assert.equal(viaHeader.json.results[0].head, "topic");
  });

  test("rejects invalid requests at the edge, before any backend", async () => {
    const before = totalHits();
    const missing = await predict({ model: "bert-tiny", inputs: ["x"] });
    assert.equal(missing.status, 400);
    assert.equal(missing.json.type, "https://polyhead.dev/problems/invalid-request");
    assert.equal(missing.json.field, "tasks");
    const badName = await predict(request("../etc"));
    assert.equal(badName.status, 400);
    const notJson = await predict("{not json");
    assert.equal(notJson.status, 400);
    assert.equal(notJson.json.type, "https://polyhead.dev/problems/invalid-json");
    const badSplit = await predict({ ...request({ batch_split: ["sentiment", "topic"], sizes: [1, 1] }) });
    assert.equal(badSplit.status, 422);
    assert.equal(badSplit.json.type, "https://polyhead.dev/problems/invalid-composition");
    assert.equal(badSplit.json.field, "tasks[0].adapters.sizes");
    const badFuse = await call("/v1/fuse", { method: "POST", body: JSON.stringify({ model: "bert-tiny", inputs: ["x"] }) });
    assert.equal(badFuse.status, 400);
    assert.equal(badFuse.json.field, "fuse");
    assert.equal(totalHits(), before, "no backend was contacted");
    // The counter does count: a valid request reaches exactly one backend.
    assert.equal((await predict(request("sentiment"))).status, 200);
    assert.equal(totalHits(), before + 1);
  });

  test("routes /v1/generate and /v1/score with adapter affinity, validating at the edge", async () => {
    const post = (p: string, body: unknown) => call(p, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const before = totalHits();
    const bad = await post("/v1/generate", { model: "bart-s2s", inputs: ["x"], tasks: [{ adapters: "bart-news" }], options: { num_beams: 1000 } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.field, "options.num_beams");
    const mismatch = await post("/v1/score", { model: "bart-s2s", inputs: ["a", "b"], targets: ["a"], tasks: [{ adapters: null }] });
    assert.equal(mismatch.status, 400);
    assert.equal(totalHits(), before, "no backend was contacted");
    const body = { model: "bart-s2s", inputs: ["The movie was great!"], tasks: [{ adapters: "bart-news" }], options: { max_new_tokens: 5 } };
    const a = await post("/v1/generate", body);
    const b = await post("/v1/generate", body);
    assert.equal(a.status, 200, JSON.stringify(a.json));
    assert.equal(a.json.results[0].outputs[0][0].token_ids.length > 0, true);
    assert.equal(a.headers.get("x-polyhead-backend"), b.headers.get("x-polyhead-backend"));
    assert.equal(a.headers.get("x-polyhead-backend"), rank(affinityKey("bart-s2s", ["bart-news"]), backendUrls)[0]);
    const score = await post("/v1/score", { model: "bart-s2s", inputs: ["The movie was great!"], targets: ["Der Film war toll!"], tasks: [{ adapters: "bart-legal" }] });
    assert.equal(score.status, 200, JSON.stringify(score.json));
    assert.equal(score.headers.get("x-polyhead-backend"), rank(affinityKey("bart-s2s", ["bart-legal"]), backendUrls)[0]);
    assert.ok(score.json.results[0].outputs[0].logprob < 0);
  });

  test("sends the shared secret to backends", () => {
    const hits = proxies.flatMap((p) => p.hits);
    assert.ok(hits.length > 0);
    for (const h of hits) assert.equal(h.secret, SECRET);
  });

  const SETS: unknown[] = [
    "sentiment", "topic", "formality", "qa", "nli", "ner", "rating", "toxicity", "lora_sent", "ia3_topic",
    { stack: ["lang_en", "sentiment"] },
    { parallel: ["sentiment", "topic"] },
  ];

  test("the same adapter set always lands on the same backend, and sets spread", async () => {
    const seen = new Map<string, Set<string>>();
    for (let round = 0; round < 2; round++) {
      for (const s of SETS) {
        const counts = proxies.map((p) => p.hits.length);
        const r = await predict(request(s));
        assert.equal(r.status, 200, JSON.stringify(r.json));
        const backend = r.headers.get("x-polyhead-backend");
        assert.ok(backend, "the edge names the backend");
        const hit = proxies.findIndex((p, i) => p.hits.length === counts[i] + 1);
        assert.equal(backendUrls[hit], backend, "the header names the backend that answered");
        assert.equal(backend, expectedOrder(s)[0], "the first in rendezvous order");
        const k = JSON.stringify(s);
        seen.set(k, (seen.get(k) ?? new Set()).add(backend!));
      }
    }
    for (const [k, b] of seen) assert.equal(b.size, 1, `${k} went to ${[...b]}`);
    const used = new Set([...seen.values()].map((b) => [...b][0]));
    assert.ok(used.size >= 2, `adapter sets spread over ${used.size} backend(s)`);
    // Order within the set does not matter.
    const a = await predict({ model: "bert-tiny", inputs: ["x"], tasks: [{ adapters: { parallel: ["topic", "sentiment"] } }] });
    const b = await predict({ model: "bert-tiny", inputs: ["x"], tasks: [{ adapters: "sentiment" }, { adapters: "topic" }] });
    assert.equal(a.headers.get("x-polyhead-backend"), seen.get(JSON.stringify({ parallel: ["sentiment", "topic"] }))!.values().next().value);
    assert.equal(b.headers.get("x-polyhead-backend"), a.headers.get("x-polyhead-backend"));
  });

  test("skips a dead backend, then takes it back after its /healthz answers again", async () => {
    // The backend most adapter sets hash to goes away: proxy and server.
    const first = SETS.map((s) => expectedOrder(s)[0]);
    const victim = backendUrls.reduce((best, u) => (first.filter((f) => f === u).length > first.filter((f) => f === best).length ? u : best));
    const vi = backendUrls.indexOf(victim);
    const mine = SETS.filter((_, i) => first[i] === victim);
    assert.ok(mine.length > 0);
    await proxies[vi].close();
    await servers[vi].close();

    for (const s of mine) {
      const r = await predict(request(s));
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.headers.get("x-polyhead-backend"), expectedOrder(s)[1], "spilled to the next in hash order");
    }
    // Others stay where they were.
    const other = SETS.find((_, i) => first[i] !== victim)!;
    assert.equal((await predict(request(other))).headers.get("x-polyhead-backend"), expectedOrder(other)[0]);

    // The instance comes back on the same port (in front of a live server);
    // after the cool-down (1.5 s, long enough for a busy machine) its /healthz is probed and it is used again.
    const alive = servers[(vi + 1) % servers.length];
    proxies[vi] = await startProxy(alive.url, Number(new URL(victim).port));
    const still = await predict(request(mine[0]));
    assert.notEqual(still.headers.get("x-polyhead-backend"), victim, "still marked down within its cool-down");
    await sleep(1700);
    const back = await predict(request(mine[0]));
    assert.equal(back.status, 200);
    assert.equal(back.headers.get("x-polyhead-backend"), victim);
    assert.ok(proxies[vi].hits.some((h) => h.path === "/healthz"), "it was re-probed");
  });

  test("GET /v1/adapters lists the R2 store", async () => {
    const bucket = await mf.getR2Bucket("STORE");
    for (const name of ["sentiment", "lora_sent", "ia3_topic"]) {
      await bucket.put(`adapters/${name}/adapter_config.json`, readFileSync(path.join(ADAPTERHUB_FIXTURES, "adapters", name, "adapter_config.json"), "utf8"));
    }
    await bucket.put("adapters/broken/adapter_config.json", "{nope");
    await bucket.put("adapters/no_config/model.safetensors", "x");
    // a tenant's namespace: its name is not an adapter, and the edge (which has no tenants) lists neither it nor what it holds
    await bucket.put("adapters/acme/secret/adapter_config.json", readFileSync(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment/adapter_config.json"), "utf8"));
    const before = totalHits();
    assert.equal((await call("/v1/adapters", { key: null })).status, 401);
    const r = await call("/v1/adapters");
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const byName = Object.fromEntries(r.json.adapters.map((a: any) => [a.name, a]));
    assert.deepEqual(Object.keys(byName), ["broken", "ia3_topic", "lora_sent", "no_config", "sentiment"]);
    assert.equal(byName.sentiment.type, "bottleneck");
    assert.equal(byName.lora_sent.type, "lora");
    assert.equal(byName.ia3_topic.type, "ia3");
    assert.equal(byName.sentiment.hidden_size, 32);
    assert.equal(byName.broken.supported, false);
    assert.equal(byName.no_config.supported, false);
    assert.equal(totalHits(), before, "answered from R2, not a backend");
  });
});
