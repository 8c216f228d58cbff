import type { IncomingMessage, ServerResponse } from "node:http";
import { PROBLEM_BASE } from "../core/problem.ts";
import type { EventLoopPressure } from "./event-loop-pressure.ts";

// The refusal of an overloaded HTTP thread, at the cheapest place there is:
// on Node's own request and response, before a web Request is built, before
// routing, middleware and the per-request log line. Under a 2× overload most
// requests end here, so each must cost the thread a few microseconds, not
// the fraction of a millisecond a full pass through the app costs.

export interface Shedder {
  /** true when the request was refused (the response is written) */
  (req: IncomingMessage, res: ServerResponse): boolean;
}

export interface ShedOptions {
  pressure: EventLoopPressure;
  /** requests the server holds now */
  inFlight: () => number;
  /** the app's POST routes: a refusal is counted under its route, anything else as "unmatched" */
  routes: Set<string>;
  /** counts each refusal (metrics: the same counters as every other answer) */
  onShed: (route: string, seconds: number) => void;
}

export function shedder({ pressure, inFlight, routes, onShed }: ShedOptions): Shedder {
  return (req, res) => {
    if (req.method !== "POST" || !req.url?.startsWith("/v1/")) return false;
    const busy = pressure.check(inFlight());
    if (!busy) return false;
    const started = performance.now();
    const body = JSON.stringify({ type: `${PROBLEM_BASE}overloaded`, title: "Overloaded", status: 503, detail: `${busy.detail}; retry after ${busy.retryAfter} s` });
    // the body is not read: Node discards it, and closes the connection if it is large
    res.writeHead(503, { "content-type": "application/problem+json", "retry-after": String(busy.retryAfter), "content-length": Buffer.byteLength(body) });
    res.end(body);
    const path = req.url.split("?", 1)[0];
    onShed(routes.has(path) ? path : "unmatched", (performance.now() - started) / 1000);
    return true;
  };
}
