import type { MiddlewareHandler } from "hono";
import { constantTimeEqual } from "../../core/keys.ts";
import { HttpProblem } from "../../core/problem.ts";

// The secret shared with the edge Worker: requests without it in
// x-polyhead-secret are refused, so only the edge reaches this server.

export function backendSecret(secret: string): MiddlewareHandler {
  return async (c, next) => {
    if (!constantTimeEqual(c.req.header("x-polyhead-secret") ?? "", secret)) {
      throw new HttpProblem(401, "unauthorized", "Unauthorized", "this inference server answers only requests that carry its x-polyhead-secret");
    }
    await next();
  };
}
