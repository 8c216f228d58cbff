import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { HttpProblem } from "../../core/problem.ts";
import type { ApiEnv } from "../context.ts";
import type { Metrics } from "../metrics.ts";
import { Problem, ReadyResponse } from "../schemas.ts";

// GET /healthz, /readyz, /metrics: for the orchestrator and the scraper.

export interface Readiness {
  ready: boolean;
  /** models loaded so far */
  models: string[];
  /** models still loading */
  pending: string[];
  /** model → why its last load attempt failed (it is retried) */
  failed: Record<string, string>;
}

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  summary: "Liveness: answers while inference runs",
  responses: { 200: { description: "alive", content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } } } },
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

export interface OpsDeps {
  /** without it the app counts as ready */
  readiness?: () => Readiness;
  metrics: Metrics;
}

export function opsRoutes(app: OpenAPIHono<ApiEnv>, { readiness, metrics }: OpsDeps): void {
  app.openapi(healthRoute, (c) => c.json({ status: "ok" as const }, 200));

  app.openapi(readyRoute, (c) => {
    const r = readiness?.() ?? { ready: true, models: [], pending: [], failed: {} };
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
}
