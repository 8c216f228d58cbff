import { Container, getContainer } from "@cloudflare/containers";
import { createEdgeApp, type EdgeEnv } from "../src/edge/app.ts";
import type { Fetchable } from "../src/edge/backends.ts";

// The public edge: a Cloudflare Worker (Hono). Auth, validation and routing
// with adapter affinity live in src/edge; this file binds them to the runtime.

/** The CPU inference container (functions/server.ts in the image), one Durable Object per instance. */
export class PolyheadContainer extends Container {
  defaultPort = 8080;
  sleepAfter = "10m";
}

const app = createEdgeApp({
  containerStub: (namespace, name) => getContainer(namespace as Parameters<typeof getContainer>[0], name) as unknown as Fetchable,
});

export default {
  fetch: (request: Request, env: EdgeEnv, ctx: unknown) => app.fetch(request, env, ctx as never),
};
