// Names and their rules: what a model, adapter, fusion, head or tenant may be
// called, and what a store key may hold. Used by the API, the edge, the store
// and the CLI alike; pure (no Node APIs), so the edge Worker bundles it too.

/** A plain name: a model, a tenant, a shared adapter or fusion folder. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const NAME_RULE = "names are 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit";

/** An adapter, fusion or head name, optionally in a tenant's namespace: "name" (shared) or "tenant/name". */
export const QUALIFIED_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(?:\/[A-Za-z0-9][A-Za-z0-9._-]{0,127})?$/;
export const QUALIFIED_RULE = `${NAME_RULE}, optionally after a tenant and '/'`;

/** The tenant of a qualified name ("tenant/name" → "tenant"), undefined for a shared name. */
export function tenantOf(name: string): string | undefined {
  const slash = name.indexOf("/");
  return slash >= 0 ? name.slice(0, slash) : undefined;
}

/** One segment of a store key (a folder or file name). AdapterHub's saved fusion names hold commas. */
const KEY_SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9._,-]*$/;

/** Keys are built from user-supplied names: refuse anything that could leave the store's root. */
export function checkKey(key: string): string {
  const parts = key.split("/");
  if (parts.some((p) => !KEY_SEGMENT_RE.test(p) || p.includes(".."))) throw new Error(`invalid store key "${key}"`);
  return key;
}
