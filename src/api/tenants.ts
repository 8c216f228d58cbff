import { z } from "zod";
import type { Composition } from "../engine/composition.ts";
import { NAME_RE, tenantOf } from "../core/names.ts";
import { NotFoundError } from "../core/errors.ts";
import { formatIssues } from "../core/issues.ts";

// Tenants: API keys (stored as SHA-256 hashes) mapped to a namespace of
// adapters and fusions. A tenant's folders are adapters/<tenant>/<name>/ and
// fusions/<tenant>/<name>/, named "tenant/name" in requests; top-level folders
// are shared. A key may use its own tenant's names and shared ones; another
// tenant's name is answered as missing, so whether it exists does not leak.

export const ApiKeySchema = z.strictObject({
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, "the SHA-256 of the key, as 64 hex digits").transform((h) => h.toLowerCase()),
  tenant: z.string().regex(NAME_RE, "a tenant name: letters, digits, '.', '_' or '-'"),
  rps: z.number().positive().finite().optional(),
  concurrency: z.number().int().positive().optional(),
});
export type ApiKey = z.infer<typeof ApiKeySchema>;
export const ApiKeysSchema = z.array(ApiKeySchema).min(1, "at least one key (leave POLYHEAD_KEYS unset for a server without keys)");

/** Keys from JSON text (POLYHEAD_KEYS or the file of POLYHEAD_KEYS_FILE); throws with the reason. */
export function parseKeys(text: string, source: string): ApiKey[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON: ${(e as Error).message}`);
  }
  const r = ApiKeysSchema.safeParse(json);
  if (!r.success) throw new Error(`${source}: ${formatIssues(r.error.issues, "keys")}`);
  return r.data;
}

/** Throws NotFoundError (404, as for a missing folder) when `name` is in a namespace other than `tenant`'s. */
export function checkTenantName(kind: "adapter" | "fusion" | "head", name: string, tenant: string): void {
  const owner = tenantOf(name);
  if (owner !== undefined && owner !== tenant) throw new NotFoundError(kind, name);
}

/** Checks every adapter and fusion name of a composition against the tenant. */
export function checkComposition(c: Composition | null | undefined, tenant: string): void {
  if (c === null || c === undefined) return;
  if (typeof c === "string") return checkTenantName("adapter", c, tenant);
  if ("fuse" in c && c.fusion !== undefined) checkTenantName("fusion", c.fusion, tenant);
  const children = "stack" in c ? c.stack : "fuse" in c ? c.fuse : "parallel" in c ? c.parallel : "batch_split" in c ? c.batch_split : c.average;
  for (const child of children) checkComposition(child, tenant);
}
