import { Hono, type Context } from "hono";
import { listAdapters, type R2Like } from "./adapters.ts";
import { presentedKey } from "../core/keys.ts";
import { keyAccepted, parseKeyHashes } from "./auth.ts";
import { containerBackend, parseBackendUrls, route, urlBackend, type Backend, type Fetchable, type RouteOptions } from "./backends.ts";
import { problem } from "./problems.ts";
import { affinityKey, DownMarks } from "./routing.ts";
import { checkFuse, checkGenerate, checkPredict, checkScore, parseBody, type Checked } from "./validate.ts";

// The public edge (Cloudflare Worker): API-key auth, validation with the
// server's schemas, and routing with adapter affinity to inference backends.

export interface EdgeEnv {
  /** comma-separated SHA-256 hex hashes of the accepted API keys (a secret) */
  API_KEYS?: string;
  /** JSON array of backend base URLs (GPU pools, any other host) */
  BACKENDS?: string;
  /** sent to backends as x-polyhead-secret (a secret) */
  BACKEND_SECRET?: string;
  BACKEND_TIMEOUT_MS?: string;
  /** how long a failed backend is skipped before its /healthz is re-probed */
  BACKEND_COOLDOWN_MS?: string;
  /** Cloudflare Containers: the Durable Object namespace of the container class */
  CONTAINER?: unknown;
  /** how many container instances to spread over (default 2) */
  CONTAINER_INSTANCES?: string;
  /** the store's R2 bucket */
  STORE?: R2Like;
}

export interface EdgeDeps {
  /** a stub of container instance `name`; given when the Worker has Containers */
  containerStub?: (namespace: unknown, name: string) => Fetchable;
  marks?: DownMarks;
}

function num(raw: string | undefined, dflt: number): number {
  const n = Number(raw);
  return raw !== undefined && raw !== "" && Number.isFinite(n) && n >= 0 ? n : dflt;
}

export function backendsOf(env: EdgeEnv, deps: EdgeDeps): Backend[] {
  const list = parseBackendUrls(env.BACKENDS).map(urlBackend);
  if (env.CONTAINER && deps.containerStub) {
    const ns = env.CONTAINER;
    const stub = deps.containerStub;
    const n = Math.max(1, Math.floor(num(env.CONTAINER_INSTANCES, 2)));
    for (let i = 0; i < n; i++) list.push(containerBackend(`container:${i}`, () => stub(ns, `polyhead-${i}`)));
  }
  return list;
}

export function createEdgeApp(deps: EdgeDeps = {}) {
  const marks = deps.marks ?? new DownMarks();
  const app = new Hono<{ Bindings: EdgeEnv }>();

  const options = (env: EdgeEnv): RouteOptions => ({
    secret: env.BACKEND_SECRET || undefined,
    timeoutMs: num(env.BACKEND_TIMEOUT_MS, 30_000),
    cooldownMs: num(env.BACKEND_COOLDOWN_MS, 10_000),
    probeTimeoutMs: 2_000,
    marks,
  });

  const forwardHeaders = (c: Context): Record<string, string> => {
    const h: Record<string, string> = { accept: c.req.header("accept") ?? "application/json" };
    const id = c.req.header("x-request-id");
    if (id) h["x-request-id"] = id;
    return h;
  };

  app.get("/healthz", (c) => c.json({ status: "ok", backends: backendsOf(c.env, deps).length, store: Boolean(c.env.STORE) }));

  app.use("/v1/*", async (c, next) => {
    const hashes = parseKeyHashes(c.env.API_KEYS);
    if (!(await keyAccepted(presentedKey((name) => c.req.header(name)), hashes))) {
      return problem(401, "unauthorized", "Unauthorized", "a valid API key is needed: Authorization: Bearer <key> or x-api-key", undefined, {
        "WWW-Authenticate": 'Bearer realm="polyhead"',
      });
    }
    await next();
  });

  const inference = (check: (body: unknown) => Checked) => async (c: Context<{ Bindings: EdgeEnv }>) => {
    const parsed = parseBody(await c.req.text());
    if (!parsed.ok) return parsed.response;
    const checked = check(parsed.body);
    if (!checked.ok) return checked.response;
    const key = affinityKey(checked.model, checked.names);
    const headers = { ...forwardHeaders(c), "content-type": "application/json" };
    return route(backendsOf(c.env, deps), key, c.req.path, { method: "POST", headers, body: JSON.stringify(parsed.body) }, options(c.env));
  };
  app.post("/v1/predict", inference(checkPredict));
  app.post("/v1/fuse", inference(checkFuse));
  // translation: the same affinity, so a domain adapter's requests find it warm
  app.post("/v1/generate", inference(checkGenerate));
  app.post("/v1/score", inference(checkScore));

  app.get("/v1/adapters", async (c) => {
    if (c.env.STORE) return c.json({ adapters: await listAdapters(c.env.STORE) });
    return route(backendsOf(c.env, deps), "GET /v1/adapters", "/v1/adapters", { method: "GET", headers: forwardHeaders(c) }, options(c.env));
  });

  // Other reads (models, one adapter, the OpenAPI document) go to a backend as they are.
  app.get("/v1/*", (c) => {
    const url = new URL(c.req.url);
    return route(backendsOf(c.env, deps), `GET ${url.pathname}`, url.pathname + url.search, { method: "GET", headers: forwardHeaders(c) }, options(c.env));
  });

  app.notFound((c) => problem(404, "not-found", "Not found", `no route for ${c.req.method} ${c.req.path}`));
  app.onError((err) => {
    console.error("edge error", err);
    return problem(500, "internal", "Internal error", "the edge failed to answer this request");
  });
  return app;
}
