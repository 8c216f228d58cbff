import { serve as nodeServe } from "@hono/node-server";
import { pathToFileURL } from "node:url";
import pino from "pino";
import { createApp } from "../src/api/app.ts";
import { Engine } from "../src/engine/engine.ts";
import { WorkerPool } from "../src/engine/worker-pool.ts";
import { Catalog } from "../src/store/catalog.ts";
import { openStore } from "../src/store/open.ts";

// The inference container's entry point: the Hono app on Node, inference in
// worker threads. Stateless: everything it holds is a cache of the store.

export interface ServeOptions {
  store: string;
  port: number;
  host?: string;
  /** inference worker threads */
  threads?: number;
  device?: "cpu" | "cuda";
  quiet?: boolean;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const log = pino({ level: opts.quiet ? "warn" : "info" });
  const pool = new WorkerPool({ threads: opts.threads ?? 1, device: opts.device ?? "cpu" });
  const engine = new Engine(new Catalog(openStore(opts.store)), pool);
  const app = createApp({ engine, log: (level, msg, extra) => log[level](extra ?? {}, msg) });
  const host = opts.host ?? "127.0.0.1";
  const server = await new Promise<ReturnType<typeof nodeServe>>((resolve, reject) => {
    const s = nodeServe({ fetch: app.fetch, port: opts.port, hostname: host }, () => resolve(s));
    s.once("error", reject);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  log.info({ store: opts.store, url: `http://${host}:${port}` }, "polyhead serving");
  return {
    url: `http://${host}:${port}`,
    port,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.close();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const env = process.env;
  const running = await serve({
    store: env.POLYHEAD_STORE ?? "adapters",
    port: Number(env.PORT ?? 8080),
    host: env.HOST ?? "0.0.0.0",
    threads: Number(env.POLYHEAD_THREADS ?? 1),
    device: env.POLYHEAD_DEVICE === "cuda" ? "cuda" : "cpu",
  });
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void running.close().then(() => process.exit(0)));
}
