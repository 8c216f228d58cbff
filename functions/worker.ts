import { Container, getContainer } from "@cloudflare/containers";
import { createEdgeApp, type EdgeEnv } from "../src/edge/app.ts";
import type { Fetchable } from "../src/edge/backends.ts";

// The public edge: a Cloudflare Worker (Hono). Auth, validation and routing
// with adapter affinity live in src/edge; this file binds them to the runtime.

/** The CPU inference container (`polyhead serve` in the image), one Durable Object per instance. */
export class PolyheadContainer extends Container {
  defaultPort = 8080;
  sleepAfter = "10m";

  constructor(ctx: ConstructorParameters<typeof Container>[0], env: Record<string, unknown>) {
    super(ctx, env);
    // The container reads its store (R2 through the S3 API) and the secret
    // shared with this Worker from its environment: hand them over from the
    // Worker's vars and secrets.
    const pass: Record<string, string> = { BACKEND_SECRET: "POLYHEAD_BACKEND_SECRET" };
    for (const name of ["POLYHEAD_STORE", "POLYHEAD_THREADS", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) pass[name] = name;
    this.envVars = Object.fromEntries(
      Object.entries(pass).flatMap(([from, to]) => (typeof env[from] === "string" && env[from] ? [[to, env[from] as string]] : [])),
    );
  }
}

const app = createEdgeApp({
  containerStub: (namespace, name) => getContainer(namespace as Parameters<typeof getContainer>[0], name) as unknown as Fetchable,
});

export default {
  fetch: (request: Request, env: EdgeEnv, ctx: unknown) => app.fetch(request, env, ctx as never),
};
