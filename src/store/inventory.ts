import { MANIFEST, checkKey, type ObjectInfo, type Store } from "./store.ts";
import { NotFoundError } from "./catalog.ts";
import { parseAdapterConfig, parseHeadConfig } from "../formats/adapter-config.ts";
import { parseModelConfig } from "../formats/model-config.ts";

// Read-only inspection of a store for the listing endpoints: what models,
// adapters and fusions it holds, read from their JSON configs and object
// infos only. No weight file is read and nothing is loaded or cached here.

export interface ModelSummary {
  name: string;
  model_type: string | null;
  hidden_size: number | null;
  layers: number | null;
  attention_heads: number | null;
  max_position_embeddings: number | null;
  /** false when polyhead cannot build this model (see `error`) */
  supported: boolean;
  error?: string;
}

export interface HeadSummary {
  name: string;
  type: string;
  num_labels: number;
  /** index → label */
  labels: string[];
  layers: number;
}

export interface FileInfo {
  name: string;
  size: number;
  etag: string;
}

export interface AdapterSummary {
  name: string;
  /** "bottleneck", "lora", "ia3" (LoRA in scale mode) or the saved architecture */
  type: string;
  /** AdapterHub's saved name of the adapter (the folder name may differ) */
  saved_name: string | null;
  hidden_size: number | null;
  model_type: string | null;
  head: HeadSummary | null;
  /** bytes: the sum of the folder's files (the manifest's files when there is one) */
  size: number;
  /** the manifest's ETag when the folder has a polyhead.json, else adapter_config.json's */
  etag: string;
  /** fusion folders that fuse this adapter */
  fusions: string[];
  /** false when polyhead refuses this adapter's config (see `error`) */
  supported: boolean;
  error?: string;
}

export interface AdapterDetail extends AdapterSummary {
  /** AdapterHub's `config` object from adapter_config.json, as saved */
  config: Record<string, unknown>;
  files: FileInfo[];
}

const decoder = new TextDecoder();

async function readJson(store: Store, key: string): Promise<unknown | null> {
  const obj = await store.get(key);
  if (!obj) return null;
  try {
    return JSON.parse(decoder.decode(obj.bytes));
  } catch (e) {
    throw new InvalidJsonError(`${key} is not valid JSON: ${(e as Error).message}`);
  }
}

class InvalidJsonError extends Error {}

const message = (e: unknown): string => {
  const issues = (e as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
  if (Array.isArray(issues)) return issues.map((i) => `${i.path.join(".") || "config"}: ${i.message}`).join("; ");
  return (e as Error).message ?? String(e);
};

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** Every folder under models/ with what its config.json says. */
export async function listModels(store: Store): Promise<ModelSummary[]> {
  const names = await store.listFolders("models/");
  const out = await Promise.all(names.map((n) => modelSummary(store, n)));
  return out.filter((m): m is ModelSummary => m !== null);
}

async function modelSummary(store: Store, name: string): Promise<ModelSummary | null> {
  let raw: unknown;
  try {
    raw = await readJson(store, `models/${checkKey(name)}/config.json`);
  } catch (e) {
    if (!(e instanceof InvalidJsonError)) throw e;
    return { name, model_type: null, hidden_size: null, layers: null, attention_heads: null, max_position_embeddings: null, supported: false, error: e.message };
  }
  if (raw === null) return null; // not a model folder
  const r = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const summary: ModelSummary = {
    name,
    model_type: str(r.model_type),
    hidden_size: num(r.hidden_size),
    layers: num(r.num_hidden_layers),
    attention_heads: num(r.num_attention_heads),
    max_position_embeddings: num(r.max_position_embeddings),
    supported: true,
  };
  try {
    parseModelConfig(raw);
  } catch (e) {
    summary.supported = false;
    summary.error = message(e);
  }
  return summary;
}

/** fusion folder → the adapter folder names it fuses (fusion.json, else AdapterHub's saved name "a,b,c"). */
export async function fusionMembers(store: Store): Promise<Map<string, string[]>> {
  const names = await store.listFolders("fusions/");
  const entries = await Promise.all(
    names.map(async (name): Promise<[string, string[]] | null> => {
      const dir = `fusions/${checkKey(name)}`;
      const listed = (await readJson(store, `${dir}/fusion.json`).catch(ignoreBadJson)) as { adapters?: unknown } | null;
      if (Array.isArray(listed?.adapters)) return [name, listed.adapters.map(String)];
      const config = (await readJson(store, `${dir}/adapter_fusion_config.json`).catch(ignoreBadJson)) as { name?: unknown } | null;
      if (typeof config?.name === "string") return [name, config.name.split(",")];
      return null;
    }),
  );
  return new Map(entries.filter((e): e is [string, string[]] => e !== null));
}

function ignoreBadJson(e: unknown): null {
  if (e instanceof InvalidJsonError) return null;
  throw e;
}

/** Every adapter folder (one holding adapter_config.json), summarised. */
export async function listAdapters(store: Store): Promise<AdapterSummary[]> {
  const [names, fusions] = await Promise.all([store.listFolders("adapters/"), fusionMembers(store)]);
  const out = await Promise.all(names.map((n) => adapterDetail(store, n, fusions).catch((e) => (e instanceof NotFoundError ? null : Promise.reject(e)))));
  return out.filter((a): a is AdapterDetail => a !== null).map(({ config: _c, files: _f, ...summary }) => summary);
}

/** One adapter folder in detail; NotFoundError when it holds no adapter_config.json. */
export async function inspectAdapter(store: Store, name: string): Promise<AdapterDetail> {
  return adapterDetail(store, name, await fusionMembers(store));
}

async function adapterDetail(store: Store, name: string, fusions: Map<string, string[]>): Promise<AdapterDetail> {
  const dir = `adapters/${checkKey(name)}`;
  const configObj = await store.get(`${dir}/adapter_config.json`);
  if (!configObj) throw new NotFoundError("adapter", name);
  const [listing, manifest] = await Promise.all([store.list(`${dir}/`), store.get(`${dir}/${MANIFEST}`)]);

  const detail: AdapterDetail = {
    name,
    type: "unknown",
    saved_name: null,
    hidden_size: null,
    model_type: null,
    head: null,
    size: 0,
    etag: manifest?.etag ?? configObj.etag,
    fusions: [],
    supported: true,
    config: {},
    files: [],
  };
  const problems: string[] = [];

  // Files: with a manifest, only the files it lists belong to the folder.
  let files: ObjectInfo[] = listing;
  if (manifest) {
    try {
      const m = JSON.parse(decoder.decode(manifest.bytes)) as { files?: Record<string, unknown> };
      const listed = new Set(Object.keys(m.files ?? {}));
      files = listing.filter((o) => listed.has(o.key.slice(dir.length + 1)) || o.key === `${dir}/${MANIFEST}`);
    } catch (e) {
      problems.push(`${MANIFEST} is not valid JSON: ${(e as Error).message}`);
    }
  }
  detail.files = files.map((o) => ({ name: o.key.slice(dir.length + 1), size: o.size, etag: o.etag }));
  detail.size = files.reduce((n, o) => n + o.size, 0);

  // adapter_config.json: raw fields first, so a refused config is still described.
  let raw: Record<string, unknown> = {};
  try {
    raw = JSON.parse(decoder.decode(configObj.bytes)) ?? {};
  } catch (e) {
    problems.push(`adapter_config.json is not valid JSON: ${(e as Error).message}`);
  }
  const rawConfig = (raw.config && typeof raw.config === "object" ? raw.config : {}) as Record<string, unknown>;
  detail.config = rawConfig;
  detail.saved_name = str(raw.name);
  detail.hidden_size = num(raw.hidden_size);
  detail.model_type = str(raw.model_type);
  detail.type = typeof rawConfig.architecture === "string" ? rawConfig.architecture : "bottleneck";
  if (detail.type === "lora" && rawConfig.composition_mode === "scale") detail.type = "ia3";
  if (problems.length === 0) {
    try {
      const parsed = parseAdapterConfig(raw);
      detail.type = parsed.config.kind === "lora" && parsed.config.compositionMode === "scale" ? "ia3" : parsed.config.kind;
    } catch (e) {
      problems.push(`adapter_config.json: ${message(e)}`);
    }
  }

  // head_config.json
  const headObj = await store.get(`${dir}/head_config.json`);
  if (headObj) {
    try {
      const h = parseHeadConfig(JSON.parse(decoder.decode(headObj.bytes)));
      detail.head = { name: h.name, type: h.headType, num_labels: h.numLabels, labels: h.labels, layers: h.layers };
    } catch (e) {
      problems.push(`head_config.json: ${message(e)}`);
    }
  }

  const aliases = new Set([name, ...(detail.saved_name ? [detail.saved_name] : [])]);
  detail.fusions = [...fusions].filter(([, members]) => members.some((m) => aliases.has(m))).map(([f]) => f).sort();

  if (problems.length) {
    detail.supported = false;
    detail.error = problems.join("; ");
  }
  return detail;
}
