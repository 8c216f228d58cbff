import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { HttpProblem, problemResponse, toProblem } from "../../core/problem.ts";
import { jsonSyntax } from "../../core/issues.ts";
import type { ApiEnv } from "../context.ts";
import type { Log } from "./request-log.ts";

// Every error leaves as application/problem+json (core/problem.ts). Errors
// the server did not expect are logged with their stack; their answer says nothing of it.

/** `explain` may add to an error on its way out (the closest names to an unknown one). */
export function onError(log?: Log, explain?: (err: unknown, tenant: string | undefined) => Promise<unknown>): ErrorHandler<ApiEnv> {
  return async (raw, c: Context<ApiEnv>) => {
    const err = explain ? await explain(raw, c.get("tenant")) : raw;
    let p: HttpProblem;
    if (err instanceof HTTPException) {
      if (err.status === 413) p = new HttpProblem(413, "too-large", "Request too large", err.message);
      else if (err.status === 415 || /content-type/i.test(err.message)) {
        p = new HttpProblem(415, "unsupported-media-type", "Unsupported media type", `send the body as JSON with "content-type: application/json" (got ${c.req.header("content-type") ?? "none"})`);
      } else p = new HttpProblem(err.status, "invalid-json", "Malformed request body", `the body is not valid JSON: ${await whereJsonFails(c)}`);
    } else p = toProblem(err);
    if (p.slug === "store-unavailable") log?.("warn", "store unavailable", { req_id: c.get("requestId"), detail: p.message, path: c.req.path });
    if (p.status >= 500 && p.status !== 503) log?.("error", "request failed", { req_id: c.get("requestId"), err: String((err as Error)?.stack ?? err), path: c.req.path });
    return problemResponse(p);
  };
}

/** Where the body's JSON fails (line and column), read again from Hono's cache of it. */
async function whereJsonFails(c: Context<ApiEnv>): Promise<string> {
  let text = "";
  try {
    text = await c.req.text();
    JSON.parse(text);
    return "syntax error";
  } catch (e) {
    return jsonSyntax(e, text);
  }
}

/** Routes that exist for another method: 405 with Allow, not 404. */
const METHODS: Record<string, string> = {
  "/v1/predict": "POST", "/v1/fuse": "POST", "/v1/generate": "POST", "/v1/score": "POST",
  "/v1/models": "GET", "/v1/adapters": "GET", "/healthz": "GET", "/readyz": "GET", "/metrics": "GET", "/openapi.json": "GET", "/docs": "GET",
};

export const notFound: NotFoundHandler = (c) => {
  const allow = METHODS[c.req.path] ?? (c.req.path.startsWith("/v1/adapters/") ? "GET" : undefined);
  if (allow && c.req.method !== allow) {
    const res = problemResponse(new HttpProblem(405, "method-not-allowed", "Method not allowed", `${c.req.path} takes ${allow}, not ${c.req.method}`));
    res.headers.set("allow", allow);
    return res;
  }
  return problemResponse(new HttpProblem(404, "no-route", "No such route", `${c.req.method} ${c.req.path} is not a polyhead route`));
};
