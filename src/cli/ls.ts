import { openStore } from "../store/open.ts";
import { formatBytes, table } from "./format.ts";
import { inventory, type StoreEntry } from "../store/inventory.ts";
import { closeStore } from "./store-option.ts";

// `polyhead ls`: every model, adapter and fusion in a store.

export async function ls(location: string): Promise<StoreEntry[]> {
  const store = openStore(location);
  try {
    await store.check?.();
    return await inventory(store);
  } finally {
    closeStore(store);
  }
}

export function lsTable(entries: StoreEntry[]): string {
  if (entries.length === 0) return "(the store holds no models, adapters or fusions)";
  const state = (e: StoreEntry) => (!e.manifest ? "-" : e.manifest.complete ? e.manifest.pushed_at : `INCOMPLETE (missing ${e.manifest.missing.join(", ")})`);
  return table(
    ["KIND", "NAME", "SIZE", "FILES", "PUSHED"],
    entries.map((e) => [e.kind, e.name, formatBytes(e.size), String(e.files.length), state(e)]),
  );
}
