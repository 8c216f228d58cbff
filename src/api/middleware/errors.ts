import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { HttpProblem, problemResponse, toProblem } from "../../core/problem.ts";
import type { ApiEnv } from "../context.ts";
import type { Log } from "./request-log.ts";

// Every error leaves as application/problem+json (core/problem.ts). Errors
// the server did not expect are logged with their stack; their answer says nothing of it.

export function onError(log?: Log): ErrorHandler<ApiEnv> {
  return (err, c: Context<ApiEnv>) => {
    let p: HttpProblem;
    if (err instanceof HTTPException) {
      p = err.status === 413
        ? new HttpProblem(413, "too-large", "Request too large", err.message)
        : new HttpProblem(err.status, "invalid-json", "Malformed request body", err.message || "the body is not valid JSON");
    } else p = toProblem(err);
    if (p.slug === "store-unavailable") log?.("warn", "store unavailable", { req_id: c.get("requestId"), detail: p.message, path: c.req.path });
    if (p.status >= 500 && p.status !== 503) log?.("error", "request failed", { req_id: c.get("requestId"), err: String((err as Error)?.stack ?? err), path: c.req.path });
    return problemResponse(p);
  };
}

export const notFound: NotFoundHandler = (c) =>
  problemResponse(new HttpProblem(404, "no-route", "No such route", `${c.req.method} ${c.req.path} is not a polyhead route`));
