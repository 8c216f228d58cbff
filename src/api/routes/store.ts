import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { inspectAdapter, listAdapters, listModels } from "../../store/inventory.ts";
import type { Store } from "../../store/store.ts";
import { problems, type ApiEnv } from "../context.ts";
import { checkTenantName } from "../tenants.ts";
import { AdapterDetail, AdapterParams, AdaptersResponse, ModelsResponse, TenantAdapterParams } from "../schemas.ts";

// GET /v1/models, /v1/adapters, /v1/adapters/{name}: what the store holds,
// read from configs only (store/inventory.ts); nothing is loaded.

const modelsRoute = createRoute({
  method: "get",
  path: "/v1/models",
  summary: "Base models in the store (from their config.json; no weights are loaded)",
  responses: { 200: { description: "Models", content: { "application/json": { schema: ModelsResponse } } }, 503: problems[503] },
});

const adaptersRoute = createRoute({
  method: "get",
  path: "/v1/adapters",
  summary: "Adapters in the store the caller may use (shared ones and its tenant's, as tenant/name): type, head, size, ETag and the fusions that use them",
  responses: { 200: { description: "Adapters", content: { "application/json": { schema: AdaptersResponse } } }, 503: problems[503] },
});

const adapterRoute = createRoute({
  method: "get",
  path: "/v1/adapters/{name}",
  summary: "One adapter in detail: its saved config, head labels, files (a tenant's adapter as tenant%2Fname)",
  request: { params: AdapterParams },
  responses: {
    200: { description: "The adapter", content: { "application/json": { schema: AdapterDetail } } },
    400: problems[400],
    404: problems[404],
    422: problems[422],
    503: problems[503],
  },
});

const tenantAdapterRoute = createRoute({
  method: "get",
  path: "/v1/adapters/{tenant}/{name}",
  summary: "A tenant's adapter in detail (the same as /v1/adapters/tenant%2Fname)",
  request: { params: TenantAdapterParams },
  responses: adapterRoute.responses,
});

export function storeRoutes(app: OpenAPIHono<ApiEnv>, store: Store): void {
  app.openapi(modelsRoute, async (c) => c.json({ models: await listModels(store) }, 200));

  app.openapi(adaptersRoute, async (c) => c.json({ adapters: await listAdapters(store, c.get("tenant")) }, 200));

  const describe = async (name: string, tenant: string | undefined) => {
    if (tenant !== undefined) checkTenantName("adapter", name, tenant);
    return inspectAdapter(store, name, tenant);
  };
  app.openapi(adapterRoute, async (c) => {
    const detail = await describe(c.req.valid("param").name, c.get("tenant"));
    c.header("etag", detail.etag);
    return c.json(detail, 200);
  });
  app.openapi(tenantAdapterRoute, async (c) => {
    const { tenant, name } = c.req.valid("param");
    const detail = await describe(`${tenant}/${name}`, c.get("tenant"));
    c.header("etag", detail.etag);
    return c.json(detail, 200);
  });
}
