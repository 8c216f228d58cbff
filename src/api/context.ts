import { Problem } from "./schemas.ts";

// What the routes and middleware of one app share: the per-request variables
// and the problem responses the OpenAPI document lists.

/** Variables set on each request: its id, and the tenant of its API key (when the app has keys). */
export type ApiEnv = { Variables: { requestId: string; tenant: string | undefined } };

const problem = (description: string) => ({ description, content: { "application/problem+json": { schema: Problem } } });

export const problems = {
  400: problem("Malformed or invalid request"),
  404: problem("Unknown model, adapter, fusion or head"),
  413: problem("Request too large (the body), or over budget (the work or answer it asks for)"),
  422: problem("Invalid composition, adapter or input"),
  503: problem("Store unavailable, or the model overloaded (retry after Retry-After seconds)"),
};
