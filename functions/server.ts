import { serve as nodeServe } from "@hono/node-server";
import { pathToFileURL } from "node:url";
import pino from "pino";
import { createApp, type Readiness } from "../src/api/app.ts";
import type { ApiKey } from "../src/api/tenants.ts";
import type { CacheStats } from "../src/core/cache-stats.ts";
import { Engine } from "../src/engine/engine.ts";
import { WorkerPool } from "../src/engine/worker-pool.ts";
import { buildHead, headInput, headKey } from "../src/graph/head.ts";
import { Catalog } from "../src/store/catalog.ts";
import { FileCache } from "../src/store/file-cache.ts";
import { openStore } from "../src/store/open.ts";
import type { Store } from "../src/store/store.ts";
import { DEFAULT_BATCH, type BatchOptions } from "../src/engine/batcher.ts";
import type { Composition } from "../src/engine/composition.ts";
import { optionsFromEnv } from "./settings.ts";

export { optionsFromEnv, SERVE_SETTINGS } from "./settings.ts";

// The inference container's entry point: the Hono app on Node, inference in
// worker threads. Stateless: everything it holds is a cache of the store.

export interface ServeOptions {
  /** a local folder, s3://bucket/prefix, or a Store */
  store: string | Store;
  port: number;
  host?: string;
  /** inference worker threads */
  threads?: number;
  device?: "cpu" | "cuda";
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
  const logOptions = { level: opts.quiet ? "warn" : "info" };
  const log = opts.logDestination ? pino(logOptions, opts.logDestination) : pino(logOptions);
  const pool = new WorkerPool({ threads: opts.threads ?? 1, device: opts.device ?? "cpu" });
  // A GPU that cannot be used should stop the start, not every request after it.
  if (opts.device === "cuda") await probeDevice(pool).catch(async (e) => {
    await pool.close();
    throw e;
  });
  const store = typeof opts.store === "string" ? openStore(opts.store) : opts.store;
  const cache = new FileCache(store, { memoryBytes: opts.cacheBytes ?? 256 * 1024 ** 2, diskDir: opts.cacheDir, diskBytes: opts.diskCacheBytes });
  const catalog = new Catalog(store, { ttlMs: (opts.ttlSeconds ?? 30) * 1000, budgetBytes: opts.budgetBytes, cache });
  const engine = new Engine(catalog, pool, { ...DEFAULT_BATCH, concurrency: opts.threads ?? 1, ...opts.batch });
  const preload = new Preloader((name) => engine.warm(name, opts.warm ?? []), () => catalog.list("models"), opts.models, log);
  const app = createApp({
    engine,
    log: (level, msg, extra) => log[level](extra ?? {}, msg),
    readiness: () => preload.state(),
    cacheStats: opts.cacheStats ?? (() => {
      const c = cache.stats();
      return { hits: c.hits + c.diskHits, misses: c.misses, bytes: c.bytes, entries: c.entries };
    }),
    processMetrics: true,
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
  const host = opts.host ?? "127.0.0.1";
  const server = await new Promise<ReturnType<typeof nodeServe>>((resolve, reject) => {
    const s = nodeServe({ fetch: counted, port: opts.port, hostname: host }, () => resolve(s));
    s.once("error", reject);
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
      // Graceful: idle keep-alive sockets go now, requests in flight get 2 s to finish.
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => (server as import("node:http").Server).closeAllConnections?.(), 2000);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        (server as import("node:http").Server).closeIdleConnections?.();
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
      await pool.close();
    },
  };
}

/** Runs one tiny graph (a one-layer head over a 1×1×2 input) on the pool's device: rejects with the pool's error when the device is unusable. */
async function probeDevice(pool: WorkerPool): Promise<void> {
  const shape = { read: "first", pooler: false, layers: 1, act: "tanh" } as const;
  const f32 = (...dims: number[]) => ({ type: "float32" as const, dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) });
  await pool.run({ graphKey: `probe|${headKey("probe", shape)}`, model: buildHead(shape), feeds: { hidden: f32(1, 1, 2), [headInput.w(0)]: f32(2, 2), [headInput.b(0)]: f32(2) } });
}

/**
 * Loads the base models in the background so that the first request does not
 * pay for it, and tells /readyz when they are in. A failed load (store down,
 * files missing) is logged and retried with backoff; the server keeps
 * answering meanwhile and /readyz says what is missing.
 */
class Preloader {
  private loaded = new Set<string>();
  private pending = new Set<string>();
  private failed = new Map<string, string>();
  private listed = false;
  private stopped = false;
  private timers = new Set<NodeJS.Timeout>();

  constructor(
    /** loads a model and compiles its warm-up graphs */
    private warm: (model: string) => Promise<void>,
    private listModels: () => Promise<string[]>,
    private models: string[] | undefined,
    private log: pino.Logger,
  ) {}

  start(): void {
    void this.list(0);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
  }

  state(): Readiness {
    return {
      ready: this.listed && this.pending.size === 0,
      models: [...this.loaded].sort(),
      pending: [...this.pending].sort(),
      failed: Object.fromEntries(this.failed),
    };
  }

  private later(attempt: number, f: () => void) {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) f();
    }, Math.min(30_000, 500 * 2 ** attempt));
    t.unref();
    this.timers.add(t);
  }

  private async list(attempt: number) {
    let names: string[];
    try {
      names = this.models ?? (await this.listModels());
    } catch (e) {
      this.failed.set("models/", (e as Error).message);
      this.log.warn({ err: (e as Error).message }, "cannot list models; retrying");
      this.later(attempt + 1, () => void this.list(attempt + 1));
      return;
    }
    this.failed.delete("models/");
    for (const n of names) this.pending.add(n);
    this.listed = true;
    for (const n of names) void this.load(n, 0);
  }

  private async load(name: string, attempt: number) {
    const started = performance.now();
    try {
      await this.warm(name);
      if (this.stopped) return;
      this.pending.delete(name);
      this.failed.delete(name);
      this.loaded.add(name);
      this.log.info({ model: name, ms: Math.round(performance.now() - started) }, "model loaded");
    } catch (e) {
      if (this.stopped) return;
      this.failed.set(name, (e as Error).message);
      this.log.warn({ model: name, err: (e as Error).message }, "model load failed; retrying");
      this.later(attempt + 1, () => void this.load(name, attempt + 1));
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const opts = optionsFromEnv();
  // in a container, listen on every interface unless HOST says otherwise
  const running = await serve({ ...opts, host: opts.host ?? "0.0.0.0" });
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void running.close().then(() => process.exit(0)));
}
