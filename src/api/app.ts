import { OpenAPIHono } from "@hono/zod-openapi";
import { toProblem } from "../core/problem.ts";
import type { Store } from "../store/store.ts";
import type { ApiEnv } from "./context.ts";
import { Metrics } from "./metrics.ts";
import { apiKeyAuth } from "./middleware/api-keys.ts";
import { bodyLimit } from "./middleware/body-limit.ts";
import { notFound, onError } from "./middleware/errors.ts";
import { requestLog, type Log } from "./middleware/request-log.ts";
import { backendSecret } from "./middleware/secret.ts";
import { docsRoutes } from "./routes/docs.ts";
import { inferenceRoutes, type InferenceDeps } from "./routes/inference.ts";
import { opsRoutes, type Readiness } from "./routes/ops.ts";
import { playgroundRoutes } from "./routes/playground.ts";
import { storeRoutes } from "./routes/store.ts";
import { translationRoutes, type TranslationDeps } from "./routes/translation.ts";
import type { ApiKey } from "./tenants.ts";
import { withSuggestions } from "./suggest.ts";

// The HTTP API as a runtime-neutral Hono app: it takes web-standard Requests
// and never touches Node APIs, so the same routes run in any Hono runtime.
// Middleware runs in this order: request id and log line, backend secret,
// API keys (tenant, limits), body limit; then one route file per group. (An
// overloaded Node server refuses before the app: server/shed.ts.)

export interface AppDeps extends InferenceDeps, Partial<TranslationDeps> {
  /** the store the listing routes read */
  store: Store;
  /** where request counts and durations go, exported on /metrics (default: a registry of this app's own) */
  metrics?: Metrics;
  log?: Log;
  /** for GET /readyz; without it the app counts as ready */
  readiness?: () => Readiness;
  /** the secret shared with the edge Worker: /v1/* requires it in x-polyhead-secret */
  backendSecret?: string;
  /** API keys (SHA-256 hashes) → tenants and limits; when given, /v1/* requires one of them */
  keys?: ApiKey[];
}

export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<ApiEnv>({
    defaultHook: (result) => {
      if (!result.success) throw toProblem(result.error);
    },
  });
  const metrics = deps.metrics ?? new Metrics();

  app.use("*", requestLog(metrics, deps.log));
  if (deps.backendSecret) app.use("/v1/*", backendSecret(deps.backendSecret));
  if (deps.keys?.length) app.use("/v1/*", apiKeyAuth(deps.keys));
  app.use("/v1/*", bodyLimit());

  opsRoutes(app, { readiness: deps.readiness, metrics });
  inferenceRoutes(app, deps);
  if (deps.translator) translationRoutes(app, { translator: deps.translator });
  storeRoutes(app, deps.store);
  docsRoutes(app);
  playgroundRoutes(app);

  app.notFound(notFound);
  app.onError(onError(deps.log, (e, tenant) => withSuggestions(e, deps.store, tenant)));
  return app;
}
