// Problem responses of the edge, in the server's format (src/api/errors.ts):
// application/problem+json with {type, title, status, detail, field?}.
// Kept separate from src/api/errors.ts, which pulls Node-only store code.

export const PROBLEM_BASE = "https://polyhead.dev/problems/";

export function problem(
  status: number,
  slug: string,
  title: string,
  detail: string,
  field?: string,
  headers: Record<string, string> = {},
): Response {
  const body = { type: PROBLEM_BASE + slug, title, status, detail, ...(field ? { field } : {}) };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
  });
}
