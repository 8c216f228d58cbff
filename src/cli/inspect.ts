import { NotInStoreError } from "../core/errors.ts";
import { QUALIFIED_RE, QUALIFIED_RULE, tenantOf } from "../core/names.ts";
import { inspectFolder, type Inspection } from "../store/inventory.ts";
import { openStore } from "../store/open.ts";
import { KIND_DIR, type Kind } from "../store/layout.ts";
import { formatBytes, table } from "./format.ts";
import { closeStore } from "./store-option.ts";

// `polyhead inspect <name>` (or <tenant>/<name>): what the server will make of a folder, read with
// the server's own config readers (src/store/inventory.ts, which the HTTP
// listing routes use too), so a config it would refuse shows up here as a
// problem instead of at the first request.

export type { Inspection };

const ORDER: Kind[] = ["adapter", "fusion", "model"];

export async function inspect(location: string, name: string, kind?: Kind): Promise<Inspection> {
  if (!QUALIFIED_RE.test(name)) throw new NotInStoreError(`"${name}" is not a valid name (${QUALIFIED_RULE})`);
  const store = openStore(location);
  try {
    await store.check?.();
    // "tenant/name": a tenant's adapter or fusion (models are shared)
    const kinds = (kind ? [kind] : ORDER).filter((k) => !(k === "model" && tenantOf(name) !== undefined));
    const found = await inspectFolder(store, name, kinds);
    if (!found) throw new NotInStoreError(`"${name}" is not in ${store.description} (looked in ${kinds.map((k) => `${KIND_DIR[k]}/`).join(", ")})`);
    return found;
  } finally {
    closeStore(store);
  }
}

export function inspectText(i: Inspection): string {
  const lines = [`${i.kind} ${i.name}  (${i.prefix}, ${formatBytes(i.size)})`];
  if (i.saved_name && i.saved_name !== i.name) lines.push(`saved as: ${i.saved_name}`);
  if (i.model_type || i.hidden_size) lines.push(`model: ${i.model_type ?? "?"}, hidden size ${i.hidden_size ?? "?"}`);
  if (i.config) {
    const flags = Object.entries(i.config).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
    lines.push(`config: ${flags.join(" ")}`);
  }
  if (i.head) lines.push(`head: ${i.head.type}, ${i.head.layers} layer(s), labels: ${i.head.labels.join(", ")}`);
  else if (i.head === null) lines.push("head: none");
  if (i.adapters) lines.push(`fuses: ${i.adapters.join(", ")}`);
  if (i.used_by_fusions) lines.push(`used by fusions: ${i.used_by_fusions.length ? i.used_by_fusions.join(", ") : "none"}`);
  if (i.manifest) lines.push(`pushed: ${i.manifest.pushed_at}${i.manifest.complete ? "" : ` INCOMPLETE, missing ${i.manifest.missing.join(", ")}`}`);
  else lines.push("pushed: no manifest (copied by another tool)");
  for (const p of i.problems) lines.push(`PROBLEM: ${p}`);
  lines.push("", table(["FILE", "SIZE", "ETAG"], i.files.map((f) => [f.name, formatBytes(f.size), f.etag])));
  return lines.join("\n");
}
