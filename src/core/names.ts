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

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The candidates closest to `name` (at most `max`, within a third of its length in edits), best first. */
export function closest(name: string, candidates: string[], max = 3): string[] {
  const limit = Math.max(2, Math.ceil(name.length / 3));
  return candidates
    .map((c) => ({ c, d: distance(name.toLowerCase(), c.toLowerCase()) }))
    .filter(({ d }) => d <= limit)
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .slice(0, max)
    .map(({ c }) => c);
}
