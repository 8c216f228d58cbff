import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { bodyLimit } from "hono/body-limit";
import type { Engine } from "../engine/engine.ts";
import { HttpProblem, problemResponse, toProblem } from "./errors.ts";
import { LIMITS, PredictRequest, PredictResponse, Problem } from "./schemas.ts";

// The HTTP API as a runtime-neutral Hono app: it takes web-standard Requests
// and never touches Node APIs, so the same routes run in any Hono runtime.

export interface AppDeps {
  engine: Engine;
  log?: (level: "error" | "info", msg: string, extra?: object) => void;
}

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

export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success) throw toProblem(result.error);
    },
  });

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

  app.notFound((c) => problemResponse(c, new HttpProblem(404, "no-route", "No such route", `${c.req.method} ${c.req.path} is not a polyhead route`)));

  app.onError((err, c) => {
    let p: HttpProblem;
    if (err instanceof HTTPException) {
      p = err.status === 413
        ? new HttpProblem(413, "too-large", "Request too large", err.message)
        : new HttpProblem(err.status, "invalid-json", "Malformed request body", err.message || "the body is not valid JSON");
    } else p = toProblem(err);
    if (p.status >= 500) deps.log?.("error", "request failed", { err: String((err as Error)?.stack ?? err), path: c.req.path });
    return problemResponse(c, p);
  });

  return app;
}
