import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "../context.ts";
import { PLAYGROUND_HTML } from "../playground.ts";

// GET /: the playground page.

const playgroundRoute = createRoute({
  method: "get",
  path: "/",
  summary: "The playground: a web page to pick a model and adapters, compose them, run them and see the answers",
  responses: { 200: { description: "HTML page", content: { "text/html": { schema: z.string() } } } },
});

export function playgroundRoutes(app: OpenAPIHono<ApiEnv>): void {
  app.openapi(playgroundRoute, (c) => c.html(PLAYGROUND_HTML, 200));
}
