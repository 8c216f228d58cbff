import { CancelledError, CompositionError, FormatError, InputError, InvalidAdapterError, NotFoundError, OverBudgetError, OverloadedError, StoreUnavailableError } from "./errors.ts";
import { issuePath, issuesOf } from "./issues.ts";

// Every error leaves as application/problem+json (RFC 9457) with a stable
// `type`, a human `detail` and, where one field is to blame, `field`: the
// inference server and the edge Worker answer in this one format.

export const PROBLEM_BASE = "https://polyhead.dev/problems/";

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    detail: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

/** The problem an error is answered with; anything unknown is a 500 that says nothing of its cause. */
export function toProblem(e: unknown): HttpProblem {
  if (e instanceof HttpProblem) return e;
  const issues = issuesOf(e);
  if (issues) {
    const issue = issues[0];
    const field = (issue && issuePath(issue)) || undefined;
    return new HttpProblem(400, "invalid-request", "Invalid request", `${field ? `${field}: ` : ""}${issue?.message ?? "invalid request"}`, field);
  }
  if (e instanceof NotFoundError) return new HttpProblem(404, "not-found", `Unknown ${e.kind}`, e.message, e.kind);
  if (e instanceof InputError) return new HttpProblem(422, "invalid-input", "Unusable input", e.message, e.path);
  if (e instanceof CompositionError) return new HttpProblem(422, "invalid-composition", "Invalid composition", e.message, e.path);
  if (e instanceof InvalidAdapterError) return new HttpProblem(422, "invalid-adapter", `Unusable ${e.kind}`, e.message, e.name);
  if (e instanceof FormatError) return new HttpProblem(422, "invalid-adapter", "Unreadable weight file", e.message);
  if (e instanceof StoreUnavailableError) {
    return new HttpProblem(503, "store-unavailable", "Store unavailable", e.message, undefined, { "Retry-After": "5" });
  }
  // 503, not 429: the server is short of capacity, not the client over a quota of its own (that is rate-limited);
  // a load balancer or the edge Worker may send the request to another backend at once.
  if (e instanceof OverloadedError) {
    return new HttpProblem(503, "overloaded", "Overloaded", `${e.message}; retry after ${e.retryAfter} s`, undefined, { "Retry-After": String(e.retryAfter) });
  }
  if (e instanceof OverBudgetError) return new HttpProblem(413, "over-budget", "Request over budget", e.message);
  // nginx's 499: the client closed the connection, so nobody reads this answer; it is not a server error either
  if (e instanceof CancelledError) return new HttpProblem(499, "cancelled", "Client closed request", e.message);
  return new HttpProblem(500, "internal", "Internal error", "the server failed to answer this request; it has been logged");
}

/** The problem+json body of a problem. */
function problemBody(p: HttpProblem): { type: string; title: string; status: number; detail: string; field?: string } {
  return { type: PROBLEM_BASE + p.slug, title: p.title, status: p.status, detail: p.message, ...(p.field ? { field: p.field } : {}) };
}

/** A web-standard Response carrying the problem. */
export function problemResponse(p: HttpProblem): Response {
  return new Response(JSON.stringify(problemBody(p)), {
    status: p.status,
    headers: { "content-type": "application/problem+json", ...p.headers },
  });
}
