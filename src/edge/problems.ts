import { HttpProblem, problemResponse } from "../core/problem.ts";

// Problem responses of the edge, in the server's format (core/problem.ts):
// application/problem+json with {type, title, status, detail, field?}.

export function problem(
  status: number,
  slug: string,
  title: string,
  detail: string,
  field?: string,
  headers: Record<string, string> = {},
): Response {
  return problemResponse(new HttpProblem(status, slug, title, detail, field, headers));
}
