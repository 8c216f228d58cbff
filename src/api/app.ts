import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { bodyLimit } from "hono/body-limit";
import { matchedRoutes } from "hono/route";
import type { Engine } from "../engine/engine.ts";
import { CompositionError } from "../core/errors.ts";
import { constantTimeEqual, presentedKey, sha256Hex } from "../core/keys.ts";
import { HttpProblem, problemResponse, toProblem } from "../core/problem.ts";
import { inspectAdapter, listAdapters, listModels } from "../store/inventory.ts";
import type { CacheStats } from "../core/cache-stats.ts";
import { Metrics } from "./metrics.ts";
import { DOCS_HTML } from "./docs.ts";
import { PLAYGROUND_HTML } from "./playground.ts";
import { Limiter } from "./limits.ts";
import { checkComposition, checkTenantName, type ApiKey } from "./tenants.ts";
import {
  AdapterDetail, AdapterParams, AdaptersResponse, FuseRequest, FuseResponse, LIMITS, ModelsResponse,
  PredictRequest, PredictResponse, Problem, ReadyResponse,
} from "./schemas.ts";

// The HTTP API as a runtime-neutral Hono app: it takes web-standard Requests
// and never touches Node APIs, so the same routes run in any Hono runtime.

export interface AppDeps {
  engine: Engine;
  log?: (level: "error" | "warn" | "info", msg: string, extra?: object) => void;
  /** for GET /readyz; without it the app counts as ready */
  readiness?: () => Readiness;
  /** the store file cache's counters, exported on /metrics when given */
  cacheStats?: () => CacheStats;
  /** export process metrics (CPU, memory, event loop, GC) on /metrics too */
  processMetrics?: boolean;
  /** the secret shared with the edge Worker: /v1/* requires it in x-polyhead-secret */
  backendSecret?: string;
  /** API keys (SHA-256 hashes) → tenants and limits; when given, /v1/* requires one of them */
  keys?: ApiKey[];
}

export interface Readiness {
  ready: boolean;
  /** models loaded so far */
  models: string[];
  /** models still loading */
  pending: string[];
  /** model → why its last load attempt failed (it is retried) */
  failed: Record<string, string>;
}

type Env = { Variables: { requestId: string; tenant: string | undefined } };

const REQUEST_ID = /^[A-Za-z0-9._:@+=/-]{1,128}$/;

const problems = {
  400: { description: "Malformed or invalid request", content: { "application/problem+json": { schema: Problem } } },
  404: { description: "Unknown model, adapter, fusion or head", content: { "application/problem+json": { schema: Problem } } },
  413: { description: "Request too large", content: { "application/problem+json": { schema: Problem } } },
  422: { description: "Invalid composition or adapter", content: { "application/problem+json": { schema: Problem } } },
  503: { description: "Store unavailable", content: { "application/problem+json": { schema: Problem } } },
};

const predictRoute = createRoute({
  method: "post",
  path: "/v1/predict",
  summary: "Run one or more tasks (adapter compositions + heads) over the inputs",
  request: { body: { required: true, content: { "application/json": { schema: PredictRequest } } } },
  responses: { 200: { description: "Per-task results", content: { "application/json": { schema: PredictResponse } } }, ...problems },
});

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  summary: "Liveness: answers while inference runs",
  responses: { 200: { description: "alive", content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } } } },
});

const fuseRoute = createRoute({
  method: "post",
  path: "/v1/fuse",
  summary: "Run an AdapterFusion over the inputs, optionally with its attention over the adapters",
  request: { body: { required: true, content: { "application/json": { schema: FuseRequest } } } },
  responses: { 200: { description: "One output per input", content: { "application/json": { schema: FuseResponse } } }, ...problems },
});

const modelsRoute = createRoute({
  method: "get",
  path: "/v1/models",
  summary: "Base models in the store (from their config.json; no weights are loaded)",
  responses: { 200: { description: "Models", content: { "application/json": { schema: ModelsResponse } } }, 503: problems[503] },
});

const adaptersRoute = createRoute({
  method: "get",
  path: "/v1/adapters",
  summary: "Adapters in the store: type, head, size, ETag and the fusions that use them",
  responses: { 200: { description: "Adapters", content: { "application/json": { schema: AdaptersResponse } } }, 503: problems[503] },
});

const adapterRoute = createRoute({
  method: "get",
  path: "/v1/adapters/{name}",
  summary: "One adapter in detail: its saved config, head labels, files",
  request: { params: AdapterParams },
  responses: {
    200: { description: "The adapter", content: { "application/json": { schema: AdapterDetail } } },
    400: problems[400],
    404: problems[404],
    503: problems[503],
  },
});

const readyRoute = createRoute({
  method: "get",
  path: "/readyz",
  summary: "Readiness: 200 once the base models are loaded, 503 before",
  responses: {
    200: { description: "ready", content: { "application/json": { schema: ReadyResponse } } },
    503: { description: "still loading", content: { "application/problem+json": { schema: Problem } } },
  },
});

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics",
  responses: { 200: { description: "Prometheus text exposition format", content: { "text/plain": { schema: z.string() } } } },
});

const docsRoute = createRoute({
  method: "get",
  path: "/docs",
  summary: "This API's routes, as a web page (reads /openapi.json)",
  responses: { 200: { description: "HTML page", content: { "text/html": { schema: z.string() } } } },
});

const playgroundRoute = createRoute({
  method: "get",
  path: "/",
  summary: "The playground: a web page to pick a model and adapters, compose them, run them and see the answers",
  responses: { 200: { description: "HTML page", content: { "text/html": { schema: z.string() } } } },
});

export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<Env>({
    defaultHook: (result) => {
      if (!result.success) throw toProblem(result.error);
    },
  });
  const metrics = new Metrics({ cacheStats: deps.cacheStats, defaultMetrics: deps.processMetrics });
  const { engine } = deps;
  const catalog = engine.catalog;
  const prevRun = engine.onRun;
  engine.onRun = (info) => {
    prevRun?.(info);
    metrics.observeRun(info);
  };
  const prevLoad = catalog.onLoad;
  catalog.onLoad = (kind, name, ms) => {
    prevLoad?.(kind, name, ms);
    metrics.observeLoad(kind, ms);
  };

  // Request id, one log line and metrics per request. Errors are turned into
  // responses by onError before next() returns, so the status is final here.
  app.use("*", async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header("x-request-id");
    const id = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", id);
    await next();
    c.res.headers.set("x-request-id", id);
    const seconds = (performance.now() - started) / 1000;
    const route = routeOf(c);
    const status = c.res.status;
    metrics.observeRequest(c.req.method, route, status, seconds);
    // 503 (store down, not ready yet) is an expected state, not a server bug
    deps.log?.(status >= 500 && status !== 503 ? "error" : "info", "request", {
      req_id: id,
      method: c.req.method,
      route,
      path: c.req.path,
      status,
      ms: Math.round(seconds * 1e4) / 10,
    });
  });

  if (deps.backendSecret) {
    const secret = deps.backendSecret;
    app.use("/v1/*", async (c, next) => {
      if (!constantTimeEqual(c.req.header("x-polyhead-secret") ?? "", secret)) {
        throw new HttpProblem(401, "unauthorized", "Unauthorized", "this inference server answers only requests that carry its x-polyhead-secret");
      }
      await next();
    });
  }

  if (deps.keys?.length) {
    const byHash = new Map(deps.keys.map((k) => [k.sha256, k]));
    const limiter = new Limiter();
    app.use("/v1/*", async (c, next) => {
      const given = presentedKey((name) => c.req.header(name));
      const key = given === undefined ? undefined : byHash.get(await sha256Hex(given));
      if (!key) {
        throw new HttpProblem(401, "unauthorized", "Unauthorized", "give an API key in Authorization: Bearer <key> or x-api-key", undefined, {
          "WWW-Authenticate": "Bearer",
        });
      }
      const admitted = limiter.admit(key.sha256, key);
      if (!admitted.ok) {
        throw new HttpProblem(429, "rate-limited", "Too many requests", `this key sent ${admitted.why}; retry after ${admitted.retryAfter} s`, undefined, {
          "Retry-After": String(admitted.retryAfter),
        });
      }
      c.set("tenant", key.tenant);
      try {
        await next();
      } finally {
        admitted.release();
      }
    });
  }

  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: LIMITS.maxBodyBytes,
      onError: () => {
        throw new HttpProblem(413, "too-large", "Request too large", `the body is larger than ${LIMITS.maxBodyBytes} bytes`);
      },
    }),
  );

  app.openapi(healthRoute, (c) => c.json({ status: "ok" as const }, 200));

  app.openapi(predictRoute, async (c) => {
    const body = c.req.valid("json");
    const tenant = c.get("tenant");
    if (tenant !== undefined) {
      for (const t of body.tasks) {
        checkComposition(t.adapters, tenant);
        for (const h of t.head === undefined ? [] : Array.isArray(t.head) ? t.head : [t.head]) checkTenantName("head", h, tenant);
      }
    }
    const out = await deps.engine.predict({
      model: body.model,
      inputs: body.inputs,
      tasks: body.tasks.map((t) => ({ name: t.name, adapters: t.adapters, head: t.head })),
      options: {
        maxLength: body.options.max_length,
        returnLogits: body.options.return_logits,
        returnHiddenStates: body.options.return_hidden_states,
        returnFusionAttention: body.options.return_fusion_attention,
      },
    });
    return c.json(out, 200);
  });

  app.openapi(fuseRoute, async (c) => {
    const body = c.req.valid("json");
    const tenant = c.get("tenant");
    if (tenant !== undefined) {
      for (const a of body.fuse ?? []) checkTenantName("adapter", a, tenant);
      if (body.fusion !== undefined) checkTenantName("fusion", body.fusion, tenant);
      if (body.head !== undefined) checkTenantName("head", body.head, tenant);
    }
    let adapters = body.fuse;
    let fusion = body.fusion;
    if (!adapters || !fusion) {
      const model = await catalog.model(body.model);
      if (!adapters) adapters = (await catalog.fusion(fusion!, model)).adapters;
      else fusion = (await catalog.findFusion(adapters, model)).name;
      // a fusion's own list may name another tenant's adapters: refused alike
      if (tenant !== undefined) for (const a of adapters) checkTenantName("adapter", a, tenant);
    }
    const out = await engine
      .predict({
        model: body.model,
        inputs: body.inputs,
        tasks: [{ name: "fuse", adapters: { fuse: adapters, fusion }, head: body.head }],
        options: {
          maxLength: body.options.max_length,
          returnLogits: body.options.return_logits,
          returnHiddenStates: false,
          returnFusionAttention: body.options.return_fusion_attention,
        },
      })
      .catch((e) => {
        throw e instanceof CompositionError ? new CompositionError(e.message, e.path.replace(/^tasks\[0\]\.adapters/, "fuse")) : e;
      });
    const r = out.results[0];
    return c.json({ model: out.model, fusion: fusion!, adapters, head: r.head, type: r.type, outputs: r.outputs }, 200);
  });

  app.openapi(modelsRoute, async (c) => c.json({ models: await listModels(catalog.store) }, 200));

  app.openapi(adaptersRoute, async (c) => c.json({ adapters: await listAdapters(catalog.store, c.get("tenant")) }, 200));

  app.openapi(adapterRoute, async (c) => {
    const { name } = c.req.valid("param");
    const detail = await inspectAdapter(catalog.store, name);
    c.header("etag", detail.etag);
    return c.json(detail, 200);
  });

  app.openapi(readyRoute, (c) => {
    const r = deps.readiness?.() ?? { ready: true, models: [], pending: [], failed: {} };
    if (r.ready) return c.json({ status: "ready" as const, models: r.models }, 200);
    const failed = Object.entries(r.failed).map(([m, why]) => `${m}: ${why}`);
    const detail = [r.pending.length ? `loading ${r.pending.join(", ")}` : "", failed.length ? `failed (retrying) ${failed.join("; ")}` : ""]
      .filter(Boolean)
      .join("; ");
    throw new HttpProblem(503, "not-ready", "Not ready", detail || "starting", undefined, { "Retry-After": "1" });
  });

  app.openapi(metricsRoute, async (c) => {
    const text = await metrics.text();
    return c.text(text, 200, { "content-type": metrics.contentType });
  });

  app.openapi(docsRoute, (c) => c.html(DOCS_HTML, 200));

  app.openapi(playgroundRoute, (c) => c.html(PLAYGROUND_HTML, 200));

  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "polyhead",
      version: "0.1.0",
      description: "Serve many AdapterHub adapters from one base encoder: predict, fuse, inspect the store.",
    },
  });

  app.notFound((c) => problemResponse(new HttpProblem(404, "no-route", "No such route", `${c.req.method} ${c.req.path} is not a polyhead route`)));

  app.onError((err, c) => {
    let p: HttpProblem;
    if (err instanceof HTTPException) {
      p = err.status === 413
        ? new HttpProblem(413, "too-large", "Request too large", err.message)
        : new HttpProblem(err.status, "invalid-json", "Malformed request body", err.message || "the body is not valid JSON");
    } else p = toProblem(err);
    if (p.slug === "store-unavailable") deps.log?.("warn", "store unavailable", { req_id: c.get("requestId"), detail: p.message, path: c.req.path });
    if (p.status >= 500 && p.status !== 503) deps.log?.("error", "request failed", { req_id: c.get("requestId"), err: String((err as Error)?.stack ?? err), path: c.req.path });
    return problemResponse(p);
  });

  return app;
}

/** The matched route pattern ("/v1/adapters/:name"), never the raw path: bounded label values. */
function routeOf(c: Parameters<typeof matchedRoutes>[0]): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i].method !== "ALL") return routes[i].path;
  return "unmatched";
}
