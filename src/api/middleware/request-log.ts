import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { ApiEnv } from "../context.ts";
import type { Metrics } from "../metrics.ts";

// Request id, one log line and metrics per request. Errors are turned into
// responses by onError before next() returns, so the status is final here.

export type Log = (level: "error" | "warn" | "info", msg: string, extra?: object) => void;

const REQUEST_ID = /^[A-Za-z0-9._:@+=/-]{1,128}$/;

export function requestLog(metrics: Metrics, log?: Log): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
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
    log?.(status >= 500 && status !== 503 ? "error" : "info", "request", {
      req_id: id,
      method: c.req.method,
      route,
      path: c.req.path,
      status,
      ms: Math.round(seconds * 1e4) / 10,
    });
  };
}

/** The matched route pattern ("/v1/adapters/:name"), never the raw path: bounded label values. */
function routeOf(c: Parameters<typeof matchedRoutes>[0]): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i].method !== "ALL") return routes[i].path;
  return "unmatched";
}
