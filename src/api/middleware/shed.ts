import type { MiddlewareHandler } from "hono";
import { HttpProblem, problemResponse } from "../../core/problem.ts";

// Refuses inference requests while the server says it is too busy to answer
// them in time (the Node server: its event loop runs late, see
// server/event-loop-pressure.ts). Before the body is read, and answered
// directly rather than thrown: under overload most requests end here, so a
// refusal must cost almost nothing. Reads (GET) and probes (/healthz,
// /metrics) always pass.

export type Pressure = () => { detail: string; retryAfter: number } | null;

export function shedUnderPressure(pressure: Pressure): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === "POST") {
      const busy = pressure();
      if (busy) return problemResponse(new ShedProblem(busy.detail, busy.retryAfter));
    }
    await next();
  };
}

/** An overloaded problem without a stack trace: V8 captures one for every Error, which costs more than the refusal. */
class ShedProblem extends HttpProblem {
  constructor(detail: string, retryAfter: number) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(503, "overloaded", "Overloaded", `${detail}; retry after ${retryAfter} s`, undefined, { "Retry-After": String(retryAfter) });
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}
