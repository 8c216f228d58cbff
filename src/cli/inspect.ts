import { NAME_RE } from "../engine/composition.ts";
import { parseAdapterConfig, parseFusionConfig, parseHeadConfig } from "../formats/adapter-config.ts";
import { parseModelConfig } from "../formats/model-config.ts";
import { openStore } from "../store/open.ts";
import type { Store } from "../store/store.ts";
import { formatBytes, table } from "./format.ts";
import { entry, readJson, type StoreEntry } from "./inventory.ts";
import { KIND_DIR, KINDS, type Kind } from "./kinds.ts";
import { closeStore } from "./store-option.ts";

// `polyhead inspect <name>`: what the server will make of a folder, read with
// the server's own config readers, so a config it would refuse shows up here
// as a problem instead of at the first request.

export interface HeadSummary {
  type: string;
  labels: string[];
  layers: number;
  activation: string;
  use_pooler: boolean;
}

export interface Inspection {
  kind: Kind;
  name: string;
  prefix: string;
  /** the name AdapterHub saved it under (adapters and fusions) */
  saved_name?: string;
  /** the parsed config: architecture and its flags (adapters, fusions) or the encoder's dimensions (models) */
  config?: Record<string, unknown>;
  hidden_size?: number | null;
  model_type?: string | null;
  head?: HeadSummary | null;
  /** fusions: the adapters fused, in order */
  adapters?: string[];
  /** adapters: the fusions that fuse it */
  used_by_fusions?: string[];
  size: number;
  files: StoreEntry["files"];
  manifest: StoreEntry["manifest"];
  /** configs the server would refuse, with its reason */
  problems: string[];
}

export class NotInStoreError extends Error {}

export async function inspect(location: string, name: string, kind?: Kind): Promise<Inspection> {
  if (!NAME_RE.test(name)) throw new NotInStoreError(`"${name}" is not a valid name`);
  const store = openStore(location);
  try {
    for (const k of kind ? [kind] : (["adapter", "fusion", "model"] as Kind[])) {
      const e = await entry(store, k, name);
      if (e.files.length > 0 || e.manifest) return await describe(store, e);
    }
    throw new NotInStoreError(`"${name}" is not in ${store.description} (looked in ${(kind ? [kind] : KINDS).map((k) => `${KIND_DIR[k]}/`).join(", ")})`);
  } finally {
    closeStore(store);
  }
}

async function describe(store: Store, e: StoreEntry): Promise<Inspection> {
  const out: Inspection = { kind: e.kind, name: e.name, prefix: e.prefix, size: e.size, files: e.files, manifest: e.manifest, problems: [] };
  const json = (file: string) => readJson(store, e.prefix + file);
  const parse = async <T,>(file: string, fn: (j: unknown) => T): Promise<T | null> => {
    const j = await json(file);
    if (j === null) return null;
    try {
      return fn(j);
    } catch (err) {
      out.problems.push(`${file}: ${(err as Error).message}`);
      return null;
    }
  };
  const head = async () => {
    const h = await parse("head_config.json", parseHeadConfig);
    out.head = h && { type: h.headType, labels: h.labels, layers: h.layers, activation: h.activation, use_pooler: h.usePooler };
  };

  if (e.kind === "model") {
    const c = await parse("config.json", parseModelConfig);
    if (c) {
      const { modelType, ...rest } = c;
      out.model_type = modelType;
      out.hidden_size = c.hidden;
      out.config = rest;
    }
  } else if (e.kind === "adapter") {
    const a = await parse("adapter_config.json", parseAdapterConfig);
    // PEFT saves no name: only AdapterHub's saved name can differ from the folder's
    if (a) Object.assign(out, { saved_name: a.name || undefined, config: { ...a.config }, hidden_size: a.hiddenSize, model_type: a.modelType });
    await head();
    out.used_by_fusions = await fusionsUsing(store, [e.name, ...(a?.name && a.name !== e.name ? [a.name] : [])]);
  } else {
    const f = await parse("adapter_fusion_config.json", parseFusionConfig);
    if (f) {
      const { name: saved, hiddenSize, ...flags } = f;
      Object.assign(out, { saved_name: saved, config: flags, hidden_size: hiddenSize });
    }
    out.adapters = await fusedAdapters(store, e.name);
    await head();
  }
  return out;
}

/** The adapters a fusion folder fuses: fusion.json, else AdapterHub's saved name "a,b,c" (as the catalog resolves them). */
async function fusedAdapters(store: Store, fusion: string): Promise<string[]> {
  const listed = (await readJson(store, `fusions/${fusion}/fusion.json`)) as { adapters?: unknown } | null;
  if (Array.isArray(listed?.adapters)) return listed.adapters.map(String);
  const config = (await readJson(store, `fusions/${fusion}/adapter_fusion_config.json`)) as { name?: unknown } | null;
  return typeof config?.name === "string" ? config.name.split(",") : [];
}

async function fusionsUsing(store: Store, names: string[]): Promise<string[]> {
  const fusions = await store.listFolders("fusions/");
  const uses = await Promise.all(fusions.map(async (f) => ((await fusedAdapters(store, f)).some((a) => names.includes(a)) ? f : null)));
  return uses.filter((f): f is string => f !== null);
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
