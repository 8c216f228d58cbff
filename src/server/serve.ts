import { getRequestListener } from "@hono/node-server";
import { createServer } from "node:http";
import pino from "pino";
import { createApp } from "../api/app.ts";
import { EventLoopPressure } from "./event-loop-pressure.ts";
import { shedder } from "./shed.ts";
import { Metrics } from "../api/metrics.ts";
import type { ApiKey } from "../api/tenants.ts";
import type { CacheStats } from "../core/cache-stats.ts";
import { Admission, DEFAULT_ADMISSION, type AdmissionLimits } from "../engine/admission.ts";
import { DEFAULT_BATCH, type BatchOptions } from "../engine/batcher.ts";
import type { Composition } from "../engine/composition.ts";
import { Engine } from "../engine/engine.ts";
import { Translator } from "../engine/seq2seq.ts";
import { WorkerPool } from "../engine/worker-pool.ts";
import { isGpu, type Device } from "../engine/session-options.ts";
import { probeDevice } from "../engine/probe-device.ts";
import type { Precision } from "../graph/quantize.ts";
import { TokenizerPool } from "../engine/tokenizer-pool.ts";
import { Catalog } from "../store/catalog.ts";
import { defaultCacheBytes, FileCache } from "../store/file-cache.ts";
import { openStore } from "../store/open.ts";
import type { Store } from "../store/store.ts";
import { Preloader } from "./preload.ts";

// serve(): the inference server, wired: store → file cache → catalog →
// engine (inference in worker threads) → the Hono app on Node. Stateless:
// everything it holds is a cache of the store. `polyhead serve` runs it,
// from the command line and in the container.

export interface ServeOptions {
  /** a local folder, s3://bucket/prefix, or a Store */
  store: string | Store;
  port: number;
  host?: string;
  /** graphs map one shared copy of a model's base weights (default) instead of carrying their own */
  shareWeights?: boolean;
  /** fp32 (default, exact); int8: the base model's linear layers dynamically quantised; fp16: its MatMuls in half precision */
  precision?: Precision;
  /** with shared weights, the busiest graphs of each worker that also get a prepacked session (default 2; hot-graphs.ts) */
  hotGraphs?: number;
  /** compiled graphs each worker keeps, by count and ONNX bytes (least recently used go first) */
  maxGraphs?: number;
  maxGraphBytes?: number;
  /** inference worker threads */
  threads?: number;
  device?: Device;
  /** feed each graph's float inputs packed into one (src/graph/pack-inputs.ts; default: on a GPU only; the tests set it on the CPU) */
  packInputs?: boolean;
  quiet?: boolean;
  /** base models to load at start, in the background; /readyz answers 200 once all are loaded (default: every folder under models/) */
  models?: string[];
  /** the store file cache's counters, for /metrics (default: this server's own cache) */
  cacheStats?: () => CacheStats;
  /** seconds a loaded adapter is served before its version is checked again (default 30) */
  ttlSeconds?: number;
  /** bytes of fetched files kept in memory (default 256 MiB) */
  cacheBytes?: number;
  /** a folder for fetched files, so a restarted container starts warm */
  cacheDir?: string;
  diskCacheBytes?: number;
  /** bytes of loaded adapters and fusions kept (default 2 GiB) */
  budgetBytes?: number;
  batch?: Partial<BatchOptions>;
  /** per-model queue limits and per-request budgets (admission.ts) */
  admission?: Partial<AdmissionLimits>;
  /**
   * While the event loop runs later than this (ms), inference requests are refused with 503 overloaded
   * (event-loop-pressure.ts). Off when absent or 0; `polyhead serve` and the container default to 30.
   */
  maxEventLoopDelayMs?: number;
  /** ...but only while the server holds at least this many requests (default 32): a late loop with few is busy, not overloaded */
  shedMinInFlight?: number;
  /**
   * How long a client may take to send a request's headers, and the whole request (ms; default 10 s and
   * 60 s): a client that trickles bytes (slowloris) holds a socket only that long. Answers may take longer.
   */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** onnxruntime's threads spin-wait between operators (worker-pool.ts DEFAULT_SPIN) */
  spin?: boolean;
  /** Linux: the inference threads' nice value (worker-pool.ts DEFAULT_WORKER_NICE) */
  workerNice?: number;
  /** when set, /v1/* requests must carry it in x-polyhead-secret (set by the edge Worker) */
  backendSecret?: string;
  /** API keys (SHA-256 hashes) → tenants and limits: when given, /v1/* requires a key (env POLYHEAD_KEYS / POLYHEAD_KEYS_FILE, never a flag) */
  keys?: ApiKey[];
  /** compositions whose graphs are compiled at start, for every preloaded model */
  warm?: (Composition | null)[];
  /** where log lines go (default: stdout) */
  logDestination?: pino.DestinationStream;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const store = typeof opts.store === "string" ? openStore(opts.store) : opts.store;
  // a mistyped store path stops the start, rather than a server that is ready with nothing to serve
  await store.check?.();
  const logOptions = { level: opts.quiet ? "warn" : "info" };
  const log = opts.logDestination ? pino(logOptions, opts.logDestination) : pino(logOptions);
  const pool = new WorkerPool({ threads: opts.threads ?? 1, device: opts.device ?? "cpu", packInputs: opts.packInputs, maxGraphs: opts.maxGraphs, maxGraphBytes: opts.maxGraphBytes, hotGraphs: opts.hotGraphs, spin: opts.spin, nice: opts.workerNice });
  pool.onHotFailure = (graph, error) => log.warn({ graph: graph.slice(0, 120), error }, "a busy graph's prepacked session could not be built; it keeps running on the shared weights");
  // A GPU that cannot be used should stop the start, not every request after it.
  if (isGpu(opts.device)) await probeDevice(pool).catch(async (e) => {
    await pool.close();
    throw e;
  });
  const cache = new FileCache(store, { memoryBytes: opts.cacheBytes ?? defaultCacheBytes(store), diskDir: opts.cacheDir, diskBytes: opts.diskCacheBytes });
  const metrics = new Metrics({
    cacheStats: opts.cacheStats ?? (() => {
      const c = cache.stats();
      return { hits: c.hits + c.diskHits, misses: c.misses, bytes: c.bytes, entries: c.entries };
    }),
    defaultMetrics: true,
    graphStats: () => pool.stats(),
  });
  const catalog = new Catalog(store, {
    ttlMs: (opts.ttlSeconds ?? 30) * 1000,
    budgetBytes: opts.budgetBytes,
    cache,
    onLoad: (kind, _name, ms) => metrics.observeLoad(kind, ms),
  });
  // tokenizing runs on a thread of its own, so the HTTP thread stays free under load
  const tokenizers = new TokenizerPool();
  const engine = new Engine(
    catalog,
    pool,
    { ...DEFAULT_BATCH, concurrency: opts.threads ?? 1, ...opts.batch },
    { onRun: (info) => metrics.observeRun(info) },
    opts.shareWeights ?? true,
    opts.precision ?? "fp32",
    new Admission({ ...DEFAULT_ADMISSION, ...opts.admission }),
    (model, inputs, maxLength, language) => tokenizers.encode(model.tokenizer, inputs, maxLength, language),
  );
  const preload = new Preloader((name) => engine.warm(name, opts.warm ?? []), () => catalog.list("models"), opts.models, log);
  const translator = new Translator(catalog, engine, pool);
  const pressure = new EventLoopPressure(opts.maxEventLoopDelayMs ?? 0, opts.shedMinInFlight).start();
  const app = createApp({
    engine,
    translator,
    fusions: catalog,
    store,
    metrics,
    log: (level, msg, extra) => log[level](extra ?? {}, msg),
    readiness: () => preload.state(),
    backendSecret: opts.backendSecret,
    keys: opts.keys,
  });
  // Requests being answered, also those whose client has gone: close() lets
  // them finish before the worker pool goes away.
  let inFlight = 0;
  let drained: (() => void) | null = null;
  const counted = async (req: Request, ...rest: unknown[]) => {
    inFlight++;
    try {
      return await app.fetch(req, ...(rest as []));
    } finally {
      if (--inFlight === 0) drained?.();
    }
  };
  const shed = shedder({
    pressure,
    inFlight: () => inFlight,
    routes: new Set(app.routes.filter((r) => r.method === "POST").map((r) => r.path)),
    onShed: (route, seconds) => metrics.observeRequest("POST", route, 503, seconds),
  });
  // refusals are summed up in one log line every few seconds, not one line each
  let shedLogged = 0;
  const shedLog = setInterval(() => {
    if (pressure.shed === shedLogged) return;
    log.warn({ refused: pressure.shed - shedLogged, event_loop_ms: Math.round(pressure.delayMs()) }, "overloaded: requests refused while the event loop ran late");
    shedLogged = pressure.shed;
  }, 5000);
  shedLog.unref();
  const host = opts.host ?? "127.0.0.1";
  const listener = getRequestListener(counted, { hostname: host });
  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const requestTimeout = opts.requestTimeoutMs ?? 60_000;
  // Node checks those timeouts every connectionsCheckingInterval (30 s by default): often enough to honour them
  const connectionsCheckingInterval = Math.min(1000, headersTimeout, requestTimeout);
  const server = createServer({ headersTimeout, requestTimeout, connectionsCheckingInterval }, (req, res) => {
    if (!shed(req, res)) void listener(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  log.info({ store: store.description, url: `http://${host}:${port}` }, "polyhead serving");
  preload.start();
  return {
    url: `http://${host}:${port}`,
    port,
    async close() {
      preload.stop();
      pressure.stop();
      clearInterval(shedLog);
      // Graceful: idle keep-alive sockets go now, requests in flight get 2 s to finish.
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), 2000);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const giveUp = setTimeout(resolve, 10_000);
          drained = () => {
            clearTimeout(giveUp);
            resolve();
          };
        });
      }
      await Promise.all([pool.close(), tokenizers.close()]);
    },
  };
}
