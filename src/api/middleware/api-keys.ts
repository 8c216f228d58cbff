import type { MiddlewareHandler } from "hono";
import { presentedKey, sha256Hex } from "../../core/keys.ts";
import { HttpProblem } from "../../core/problem.ts";
import type { ApiEnv } from "../context.ts";
import { Limiter } from "../limits.ts";
import type { ApiKey } from "../tenants.ts";

// API keys: each request's key (by its SHA-256) gives its tenant, and the
// key's limits (requests per second, requests at once) are applied.

export function apiKeyAuth(keys: ApiKey[]): MiddlewareHandler<ApiEnv> {
  const byHash = new Map(keys.map((k) => [k.sha256, k]));
  const limiter = new Limiter();
  return async (c, next) => {
    const given = presentedKey((name) => c.req.header(name));
    const key = given === undefined ? undefined : byHash.get(await sha256Hex(given));
    if (!key) {
      throw new HttpProblem(401, "unauthorized", "Unauthorized", "give an API key in Authorization: Bearer <key> or x-api-key", undefined, {
        "WWW-Authenticate": "Bearer",
      });
    }
    const admitted = limiter.admit(key.sha256, key);
    if (!admitted.ok) {
      throw new HttpProblem(429, "rate-limited", "Too many requests", `this key sent ${admitted.why}; retry after ${admitted.retryAfter} s`, undefined, {
        "Retry-After": String(admitted.retryAfter),
      });
    }
    c.set("tenant", key.tenant);
    try {
      await next();
    } finally {
      admitted.release();
    }
  };
}
