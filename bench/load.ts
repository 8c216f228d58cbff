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
//
// Then an overload phase (runOverload): `polyhead serve` in a child process,
// its capacity measured closed-loop (128 connections, 10 s), then the same mix
// sent open-loop at LOAD_OVERLOAD (default 2) times that rate for
// LOAD_OVERLOAD_SECONDS (default 30) with a 10 s client timeout, while a
// worker thread asks /healthz every 50 ms. It reports the shed rate (503
// overloaded), requests left without an answer at the client timeout,
// latency of the served and of the refused, /healthz p50/p99/max, the
// server's event-loop delay (p99, max) and RSS. LOAD_OVERLOAD=0 skips it.
// LOAD_SERVER_NODE_FLAGS: node flags for that server, e.g. "--cpu-prof
// --cpu-prof-dir=/tmp/prof" to see where its HTTP thread's time goes.

import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
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

export interface OverloadOptions {
  /** seconds of overload (default 30) */
  seconds: number;
  /** the offered rate, as a multiple of the measured capacity (default 2) */
  factor?: number;
  store?: string;
  /** seconds a client waits for an answer (default 10) */
  clientTimeout?: number;
}

export interface OverloadResult {
  capacityRps: number;
  offeredRps: number;
  seconds: number;
  requests: number;
  served: number;
  shed: number;
  /** shed / requests */
  shedRate: number;
  /** requests left without an answer at the client timeout, and connection errors */
  timeouts: number;
  errors: number;
  /** other statuses than 200 and 503 */
  other: Record<string, number>;
  serverErrors: number;
  latencyMs: { p50: number; p99: number; max: number };
  healthzMs: { count: number; p50: number; p99: number; max: number; failed: number };
  /** the server's event-loop delay over the overload phase (prom-client's monitor): the worst 5 s window's p99, and the max */
  eventLoopMs: { p99: number; max: number };
  rssMiB: { before: number; after: number; peak: number };
}

const CAPACITY_CONNECTIONS = 128;

const bodies = () => LOAD_BODIES.map(({ body }) => ({ method: "POST" as const, path: "/v1/predict", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));

/** A /healthz prober on a thread of its own, so the load generator's work does not delay its clock. */
const PROBER = `
const { parentPort, workerData } = require("node:worker_threads");
const lat = []; let failed = 0; let stop = false;
parentPort.on("message", () => (stop = true));
(async () => {
  while (!stop) {
    const t = performance.now();
    try {
      const res = await fetch(workerData.url + "/healthz", { signal: AbortSignal.timeout(2000) });
      await res.text();
      if (res.status !== 200) failed++;
    } catch { failed++; }
    lat.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 50));
  }
  parentPort.postMessage({ lat, failed });
})();`;

function quantile(sorted: number[], q: number): number {
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] * 10) / 10 : NaN;
}

/** prom-client's gauges from /metrics (reading them also resets its event-loop monitor). */
async function scrape(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(process_resident_memory_bytes|nodejs_eventloop_lag_p99_seconds|nodejs_eventloop_lag_max_seconds) (\S+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

/** LOAD_SERVER_NODE_FLAGS: node flags for the overload phase's server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (NODE_OPTIONS refuses --cpu-prof). */
const SERVER_NODE_FLAGS = (process.env.LOAD_SERVER_NODE_FLAGS ?? "").split(" ").filter(Boolean);

export async function runOverload(opts: OverloadOptions): Promise<OverloadResult> {
  const factor = opts.factor ?? 2;
  const timeout = opts.clientTimeout ?? 10;
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, "--import", "tsx", "src/cli/main.ts", "serve", "--store", opts.store ?? ADAPTERHUB_FIXTURES, "--port", "0"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  let serverErrors = 0;
  let counting = false;
  let lineBuf = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`polyhead serve exited with ${code}`)));
    child.stdout.on("data", (d: Buffer) => {
      lineBuf += d;
      const lines = lineBuf.split("\n");
      lineBuf = lines.pop()!;
      for (const line of lines) {
        const m = /listening on (\S+)/.exec(line);
        if (m) resolve(m[1]);
        try {
          if (counting && JSON.parse(line).level >= 50) serverErrors++;
        } catch {}
      }
    });
  });
  try {
    for (const { name, body } of LOAD_BODIES) {
      const res = await fetch(`${url}/v1/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      if (res.status !== 200) throw new Error(`warm-up request "${name}" answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
      await res.text();
    }
    // capacity: what it serves when it always has work (batches grow with the requests waiting, so more than 16 connections)
    const capacity = await autocannon({ url, connections: CAPACITY_CONNECTIONS, duration: 10, requests: bodies() });
    const capacityRps = capacity["2xx"] / 10;
    const offeredRps = Math.max(1, Math.round(capacityRps * factor));
    await new Promise((r) => setTimeout(r, 2000)); // the capacity run's queue drains
    const before = await scrape(url);
    counting = true;
    const prober = new Worker(PROBER, { eval: true, workerData: { url } });
    const probed = new Promise<{ lat: number[]; failed: number }>((r) => prober.once("message", r));
    let peak = before.process_resident_memory_bytes;
    // every scrape resets the server's event-loop monitor: keep the worst 5 s window
    const loop = { p99: 0, max: 0 };
    const note = (m: Record<string, number>) => {
      peak = Math.max(peak, m.process_resident_memory_bytes);
      loop.p99 = Math.max(loop.p99, m.nodejs_eventloop_lag_p99_seconds);
      loop.max = Math.max(loop.max, m.nodejs_eventloop_lag_max_seconds);
    };
    const sampler = setInterval(() => void scrape(url).then(note).catch(() => {}), 5000);
    const r = await autocannon({
      url,
      // enough connections to keep the rate while the served wait for their turn
      connections: Math.min(2000, offeredRps * 4),
      overallRate: offeredRps,
      duration: opts.seconds,
      timeout,
      requests: bodies(),
    });
    clearInterval(sampler);
    prober.postMessage("stop");
    const health = await probed;
    await prober.terminate();
    const after = await scrape(url);
    note(after);
    counting = false;
    const codes: Record<string, number> = {};
    for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) codes[code] = stat?.count ?? 0;
    const served = codes["200"] ?? 0;
    const shed = codes["503"] ?? 0;
    const requests = Object.values(codes).reduce((a, b) => a + b, 0) + r.errors;
    const lat = health.lat.sort((a, b) => a - b);
    const other = Object.fromEntries(Object.entries(codes).filter(([c]) => c !== "200" && c !== "503"));
    return {
      capacityRps,
      offeredRps,
      seconds: opts.seconds,
      requests,
      served,
      shed,
      shedRate: Math.round((shed / Math.max(1, requests)) * 1000) / 1000,
      timeouts: r.timeouts,
      errors: r.errors,
      other,
      serverErrors,
      latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
      healthzMs: { count: lat.length, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: quantile(lat, 1), failed: health.failed },
      eventLoopMs: { p99: Math.round(loop.p99 * 1e4) / 10, max: Math.round(loop.max * 1e4) / 10 },
      rssMiB: { before: mib(before.process_resident_memory_bytes), after: mib(after.process_resident_memory_bytes), peak: mib(Math.max(peak, after.process_resident_memory_bytes)) },
    };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

function table(rows: [string, string][]) {
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(`| ${"metric".padEnd(w)} | value |\n|${"-".repeat(w + 2)}|-------|`);
  for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);
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
  table(rows);
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `load-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  const factor = Number(process.env.LOAD_OVERLOAD ?? 2);
  const overloadSeconds = Number(process.env.LOAD_OVERLOAD_SECONDS ?? 30);
  let overload: OverloadResult | undefined;
  if (factor > 0) {
    console.log(`overload: polyhead serve in a child process, capacity measured for 10 s, then ${factor}× that rate for ${overloadSeconds} s (client timeout 10 s)`);
    const o = (overload = await runOverload({ seconds: overloadSeconds, factor }));
    table([
      [`capacity (closed loop, ${CAPACITY_CONNECTIONS} connections, 2xx)`, `${o.capacityRps} req/s`],
      ["offered", `${o.offeredRps} req/s for ${o.seconds} s`],
      ["requests", String(o.requests)],
      ["served (200)", String(o.served)],
      ["shed (503 overloaded)", `${o.shed} (${(o.shedRate * 100).toFixed(1)}%)`],
      ["no answer within 10 s, connection errors", `${o.timeouts}, ${o.errors - o.timeouts}`],
      ["other statuses, server errors", `${JSON.stringify(o.other)}, ${o.serverErrors}`],
      ["latency p50 / p99 / max (served and shed)", `${o.latencyMs.p50} / ${o.latencyMs.p99} / ${o.latencyMs.max} ms`],
      ["/healthz p50 / p99 / max", `${o.healthzMs.p50} / ${o.healthzMs.p99} / ${o.healthzMs.max} ms (${o.healthzMs.count} asked, ${o.healthzMs.failed} failed)`],
      ["server event-loop delay p99 (worst 5 s) / max", `${o.eventLoopMs.p99} / ${o.eventLoopMs.max} ms`],
      ["server RSS before / peak / after", `${o.rssMiB.before} / ${o.rssMiB.peak} / ${o.rssMiB.after} MiB`],
    ]);
  }
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, ...r, overload }, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
  if (r.failed > 0) {
    console.error(`${r.failed} request(s) failed: ${JSON.stringify(r.statusCodes)}, ${r.errors} errors, ${r.serverErrors} server errors`);
    process.exitCode = 1;
  }
  if (overload && (overload.timeouts > 0 || overload.serverErrors > 0 || Object.keys(overload.other).length > 0)) {
    console.error(`overload: ${overload.timeouts} requests without an answer, ${overload.serverErrors} server errors, other statuses ${JSON.stringify(overload.other)}`);
    process.exitCode = 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
