import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "../context.ts";
import { DOCS_HTML } from "../docs.ts";

// GET /docs (a page) and GET /openapi.json (the document it reads).

const docsRoute = createRoute({
  method: "get",
  path: "/docs",
  summary: "This API's routes, as a web page (reads /openapi.json)",
  responses: { 200: { description: "HTML page", content: { "text/html": { schema: z.string() } } } },
});

export function docsRoutes(app: OpenAPIHono<ApiEnv>): void {
  app.openapi(docsRoute, (c) => c.html(DOCS_HTML, 200));

  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "polyhead",
      version: "0.1.0",
      description: "Serve many AdapterHub adapters from one base encoder: predict, fuse, inspect the store.",
    },
  });
}
