import { DownMarks, rank } from "./routing.ts";
import { problem } from "./problems.ts";

// Backends the edge routes to: inference containers reached by URL (GPU pools
// anywhere) or Cloudflare Container instances (a Durable Object stub each).

export interface Backend {
  /** stable id: the base URL, or "container:<n>" */
  id: string;
  /** sends `path` (with query) to this backend */
  fetch(path: string, init: RequestInit): Promise<Response>;
}

/** Anything with a fetch(Request), e.g. a Durable Object stub of a Container. */
export interface Fetchable {
  fetch(request: Request): Promise<Response>;
}

export function urlBackend(base: string): Backend {
  const root = base.replace(/\/+$/, "");
  return { id: root, fetch: (path, init) => fetch(root + path, init) };
}

/** A Cloudflare Container instance; the host of the URL does not matter to it. */
export function containerBackend(id: string, stub: () => Fetchable): Backend {
  return { id, fetch: (path, init) => stub().fetch(new Request("http://container" + path, init)) };
}

/** BACKENDS: a JSON array of base URLs (a comma-separated list is accepted too). */
export function parseBackendUrls(raw: string | undefined): string[] {
  if (!raw || !raw.trim()) return [];
  const t = raw.trim();
  let list: unknown;
  try {
    list = t.startsWith("[") ? JSON.parse(t) : t.split(",");
  } catch {
    throw new Error("BACKENDS is not a JSON array of URLs");
  }
  if (!Array.isArray(list)) throw new Error("BACKENDS is not a JSON array of URLs");
  return list.map((u) => String(u).trim()).filter((u) => /^https?:\/\//.test(u));
}

export interface RouteOptions {
  secret?: string;
  timeoutMs: number;
  cooldownMs: number;
  probeTimeoutMs: number;
  marks: DownMarks;
}

export const BACKEND_HEADER = "x-polyhead-backend";
export const SECRET_HEADER = "x-polyhead-secret";

function retriable(status: number): boolean {
  return status >= 500 || status === 429;
}

async function healthy(b: Backend, o: RouteOptions): Promise<boolean> {
  try {
    const res = await b.fetch("/healthz", { headers: o.secret ? { [SECRET_HEADER]: o.secret } : {}, signal: AbortSignal.timeout(o.probeTimeoutMs) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Sends a request to the backends in rendezvous order for `key`: skips those
 * marked down (re-probing their /healthz once the cool-down is over), spills
 * to the next on a connection failure, a timeout, a 5xx or a 429, and marks
 * the failed one down. When every backend is marked down, they are all tried
 * anyway, in the same order, rather than failing without a try.
 */
export async function route(
  backends: Backend[],
  key: string,
  path: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  o: RouteOptions,
): Promise<Response> {
  if (backends.length === 0) return problem(503, "no-backend", "No backend", "no inference backend is configured", undefined, { "Retry-After": "5" });
  const byId = new Map(backends.map((b) => [b.id, b]));
  const order = rank(key, [...byId.keys()]).map((id) => byId.get(id)!);
  const candidates: Backend[] = [];
  for (const b of order) {
    const s = o.marks.state(b.id);
    if (s === "up") candidates.push(b);
    else if (s === "probe") {
      if (await healthy(b, o)) {
        o.marks.markUp(b.id);
        candidates.push(b);
      } else o.marks.markDown(b.id, o.cooldownMs);
    }
  }
  const tries = candidates.length ? candidates : order;
  let last: Response | undefined;
  let lastError = "";
  for (const b of tries) {
    const headers = { ...init.headers, ...(o.secret ? { [SECRET_HEADER]: o.secret } : {}) };
    let res: Response;
    try {
      res = await b.fetch(path, { method: init.method, headers, body: init.body, signal: AbortSignal.timeout(o.timeoutMs) });
    } catch (e) {
      o.marks.markDown(b.id, o.cooldownMs);
      lastError = `${b.id}: ${(e as Error)?.name === "TimeoutError" ? "timed out" : String((e as Error)?.message ?? e)}`;
      continue;
    }
    const out = new Response(res.body, res);
    out.headers.set(BACKEND_HEADER, b.id);
    if (!retriable(res.status)) return out;
    o.marks.markDown(b.id, o.cooldownMs);
    if (last) await last.body?.cancel();
    last = out;
  }
  if (last) return last;
  return problem(502, "backend-unavailable", "Backend unavailable", `no inference backend answered (last: ${lastError})`, undefined, { "Retry-After": "5" });
}
