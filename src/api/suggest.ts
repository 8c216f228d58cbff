import { NotFoundError } from "../core/errors.ts";
import { closest } from "../core/names.ts";
import { CONFIG_FILE, KIND_DIR } from "../store/layout.ts";
import { folderNames } from "../store/inventory.ts";
import type { Store } from "../store/store.ts";

// "adapter "sentimnt" not found; did you mean "sentiment"?": an unknown
// adapter, fusion or head is answered with the closest names the caller may use,
// the shared ones and its own tenant's, never another tenant's (a tenant's
// namespace folder is not a name either: only folders holding the kind's
// config count). Worked out only on the way out of a 404.

const LOOKUPS = 12;

/** The error, with the closest visible names added to a plain "not found"; any other error as it is. */
export async function withSuggestions(e: unknown, store: Store, tenant: string | undefined): Promise<unknown> {
  if (!(e instanceof NotFoundError) || (e.kind !== "adapter" && e.kind !== "fusion" && e.kind !== "head")) return e;
  if (e.message !== `${e.kind} "${e.name}" not found`) return e; // it already says more
  try {
    // a head is named by the adapter or fusion folder it lies in (or its saved name, found by a scan)
    const kinds = e.kind === "head" ? (["adapter", "fusion"] as const) : [e.kind];
    const candidates = (await Promise.all(kinds.map(async (k) => (await folderNames(store, k, tenant)).map((n) => ({ n, file: `${KIND_DIR[k]}/${n}/${CONFIG_FILE[e.kind === "head" ? "head" : k]}` }))))).flat();
    const near: string[] = [];
    for (const n of closest(e.name, [...new Set(candidates.map((c) => c.n))], LOOKUPS)) {
      for (const c of candidates.filter((c) => c.n === n)) {
        if (await store.head(c.file)) {
          near.push(n);
          break;
        }
      }
      if (near.length === 3) break;
    }
    if (!near.length) return e;
    return new NotFoundError(e.kind, e.name, `${e.message}; did you mean ${near.map((n) => `"${n}"`).join(" or ")}?`);
  } catch {
    return e; // a store that cannot list now: the plain answer
  }
}
