import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { CompositionError, NotFoundError } from "../../core/errors.ts";
import { tenantOf } from "../../core/names.ts";
import type { Engine } from "../../engine/engine.ts";
import type { Catalog } from "../../store/catalog.ts";
import { problems, type ApiEnv } from "../context.ts";
import { jsonBody } from "../json-body.ts";
import { FuseRequest, FuseResponse, PredictRequest, PredictResponse } from "../schemas.ts";
import type { z } from "@hono/zod-openapi";
import { checkComposition, checkTenantName } from "../tenants.ts";

// POST /v1/predict and POST /v1/fuse: the inference routes.

export interface InferenceDeps {
  engine: Pick<Engine, "predict">;
  /** resolves a fusion's adapters, or the fusion of given adapters (POST /v1/fuse) */
  fusions: Pick<Catalog, "model" | "fusion" | "findFusion">;
}

const predictRoute = createRoute({
  method: "post",
  path: "/v1/predict",
  summary: "Run one or more tasks (adapter compositions + heads) over the inputs",
  request: { body: { required: true, content: { "application/json": { schema: PredictRequest } } } },
  responses: { 200: { description: "Per-task results", content: { "application/json": { schema: PredictResponse } } }, ...problems },
});

const fuseRoute = createRoute({
  method: "post",
  path: "/v1/fuse",
  summary: "Run an AdapterFusion over the inputs, optionally with its attention over the adapters",
  request: { body: { required: true, content: { "application/json": { schema: FuseRequest } } } },
  responses: { 200: { description: "One output per input", content: { "application/json": { schema: FuseResponse } } }, ...problems },
});

export function inferenceRoutes(app: OpenAPIHono<ApiEnv>, { engine, fusions }: InferenceDeps): void {
  app.openapi(predictRoute, async (c) => {
    const body = c.req.valid("json");
    const tenant = c.get("tenant");
    if (tenant !== undefined) {
      for (const t of body.tasks) {
        checkComposition(t.adapters, tenant);
        for (const h of t.head === undefined ? [] : Array.isArray(t.head) ? t.head : [t.head]) checkTenantName("head", h, tenant);
      }
    }
    const out = await engine.predict({
      model: body.model,
      inputs: body.inputs,
      tasks: body.tasks.map((t) => ({ name: t.name, adapters: t.adapters, head: t.head })),
      options: {
        maxLength: body.options.max_length,
        returnLogits: body.options.return_logits,
        returnHiddenStates: body.options.return_hidden_states,
        returnFusionAttention: body.options.return_fusion_attention,
      },
    }, c.req.raw.signal);
    // written in slices: a large answer must not hold the HTTP thread
    return jsonBody(out satisfies z.infer<typeof PredictResponse>) as never;
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
      const model = await fusions.model(body.model);
      if (!adapters) adapters = (await fusions.fusion(fusion!, model)).adapters;
      else fusion = (await fusions.findFusion(adapters, model)).name;
      // a fusion's own list may name another tenant's adapters (the catalog refuses such fusions):
      // answered as a missing fusion, never naming them
      if (tenant !== undefined && fusion !== undefined) for (const a of adapters) if (tenantOf(a) !== undefined && tenantOf(a) !== tenant) throw new NotFoundError("fusion", fusion);
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
      }, c.req.raw.signal)
      .catch((e) => {
        throw e instanceof CompositionError ? new CompositionError(e.message, e.path.replace(/^tasks\[0\]\.adapters/, "fuse")) : e;
      });
    const r = out.results[0];
    return jsonBody({ model: out.model, fusion: fusion!, adapters, head: r.head, type: r.type, outputs: r.outputs } satisfies z.infer<typeof FuseResponse>) as never;
  });
}
