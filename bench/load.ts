// `npm run load`: a soak test of a real polyhead server. It starts the server
// in-process on a loopback port over the AdapterHub fixture store, sends one
// request per composition kind as a warm-up (graphs compiled, adapters and
// fusions loaded), then sends POST /v1/predict from 16 concurrent connections
// for 60 s with a rotating mix of bodies: single adapters of every kind,
// stacks, parallel, batch_split and fusions. It reports the requests, the
// failed ones (non-2xx, connection errors, timeouts, error lines in the
// server's log: must be 0), p50/p99
// latency, throughput and the process RSS after the warm-up and at the end.
// A table on stdout, JSON in bench/results/load-<timestamp>.json; the exit
// status is 1 when a request failed.
//
// Env: LOAD_SECONDS (default 60), LOAD_CONNECTIONS (default 16),
// POLYHEAD_FIXTURES (the store, default test/fixtures/adapterhub).
// Bounded: loopback only, stops after the duration or LOAD_MAX_REQUESTS
// (default 1,000,000), whichever comes first.

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import autocannon from "autocannon";
import { serve } from "../src/server/serve.ts";
import { ADAPTERHUB_FIXTURES } from "../test/support/paths.ts";

const TEXTS = ["The movie was great!", "I really did not like the acting, it was boring and too long.", "Paris is a beautiful city in France."];
const PAIRS = [
  ["Where did Mary go?", "Mary went to Paris last summer."],
  ["The movie was great.", "I enjoyed the film."],
];

/** The mix of request bodies, sent in rotation by every connection. */
export const LOAD_BODIES: { name: string; body: unknown }[] = [
  ...["sentiment", "topic", "formality", "toxicity", "ner", "rating", "lora_sent", "ia3_topic"].map((a) => ({
    name: a,
    body: { model: "bert-tiny", inputs: TEXTS.slice(0, 2), tasks: [{ adapters: a }] },
  })),
  { name: "qa (pairs)", body: { model: "bert-tiny", inputs: PAIRS, tasks: [{ adapters: "qa" }] } },
  { name: "stack", body: { model: "bert-tiny", inputs: TEXTS.slice(0, 2), tasks: [{ adapters: { stack: ["lang_en", "sentiment"] } }] } },
  { name: "parallel", body: { model: "bert-tiny", inputs: TEXTS.slice(0, 2), tasks: [{ adapters: { parallel: ["sentiment", "ner", "formality"] } }] } },
  { name: "batch_split", body: { model: "bert-tiny", inputs: TEXTS, tasks: [{ adapters: { batch_split: ["sentiment", "topic"], sizes: [1, 2] } }] } },
  { name: "fuse", body: { model: "bert-tiny", inputs: TEXTS.slice(0, 2), tasks: [{ adapters: { fuse: ["sentiment", "topic", "formality"] } }] } },
  {
    name: "stack + fuse",
    body: { model: "bert-tiny", inputs: TEXTS.slice(0, 1), tasks: [{ adapters: { stack: ["lang_en", { fuse: ["sentiment", "topic", "formality"] }] } }] },
  },
];

export interface LoadOptions {
  seconds: number;
  /** concurrent connections (default 16) */
  connections?: number;
  /** the store (default test/fixtures/adapterhub) */
  store?: string;
  /** a cap on requests, so that the run is bounded in count as well as time (default 1,000,000) */
  maxRequests?: number;
}

export interface LoadResult {
  seconds: number;
  connections: number;
  bodies: string[];
  requests: number;
  ok: number;
  failed: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** error lines in the server's log during the run */
  serverErrors: number;
  statusCodes: Record<string, number>;
  latencyMs: { p50: number; p99: number; mean: number; max: number };
  requestsPerSecond: number;
  bytesPerSecond: number;
  rssMiB: { start: number; end: number; growth: number };
  /** RSS and JS heap used, every 5 s of the run */
  memory: { s: number; rssMiB: number; heapMiB: number }[];
}

const mib = (b: number) => Math.round((b / 1024 ** 2) * 10) / 10;

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const connections = opts.connections ?? 16;
  // Server log lines at error level or above (a 500 answered, a crash caught) count as failures too.
  let serverErrors = 0;
  let counting = false;
  const logDestination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n")) {
        if (!line) continue;
        try {
          if (counting && JSON.parse(line).level >= 50) serverErrors++;
        } catch {}
        if (!counting) process.stderr.write(line + "\n");
      }
      done();
    },
  });
  const server = await serve({ store: opts.store ?? ADAPTERHUB_FIXTURES, port: 0, host: "127.0.0.1", quiet: true, logDestination });
  try {
    // Warm-up: every body once, each must succeed (a broken mix should fail here, clearly).
    for (const { name, body } of LOAD_BODIES) {
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${server.url}/v1/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`warm-up request "${name}" answered ${res.status}: ${text.slice(0, 500)}`);
      }
    }
    globalThis.gc?.();
    const rssStart = process.memoryUsage().rss;
    const started = Date.now();
    counting = true;
    // RSS and JS heap every 5 s, to tell a leak (steady climb) from settling (a plateau).
    const memory: { s: number; rssMiB: number; heapMiB: number }[] = [];
    const sample = () => {
      const m = process.memoryUsage();
      memory.push({ s: Math.round((Date.now() - started) / 100) / 10, rssMiB: mib(m.rss), heapMiB: mib(m.heapUsed) });
    };
    const sampler = setInterval(sample, 5000);
    const result = await autocannon({
      url: `${server.url}/v1/predict`,
      connections,
      duration: opts.seconds,
      maxOverallRequests: opts.maxRequests ?? 1_000_000,
      timeout: 30,
      requests: LOAD_BODIES.map(({ body }) => ({ method: "POST", path: "/v1/predict", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })),
    });
    const elapsed = (Date.now() - started) / 1000;
    clearInterval(sampler);
    // autocannon drops its connections at the deadline; requests already in the engine
    // still finish (and are counted if they log an error) before the server is closed.
    await new Promise((r) => setTimeout(r, Math.min(5000, 2 * result.latency.max + 200)));
    counting = false;
    globalThis.gc?.();
    const rssEnd = process.memoryUsage().rss;
    const statusCodes: Record<string, number> = {};
    for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat?.count ?? 0;
    const ok = result["2xx"];
    const requests = Object.values(statusCodes).reduce((a, b) => a + b, 0) + result.errors;
    const failed = result.non2xx + result.errors + serverErrors;
    return {
      seconds: Math.round(elapsed * 10) / 10,
      connections,
      bodies: LOAD_BODIES.map((b) => b.name),
      requests,
      ok,
      failed,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      serverErrors,
      statusCodes,
      latencyMs: { p50: result.latency.p50, p99: result.latency.p99, mean: result.latency.mean, max: result.latency.max },
      requestsPerSecond: Math.round((ok / elapsed) * 10) / 10,
      bytesPerSecond: Math.round(result.throughput.average),
      rssMiB: { start: mib(rssStart), end: mib(rssEnd), growth: mib(rssEnd - rssStart) },
      memory,
    };
  } finally {
    await server.close();
  }
}

async function main() {
  // The AWS SDK warns on every start that its 2027 releases need Node 22: not news to a load test.
  process.removeAllListeners("warning");
  const seconds = Number(process.env.LOAD_SECONDS ?? 60);
  const connections = Number(process.env.LOAD_CONNECTIONS ?? 16);
  const maxRequests = Number(process.env.LOAD_MAX_REQUESTS ?? 1_000_000);
  for (const [k, v] of Object.entries({ LOAD_SECONDS: seconds, LOAD_CONNECTIONS: connections, LOAD_MAX_REQUESTS: maxRequests })) {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${k} must be a positive number`);
  }
  console.log(`load: ${connections} connections for ${seconds} s, ${LOAD_BODIES.length} bodies in rotation (${LOAD_BODIES.map((b) => b.name).join(", ")})`);
  const r = await runLoad({ seconds, connections, maxRequests });
  const rows: [string, string][] = [
    ["duration", `${r.seconds} s`],
    ["connections", String(r.connections)],
    ["requests", String(r.requests)],
    ["ok (2xx)", String(r.ok)],
    ["failed (non-2xx, errors, server errors)", `${r.failed} (${r.non2xx} non-2xx, ${r.errors} errors incl. ${r.timeouts} timeouts, ${r.serverErrors} server errors)`],
    ["latency p50", `${r.latencyMs.p50} ms`],
    ["latency p99", `${r.latencyMs.p99} ms`],
    ["latency max", `${r.latencyMs.max} ms`],
    ["throughput", `${r.requestsPerSecond} req/s, ${(r.bytesPerSecond / 1024).toFixed(1)} KiB/s`],
    ["RSS after warm-up", `${r.rssMiB.start} MiB`],
    ["RSS at end", `${r.rssMiB.end} MiB`],
    ["RSS growth", `${r.rssMiB.growth} MiB`],
  ];
  console.log(`memory every 5 s (RSS / heap MiB): ${r.memory.map((m) => `${m.rssMiB}/${m.heapMiB}`).join(", ")}`);
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(`| ${"metric".padEnd(w)} | value |\n|${"-".repeat(w + 2)}|-------|`);
  for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `load-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, ...r }, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
  if (r.failed > 0) {
    console.error(`${r.failed} request(s) failed: ${JSON.stringify(r.statusCodes)}, ${r.errors} errors, ${r.serverErrors} server errors`);
    process.exitCode = 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
