import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { get, post, startServer } from "../support/server.ts";
import { ADAPTERHUB_FIXTURES } from "../support/paths.ts";
import { serve, type RunningServer } from "../../src/server/serve.ts";
import { createApp } from "../../src/api/app.ts";
import { StoreUnavailableError } from "../../src/core/errors.ts";

// The HTTP API beyond /v1/predict: fusion, store inventory, readiness,
// metrics, OpenAPI document, docs page, request ids and logs.

const FUSED = ["sentiment", "topic", "formality"];
const INPUTS = ["what a wonderful film", "the service was terrible", ["who is there?", "Alice is at the door"]];

/** The value of one sample line of a Prometheus exposition, e.g. metric('polyhead_tokens_total'). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function until<T>(f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - started > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("HTTP API over the AdapterHub golden store", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(ADAPTERHUB_FIXTURES);
  });
  after(() => server.close());

  test("/readyz answers 200 with the model once it is loaded", async () => {
    const res = await until(async () => {
      const r = await get(`${server.url}/readyz`);
      return r.status === 200 ? r : undefined;
    });
    assert.deepEqual(res.json, { status: "ready", models: ["bert-tiny"] });
  });

  test("POST /v1/fuse: labels, attention shape, rows sum to 1, same numbers as /v1/predict", async () => {
    const fuse = await post(`${server.url}/v1/fuse`, {
      model: "bert-tiny",
      inputs: INPUTS,
      fuse: FUSED,
      options: { return_fusion_attention: true, return_logits: true },
    });
    assert.equal(fuse.status, 200, JSON.stringify(fuse.json));
    const body = fuse.json;
    assert.equal(body.model, "bert-tiny");
    assert.equal(body.fusion, "sentiment-fusion");
    assert.deepEqual(body.adapters, FUSED);
    assert.equal(body.head, "sentiment,topic,formality");
    assert.equal(body.type, "classification");
    assert.equal(body.outputs.length, INPUTS.length);

    const labels = new Set(["negative", "positive"]);
    for (const [i, row] of body.outputs.entries()) {
      assert.ok(labels.has(row.label), `row ${i}: label ${row.label}`);
      assert.deepEqual(Object.keys(row.scores).sort(), ["negative", "positive"]);
      const layers = Object.keys(row.fusion_attention);
      assert.deepEqual(layers.sort(), ["0", "1"], "bert-tiny has two layers, each with a fusion");
      for (const layer of layers) {
        for (const [loc, matrix] of Object.entries(row.fusion_attention[layer]) as [string, number[][]][]) {
          assert.ok(["mh_adapter", "output_adapter"].includes(loc), loc);
          assert.ok(matrix.length >= 3, "one row per real token, [CLS] and [SEP] included");
          for (const weights of matrix) {
            assert.equal(weights.length, FUSED.length, "one column per fused adapter");
            const sum = weights.reduce((a, b) => a + b, 0);
            assert.ok(Math.abs(sum - 1) < 1e-5, `attention row sums to ${sum}`);
            assert.ok(weights.every((w) => w >= 0 && w <= 1));
          }
        }
      }
    }
    // the pair (input 2) has more real tokens than the short sentence (input 0)
    assert.ok(body.outputs[2].fusion_attention["0"].output_adapter.length > body.outputs[0].fusion_attention["0"].output_adapter.length);

    const predict = await post(`${server.url}/v1/predict`, {
      model: "bert-tiny",
      inputs: INPUTS,
      tasks: [{ adapters: { fuse: FUSED } }],
      options: { return_fusion_attention: true, return_logits: true },
    });
    assert.equal(predict.status, 200, JSON.stringify(predict.json));
    assert.deepEqual(body.outputs, predict.json.results[0].outputs);
  });

  test("POST /v1/fuse by fusion name alone finds its adapters; attention only on request", async () => {
    const res = await post(`${server.url}/v1/fuse`, { model: "bert-tiny", inputs: ["a fine day"], fusion: "sentiment-fusion" });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(res.json.adapters, FUSED);
    assert.equal(res.json.outputs.length, 1);
    assert.equal(res.json.outputs[0].fusion_attention, undefined);
    assert.equal(res.json.outputs[0].logits, undefined);
  });

  test("POST /v1/fuse errors: neither fuse nor fusion → 400, unknown fusion → 404, wrong adapter order → 422", async () => {
    const none = await post(`${server.url}/v1/fuse`, { model: "bert-tiny", inputs: ["x"] });
    assert.equal(none.status, 400);
    assert.equal(none.headers.get("content-type"), "application/problem+json");
    assert.equal(none.json.type, "https://polyhead.dev/problems/invalid-request");

    const unknown = await post(`${server.url}/v1/fuse`, { model: "bert-tiny", inputs: ["x"], fusion: "no-such-fusion" });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.type, "https://polyhead.dev/problems/not-found");

    const noFusion = await post(`${server.url}/v1/fuse`, { model: "bert-tiny", inputs: ["x"], fuse: ["sentiment", "ner"] });
    assert.equal(noFusion.status, 404, JSON.stringify(noFusion.json));

    const reordered = await post(`${server.url}/v1/fuse`, { model: "bert-tiny", inputs: ["x"], fuse: ["topic", "sentiment", "formality"], fusion: "sentiment-fusion" });
    assert.equal(reordered.status, 422, JSON.stringify(reordered.json));
    assert.equal(reordered.json.type, "https://polyhead.dev/problems/invalid-adapter");

    const unknownModel = await post(`${server.url}/v1/fuse`, { model: "gpt-9", inputs: ["x"], fuse: FUSED });
    assert.equal(unknownModel.status, 404);
  });

  test("GET /v1/models reads config.json", async () => {
    const res = await get(`${server.url}/v1/models`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.models, [
      { name: "bert-tiny", model_type: "bert", hidden_size: 32, layers: 2, attention_heads: 4, max_position_embeddings: 64, supported: true },
    ]);
  });

  test("GET /v1/adapters lists every adapter folder with type, head and fusions", async () => {
    const res = await get(`${server.url}/v1/adapters`);
    assert.equal(res.status, 200);
    const byName = new Map<string, any>(res.json.adapters.map((a: any) => [a.name, a]));
    assert.equal(byName.size, 12);
    assert.equal(byName.get("sentiment").type, "bottleneck");
    assert.equal(byName.get("lora_sent").type, "lora");
    assert.equal(byName.get("ia3_topic").type, "ia3");
    assert.equal(byName.get("lang_en").head, null);
    assert.deepEqual(byName.get("topic").fusions, ["sentiment-fusion"]);
    assert.deepEqual(byName.get("ner").fusions, []);
    assert.equal(byName.get("ner").head.type, "tagging");
    assert.equal(byName.get("qa").head.type, "question_answering");
    for (const a of byName.values()) {
      assert.ok(a.size > 0 && a.etag, a.name);
      assert.equal(a.files, undefined, "the list leaves out files and config");
    }
  });

  test("GET /v1/adapters/{name}: config, head labels, files, size, ETag, fusions", async () => {
    const res = await get(`${server.url}/v1/adapters/sentiment`);
    assert.equal(res.status, 200);
    const a = res.json;
    assert.equal(a.type, "bottleneck");
    assert.equal(a.config.reduction_factor, 16);
    assert.equal(a.config.output_adapter, true);
    assert.deepEqual(a.head.labels, ["negative", "positive"]);
    assert.equal(a.head.type, "classification");
    assert.ok(a.fusions.includes("sentiment-fusion"));
    const files = a.files.map((f: any) => f.name).sort();
    assert.deepEqual(files, ["adapter.safetensors", "adapter_config.json", "head_config.json", "model_head.safetensors", "pytorch_adapter.bin", "pytorch_model_head.bin"]);
    assert.equal(a.size, a.files.reduce((n: number, f: any) => n + f.size, 0));
    const config = a.files.find((f: any) => f.name === "adapter_config.json");
    assert.equal(a.etag, config.etag, "without a manifest the ETag is adapter_config.json's");
    assert.equal(res.headers.get("etag"), a.etag);
  });

  test("unknown adapter → 404 problem; a hostile name → 400", async () => {
    const res = await get(`${server.url}/v1/adapters/nope`);
    assert.equal(res.status, 404);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    assert.equal(res.json.type, "https://polyhead.dev/problems/not-found");
    assert.match(res.json.detail, /nope/);
    const bad = await get(`${server.url}/v1/adapters/..%2F..%2Fetc`);
    assert.equal(bad.status, 400);
  });

  test("/metrics after a predict: request histogram by route pattern, tokens, batch rows, load times", async () => {
    const pred = await post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs: ["a fine day"], tasks: [{ adapters: "rating" }] });
    assert.equal(pred.status, 200);
    await get(`${server.url}/v1/adapters/topic`);
    const res = await get(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    const m = res.text;
    assert.ok((sample(m, "polyhead_http_request_duration_seconds_count", { method: "POST", route: "/v1/predict", status: "200" }) ?? 0) >= 1);
    assert.ok((sample(m, "polyhead_http_requests_total", { method: "POST", route: "/v1/predict", status: "200" }) ?? 0) >= 1);
    // the route pattern, never the raw path
    assert.ok((sample(m, "polyhead_http_requests_total", { route: "/v1/adapters/:name", status: "200" }) ?? 0) >= 1);
    assert.ok(!m.includes('route="/v1/adapters/topic"'));
    assert.ok((sample(m, "polyhead_tokens_total") ?? 0) > 0);
    assert.ok((sample(m, "polyhead_batch_rows_count") ?? 0) > 0);
    assert.ok((sample(m, "polyhead_load_duration_seconds_count", { kind: "adapter" }) ?? 0) > 0);
    assert.ok((sample(m, "polyhead_load_duration_seconds_count", { kind: "model" }) ?? 0) > 0);
    // the server's own file cache: the adapter's files were fetched from the store
    assert.ok((sample(m, "polyhead_cache_misses") ?? 0) >= 1, "cache misses counted");
    assert.ok((sample(m, "polyhead_cache_bytes") ?? 0) > 0, "cache bytes reported");
  });

  test("/openapi.json documents every route; /docs is an HTML page", async () => {
    const res = await get(`${server.url}/openapi.json`);
    assert.equal(res.status, 200);
    assert.equal(res.json.openapi, "3.1.0");
    for (const p of ["/v1/predict", "/v1/fuse", "/v1/models", "/v1/adapters", "/v1/adapters/{name}", "/readyz", "/healthz", "/metrics", "/docs", "/"]) {
      assert.ok(res.json.paths[p], `missing ${p}`);
    }
    assert.ok(res.json.paths["/v1/fuse"].post.requestBody);
    assert.ok(res.json.components.schemas.Composition, "the recursive composition grammar is a named component");
    const docs = await get(`${server.url}/docs`);
    assert.equal(docs.status, 200);
    assert.match(docs.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(docs.text, /<title>polyhead API<\/title>/);
    assert.match(docs.text, /\/openapi\.json/);
    assert.ok(!/https?:\/\/(?!polyhead)/.test(docs.text), "no external resources");
  });

  test("x-request-id: a sane incoming id is echoed, a bad one replaced", async () => {
    const mine = await get(`${server.url}/healthz`, { "x-request-id": "req-42.abc" });
    assert.equal(mine.headers.get("x-request-id"), "req-42.abc");
    const bad = await get(`${server.url}/healthz`, { "x-request-id": "x".repeat(500) });
    const id = bad.headers.get("x-request-id") ?? "";
    assert.match(id, /^[0-9a-f-]{36}$/);
    const problem = await get(`${server.url}/v1/adapters/nope`, { "x-request-id": "err-1" });
    assert.equal(problem.headers.get("x-request-id"), "err-1", "errors carry the id too");
  });
});

describe("readiness, logs and cache metrics", () => {
  test("/readyz is 503 while a preloaded model cannot be loaded", async () => {
    const server = await serve({ store: ADAPTERHUB_FIXTURES, port: 0, quiet: true, models: ["missing-model"] });
    try {
      const res = await get(`${server.url}/readyz`);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      assert.ok(res.headers.get("retry-after"));
      assert.match(res.json.detail, /missing-model/);
      // liveness is unaffected
      assert.equal((await get(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.close();
    }
  });

  test("one structured log line per request, with id, method, route, status and duration", async () => {
    const lines: any[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split("\n")) if (l.trim()) lines.push(JSON.parse(l));
        done();
      },
    });
    const server = await serve({ store: ADAPTERHUB_FIXTURES, port: 0, logDestination: sink, models: [] });
    try {
      await get(`${server.url}/v1/adapters/sentiment`, { "x-request-id": "log-test-1" });
      await get(`${server.url}/nowhere`, { "x-request-id": "log-test-2" });
      const one = await until(async () => lines.find((l) => l.req_id === "log-test-1"));
      assert.equal(one.msg, "request");
      assert.equal(one.method, "GET");
      assert.equal(one.route, "/v1/adapters/:name");
      assert.equal(one.path, "/v1/adapters/sentiment");
      assert.equal(one.status, 200);
      assert.equal(typeof one.ms, "number");
      const two = await until(async () => lines.find((l) => l.req_id === "log-test-2"));
      assert.equal(two.status, 404);
      assert.equal(two.route, "unmatched");
      assert.equal(lines.filter((l) => l.req_id === "log-test-1").length, 1);
    } finally {
      await server.close();
    }
  });

  test("cache gauges come from the cacheStats dependency", async () => {
    let hits = 7;
    const server = await serve({
      store: ADAPTERHUB_FIXTURES,
      port: 0,
      quiet: true,
      models: [],
      cacheStats: () => ({ hits, misses: 2, bytes: 12345, entries: 3 }),
    });
    try {
      let m = (await get(`${server.url}/metrics`)).text;
      assert.equal(sample(m, "polyhead_cache_hits"), 7);
      assert.equal(sample(m, "polyhead_cache_misses"), 2);
      assert.equal(sample(m, "polyhead_cache_bytes"), 12345);
      assert.equal(sample(m, "polyhead_cache_entries"), 3);
      hits = 9;
      m = (await get(`${server.url}/metrics`)).text;
      assert.equal(sample(m, "polyhead_cache_hits"), 9, "read at each scrape");
      // with nothing to preload the server is ready at once
      assert.equal((await get(`${server.url}/readyz`)).status, 200);
    } finally {
      await server.close();
    }
  });
});

describe("store outages", () => {
  test("a store that cannot be reached answers 503 problem+json with Retry-After", async () => {
    const down = async () => {
      throw new StoreUnavailableError("bucket unreachable");
    };
    const store = { description: "down", get: down, head: down, list: down, listFolders: down, put: down };
    const app = createApp({ engine: {} as never, fusions: {} as never, store });
    for (const path of ["/v1/adapters", "/v1/adapters/sentiment", "/v1/models"]) {
      const res = await app.request(path);
      assert.equal(res.status, 503, path);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      assert.equal(res.headers.get("retry-after"), "5");
      assert.equal((await res.json()).type, "https://polyhead.dev/problems/store-unavailable");
    }
  });
});

test("with a backend secret, /v1/* needs x-polyhead-secret; /healthz does not", async () => {
  const server = await startServer(ADAPTERHUB_FIXTURES, { backendSecret: "s3cret-shared" });
  try {
    const body = { model: "bert-tiny", inputs: ["fine"], tasks: [{ adapters: "sentiment" }] };
    const refused = await post(`${server.url}/v1/predict`, body);
    assert.equal(refused.status, 401);
    assert.equal(refused.json.type, "https://polyhead.dev/problems/unauthorized");
    const wrong = await fetch(`${server.url}/v1/predict`, { method: "POST", headers: { "content-type": "application/json", "x-polyhead-secret": "s3cret-sharex" }, body: JSON.stringify(body) });
    assert.equal(wrong.status, 401);
    const ok = await fetch(`${server.url}/v1/predict`, { method: "POST", headers: { "content-type": "application/json", "x-polyhead-secret": "s3cret-shared" }, body: JSON.stringify(body) });
    assert.equal(ok.status, 200);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  } finally {
    await server.close();
  }
});
