import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { answer, post, startServer, type Answer } from "../support/server.ts";
import { writeRandomStore } from "../support/random-store.ts";
import { ADAPTERHUB_FIXTURES } from "../support/paths.ts";
import type { RunningServer } from "../../src/server/serve.ts";

// Overload over a real socket: a server whose queue holds a few rows is sent
// far more than it can hold at once. The excess must be refused at once with
// 503 `overloaded` and Retry-After, every request must get an answer, the
// answers served must be the ones a lone request gets, and /healthz must keep
// answering. (How fast is measured by `npm run load`, not here.)

const TEXTS = ["The movie was great!", "I really did not like the acting, it was boring and too long.", "Paris is a beautiful city in France."];
const BODIES = [
  { model: "bert-tiny", inputs: TEXTS.slice(0, 2), tasks: [{ adapters: "sentiment" }] },
  { model: "bert-tiny", inputs: TEXTS, tasks: [{ adapters: { parallel: ["topic", "formality"] } }] },
  { model: "bert-tiny", inputs: TEXTS.slice(1), tasks: [{ adapters: { stack: ["lang_en", "sentiment"] } }] },
];
/** far longer than any answer takes: a request without an answer by then is stuck */
const CLIENT_TIMEOUT_MS = 60_000;

const longText = (words: number) => Array.from({ length: words }, (_, i) => ["the", "film", "was", "good", "and", "long", "day"][i % 7]).join(" ");

/** Labels and scores of every row of every task, for comparing answers (batching may move the last digits). */
function outputsOf(a: Answer): { label: string; score: number }[][] {
  return a.json.results.map((r: { outputs: { label: string; score: number }[] }) => r.outputs.map((o) => ({ label: o.label, score: o.score })));
}

function assertSameOutputs(got: Answer, want: Answer, what: string) {
  const g = outputsOf(got);
  const w = outputsOf(want);
  assert.equal(g.length, w.length, what);
  g.forEach((rows, t) =>
    rows.forEach((o, i) => {
      assert.equal(o.label, w[t][i].label, `${what}: task ${t} row ${i}`);
      assert.ok(Math.abs(o.score - w[t][i].score) < 1e-4, `${what}: task ${t} row ${i}: ${o.score} vs ${w[t][i].score}`);
    }),
  );
}

async function tokensRun(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^polyhead_tokens_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

describe("overload", () => {
  let server: RunningServer;
  before(async () => {
    // a queue of 4 rows: one or two requests at once, the rest are refused
    server = await startServer(ADAPTERHUB_FIXTURES, { admission: { maxQueuedRows: 4, maxQueuedTokens: 4096 } });
  });
  after(() => server.close());

  test("far over capacity: the excess gets 503 overloaded + Retry-After, every request an answer, the served ones correct, /healthz answers", async () => {
    const alone: Answer[] = [];
    for (const b of BODIES) alone.push(await post(`${server.url}/v1/predict`, b));
    for (const a of alone) assert.equal(a.status, 200, a.text);


    let bursting = true;
    const health: number[] = [];
    const prober = (async () => {
      while (bursting) {
        const res = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
        health.push(res.status);
        await res.body?.cancel();
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const burst = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const body = BODIES[i % BODIES.length];
        try {
          const res = await fetch(`${server.url}/v1/predict`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
          });
          return { i, answer: await answer(res) };
        } catch (e) {
          return { i, error: String(e) };
        }
      }),
    );
    bursting = false;
    await prober;

    const unanswered = burst.filter((b) => b.error);
    assert.deepEqual(unanswered, [], "every request gets an answer");
    const served = burst.filter((b) => b.answer!.status === 200);
    const shed = burst.filter((b) => b.answer!.status === 503);
    assert.equal(served.length + shed.length, burst.length, `only 200 and 503: ${JSON.stringify(burst.filter((b) => ![200, 503].includes(b.answer!.status)).map((b) => b.answer!.text))}`);
    assert.ok(served.length > 0, "some requests are served");
    assert.ok(shed.length > 0, "the excess is refused");
    for (const { answer: a } of shed) {
      assert.equal(a!.headers.get("content-type"), "application/problem+json");
      assert.equal(a!.json.type, "https://polyhead.dev/problems/overloaded");
      assert.match(a!.json.detail, /bert-tiny.*queued.*retry after \d+ s/);
      assert.match(a!.headers.get("retry-after") ?? "", /^[1-9]\d*$/, "Retry-After in whole seconds");
    }
    for (const { i, answer: a } of served) assertSameOutputs(a!, alone[i % BODIES.length], `request ${i}`);
    assert.ok(health.length > 0, "/healthz was asked during the burst");
    assert.deepEqual([...new Set(health)], [200], "/healthz answered every time");

    // the queue empties again: a request alone is served
    const after = await post(`${server.url}/v1/predict`, BODIES[0]);
    assert.equal(after.status, 200, after.text);
    assertSameOutputs(after, alone[0], "after the burst");
  });

  test("work over the per-request budget gets 413 over-budget naming the budget (not a 500 after the work); the server keeps serving", async () => {
    // the request: 64 long inputs, two tasks of 9 parallel branches, with hidden states (bert-tiny keeps 64 tokens a row)
    const nine = { parallel: Array(9).fill("sentiment") };
    const huge = { model: "bert-tiny", inputs: Array(64).fill(longText(600)), tasks: [{ adapters: nine }, { adapters: nine }], options: { max_length: 512, return_hidden_states: true } };
    const bytes = await post(`${server.url}/v1/predict`, huge);
    assert.equal(bytes.status, 413, bytes.text);
    assert.equal(bytes.json.type, "https://polyhead.dev/problems/over-budget");
    assert.match(bytes.json.detail, /about 47 MiB of JSON \(64 inputs over 18 branches, 73,728 real tokens\).*budget of 32 MiB \(--max-response-bytes \/ POLYHEAD_MAX_RESPONSE_BYTES\)/);

    // without hidden states, but four such tasks: 147,456 tokens of encoder work
    const many = { ...huge, tasks: [{ adapters: nine }, { adapters: nine }, { adapters: nine }, { adapters: nine }], options: { max_length: 512 } };
    const tokens = await post(`${server.url}/v1/predict`, many);
    assert.equal(tokens.status, 413, tokens.text);
    assert.equal(tokens.json.type, "https://polyhead.dev/problems/over-budget");
    assert.match(tokens.json.detail, /147,456 encoder tokens \(64 inputs over 36 branches.*budget of 131,072 per request \(--max-request-tokens \/ POLYHEAD_MAX_REQUEST_TOKENS\)/);

    const good = await post(`${server.url}/v1/predict`, BODIES[0]);
    assert.equal(good.status, 200, good.text);
  });
});

describe("disconnected clients", () => {
  let dir: string;
  let server: RunningServer;
  before(async () => {
    // a model large enough that a long request keeps the inference worker busy for a while
    dir = mkdtempSync(path.join(os.tmpdir(), "polyhead-overload-"));
    writeRandomStore(dir, { hidden: 256, layers: 6, heads: 4, intermediate: 1024, maxPositions: 512, adapters: 2 });
    server = await startServer(dir);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a request whose client goes away while it waits behind a long one never runs", async () => {
    const text = longText(300);
    // how many tokens one row of the long text runs
    let before = await tokensRun(server.url);
    assert.equal((await post(`${server.url}/v1/predict`, { model: "random", inputs: [text], tasks: [{ adapters: "a0" }], options: { max_length: 256 } })).status, 200);
    const perRow = (await tokensRun(server.url)) - before;
    assert.equal(perRow, 256);

    before = await tokensRun(server.url);
    // a long request: 32 rows of 256 tokens keep the inference worker busy
    const long = post(`${server.url}/v1/predict`, { model: "random", inputs: Array(16).fill(text), tasks: [{ adapters: { parallel: ["a0", "a1"] } }], options: { max_length: 256 } });
    await new Promise((r) => setTimeout(r, 300));
    const gone = new AbortController();
    const waiting = fetch(`${server.url}/v1/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "random", inputs: ["a short text that waits"], tasks: [{ adapters: "a1" }] }),
      signal: gone.signal,
    });
    await new Promise((r) => setTimeout(r, 300));
    gone.abort();
    await assert.rejects(waiting);
    const done = await long;
    assert.equal(done.status, 200, done.text);
    // let the server see the closed connection through, then count: only the long request's rows ran
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await tokensRun(server.url)) - before, 32 * perRow, "the abandoned request's tokens never reached the encoder");
    const good = await post(`${server.url}/v1/predict`, { model: "random", inputs: ["still serving"], tasks: [{ adapters: "a1" }] });
    assert.equal(good.status, 200, good.text);
  });
});

// The HTTP thread itself overloaded (with a small model it, not the encoder, is
// the bottleneck): a server that refuses while its event loop is more than 1 ms
// late, made late on purpose while a burst is in flight.
describe("overload of the HTTP thread (--max-event-loop-delay)", () => {
  let server: RunningServer;
  before(async () => {
    // a client in this process cannot keep the default 32 requests in flight
    server = await startServer(ADAPTERHUB_FIXTURES, { maxEventLoopDelayMs: 1, shedMinInFlight: 2 });
  });
  after(() => server.close());

  /** Holds this thread (the server's too: it runs in this process) for `ms`. */
  const block = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };

  test("a request alone right after the loop was held is served: a late loop with little in flight is busy, not overloaded", async () => {
    await post(`${server.url}/v1/predict`, BODIES[0]); // loads the adapter
    block(100);
    const res = await post(`${server.url}/v1/predict`, BODIES[0]);
    assert.equal(res.status, 200, res.text);
  });

  test("a burst while the loop runs late: refused at once with 503 overloaded naming the setting, the rest served correctly, /healthz and reads answered", async () => {
    const alone: Answer[] = [];
    for (const b of BODIES) alone.push(await post(`${server.url}/v1/predict`, b));
    for (const a of alone) assert.equal(a.status, 200, a.text);
    let bursting = true;
    // hold the loop now and then during the burst, as a flood of requests would
    const holder = (async () => {
      while (bursting) {
        await new Promise((r) => setTimeout(r, 5));
        block(20);
      }
    })();
    const burst = await Promise.all(
      Array.from({ length: 120 }, async (_, i) => ({ i, answer: await post(`${server.url}/v1/predict`, BODIES[i % BODIES.length]) })),
    );
    const health = await fetch(`${server.url}/healthz`);
    const reads = await fetch(`${server.url}/v1/adapters`);
    bursting = false;
    await holder;
    assert.equal(health.status, 200, "/healthz is never refused");
    assert.equal(reads.status, 200, "reads are never refused");

    const shed = burst.filter((b) => b.answer.status === 503);
    const served = burst.filter((b) => b.answer.status === 200);
    assert.equal(served.length + shed.length, burst.length, `only 200 and 503: ${burst.filter((b) => ![200, 503].includes(b.answer.status)).map((b) => b.answer.text).join("; ")}`);
    assert.ok(shed.length > 0, "some requests are refused while the loop is late");
    assert.ok(served.length > 0, "the others are served");
    for (const { answer: a } of shed) {
      assert.equal(a.headers.get("content-type"), "application/problem+json");
      assert.equal(a.json.type, "https://polyhead.dev/problems/overloaded");
      assert.match(a.json.detail, /event loop runs \d+ ms late, limit 1 ms: --max-event-loop-delay \/ POLYHEAD_MAX_EVENT_LOOP_DELAY.*retry after 1 s/);
      assert.equal(a.headers.get("retry-after"), "1");
    }
    for (const { i, answer: a } of served) assertSameOutputs(a, alone[i % BODIES.length], `request ${i}`);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`polyhead_http_requests_total\\{method="POST",route="/v1/predict",status="503"\\} ${shed.length}\\b`), "refusals are counted");
  });
});

describe("clients that trickle their requests (slowloris)", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(ADAPTERHUB_FIXTURES, { headersTimeoutMs: 300, requestTimeoutMs: 600 });
  });
  after(() => server.close());

  /** Opens a connection, sends `first`, then nothing; resolves with what the server sent and how long it kept the socket. */
  const trickle = (first: string) =>
    new Promise<{ text: string; ms: number }>((resolve, reject) => {
      const started = performance.now();
      const { port } = new URL(server.url);
      const socket = net.connect(Number(port), "127.0.0.1", () => socket.write(first));
      let text = "";
      socket.on("data", (d) => (text += d));
      socket.on("close", () => resolve({ text, ms: performance.now() - started }));
      socket.on("error", reject);
      setTimeout(() => reject(new Error("the server kept a trickling connection open for 10 s")), 10_000).unref();
    });

  test("a client that stops halfway through its headers, or its body, is cut off with 408; the others are served meanwhile", async () => {
    const headers = trickle("POST /v1/predict HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n");
    const body = trickle('POST /v1/predict HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"model":');
    const good = await post(`${server.url}/v1/predict`, BODIES[0]);
    assert.equal(good.status, 200, good.text);
    for (const [what, p] of [["headers", headers], ["body", body]] as const) {
      const { text, ms } = await p;
      assert.match(text, /^HTTP\/1\.1 408/, `${what}: ${text.slice(0, 80)}`);
      assert.ok(ms < 5000, `${what}: cut off after ${Math.round(ms)} ms`);
    }
  });
});
