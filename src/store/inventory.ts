import type { Store } from "./store.ts";
import { checkKey } from "../core/names.ts";
import { adapterKind, CONFIG_FILE, directFiles, FUSION_LIST, fusionAdapters, KIND_DIR, KINDS, MANIFEST, parseManifest, type Kind, type Manifest } from "./layout.ts";
import { InvalidAdapterError, NotFoundError } from "../core/errors.ts";
import { errorMessage } from "../core/issues.ts";
import { parseStoredJson } from "../core/json.ts";
import { parseAdapterConfig, type AdapterFile } from "../methods/index.ts";
import { parseFusionConfig } from "../methods/fusion.ts";
import { isModelHead, parseHeadConfig, type HeadConfig } from "../heads/index.ts";
import { parseModelConfig, type ModelConfig } from "../families/index.ts";
import { LANGUAGE_CODE } from "../formats/tokenizer.ts";

// Read-only inspection of a store: what models, adapters and fusions it holds,
// read from their JSON configs and object infos only. No weight file is read
// and nothing is loaded or cached here. One reader serves two views:
//   - the HTTP listing routes (GET /v1/models, /v1/adapters, /v1/adapters/{name})
//   - the CLI (`polyhead ls`, `polyhead inspect`)
// Configs are parsed with the server's own readers, so a config the server
// would refuse is reported here (as `supported: false` / `problems`).

// ---- folders: files, sizes, ETags, manifest ---------------------------------

export interface FileInfo {
  name: string;
  size: number;
  etag: string;
  /** from the polyhead.json manifest, when there is one */
  sha256?: string;
}

/** One folder of the store, as `polyhead ls` lists it. */
export interface StoreEntry {
  kind: Kind;
  name: string;
  /** key prefix, e.g. "adapters/sentiment/" */
  prefix: string;
  /** bytes: the sum of `files` */
  size: number;
  files: FileInfo[];
  /** null: copied by another tool; otherwise when it was pushed and whether every listed file is there with its size */
  manifest: { pushed_at: string; complete: boolean; missing: string[] } | null;
}

/** A folder with what only the readers below need. */
interface Folder extends StoreEntry {
  /** the polyhead.json object's ETag: it changes with every push */
  manifestEtag: string | null;
  problems: string[];
}

/**
 * The folder names of a kind that a viewer may see: the shared ones, then
 * tenants' as "tenant/name" (adapters/<tenant>/<name>/). A tenant sees its
 * own; undefined (the CLI, a server without keys) sees every tenant's.
 * Models are always shared.
 */
export async function folderNames(store: Store, kind: Kind, tenant?: string): Promise<string[]> {
  const dir = KIND_DIR[kind];
  const shared = await store.listFolders(`${dir}/`);
  if (kind === "model") return shared;
  const owners = tenant === undefined ? shared : [tenant];
  const own = await Promise.all(owners.map(async (t) => (await store.listFolders(`${dir}/${checkKey(t)}/`)).map((n) => `${t}/${n}`)));
  return [...shared, ...own.flat()];
}

/** Every folder of the given kinds, tenants' included (a tenant's namespace itself holds no files and is left out). */
export async function inventory(store: Store, kinds: Kind[] = KINDS): Promise<StoreEntry[]> {
  const folders = await Promise.all(kinds.map(async (kind) => (await folderNames(store, kind)).map((name) => ({ kind, name }))));
  const entries = await Promise.all(folders.flat().map(({ kind, name }) => entry(store, kind, name)));
  return entries.filter((e) => e.files.length > 0 || e.manifest !== null);
}

/** One folder (with no files when the store has nothing under it). */
export async function entry(store: Store, kind: Kind, name: string): Promise<StoreEntry> {
  const { manifestEtag: _e, problems: _p, ...e } = await readFolder(store, kind, name);
  return e;
}

/**
 * A folder's files. With a manifest, exactly the files it lists belong to the
 * folder (older leftovers do not), and one absent or of another size is
 * missing; a folder without one is taken as it is.
 */
async function readFolder(store: Store, kind: Kind, name: string): Promise<Folder> {
  const prefix = `${KIND_DIR[kind]}/${checkKey(name)}/`;
  const objects = directFiles(await store.list(prefix), prefix);
  const found = new Map(objects.map((o) => [o.key.slice(prefix.length), o]));
  const problems: string[] = [];
  let manifest: Manifest | null = null;
  let manifestEtag: string | null = null;
  if (found.has(MANIFEST)) {
    const got = await store.get(prefix + MANIFEST);
    const json = got ? decodeJson(got.bytes, MANIFEST, problems) : undefined;
    if (got && json !== undefined) {
      try {
        manifest = parseManifest(json);
        manifestEtag = got.etag;
      } catch {
        problems.push(`${MANIFEST} is not a polyhead manifest`);
      }
    }
  }
  let files: FileInfo[];
  const missing: string[] = [];
  if (manifest) {
    files = [];
    for (const [file, want] of Object.entries(manifest.files)) {
      const o = found.get(file);
      if (!o || o.size !== want.size) missing.push(file);
      else files.push({ name: file, size: o.size, etag: o.etag, sha256: want.sha256 });
    }
  } else {
    files = [...found.entries()].filter(([file]) => file !== MANIFEST).map(([file, o]) => ({ name: file, size: o.size, etag: o.etag }));
  }
  files.sort((a, b) => a.name.localeCompare(b.name));
  return {
    kind,
    name,
    prefix,
    size: files.reduce((n, f) => n + f.size, 0),
    files,
    manifest: manifest ? { pushed_at: manifest.pushed_at, complete: missing.length === 0, missing } : null,
    manifestEtag,
    problems,
  };
}

// ---- JSON configs -------------------------------------------------------------

const decoder = new TextDecoder();

/** Parsed JSON, or undefined with a problem noted when it is not JSON. */
function decodeJson(bytes: Uint8Array, file: string, problems: string[]): unknown {
  try {
    return parseStoredJson(decoder.decode(bytes));
  } catch (e) {
    problems.push(`${file} is not valid JSON: ${(e as Error).message}`);
    return undefined;
  }
}

/** A JSON file of a folder: undefined when it is absent or (with a problem noted) not JSON. */
async function readJson(store: Store, prefix: string, file: string, problems: string[]): Promise<unknown> {
  const got = await store.get(prefix + file);
  return got ? decodeJson(got.bytes, file, problems) : undefined;
}

/** fn's result, or null with `file: reason` noted when the server's reader refuses the config. */
function attempt<T>(file: string, problems: string[], fn: () => T): T | null {
  try {
    return fn();
  } catch (e) {
    problems.push(`${file}: ${errorMessage(e, "config")}`);
    return null;
  }
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const record = (v: unknown): Record<string, unknown> => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

async function readHead(store: Store, prefix: string, problems: string[]): Promise<HeadConfig | null> {
  const raw = await readJson(store, prefix, CONFIG_FILE.head, problems);
  return raw === undefined || isModelHead(raw) ? null : attempt(CONFIG_FILE.head, problems, () => parseHeadConfig(raw));
}

// ---- fusion membership --------------------------------------------------------

/** The adapters a fusion folder fuses: fusion.json, else AdapterHub's saved name "a,b,c" (as the catalog resolves them); null when neither says. */
async function fusedAdapters(store: Store, fusion: string, problems: string[] = []): Promise<string[] | null> {
  const prefix = `${KIND_DIR.fusion}/${checkKey(fusion)}/`;
  const listed = await readJson(store, prefix, FUSION_LIST, problems);
  const saved = fusionAdapters(listed, null) ? null : record(await readJson(store, prefix, CONFIG_FILE.fusion, problems)).name;
  return fusionAdapters(listed, saved);
}

/** fusion folder → the adapter folder names it fuses, over the fusions a viewer may see (folderNames). */
export async function fusionMembers(store: Store, tenant?: string): Promise<Map<string, string[]>> {
  const names = await folderNames(store, "fusion", tenant);
  const entries = await Promise.all(names.map(async (name) => [name, await fusedAdapters(store, name)] as const));
  return new Map(entries.filter((e): e is [string, string[]] => e[1] !== null));
}

/** The fusions that fuse an adapter known by any of `names` (its folder name, its saved name), sorted. */
function fusionsUsing(members: Map<string, string[]>, names: (string | null)[]): string[] {
  return [...members].filter(([, fused]) => fused.some((a) => names.includes(a))).map(([f]) => f).sort();
}

// ---- models --------------------------------------------------------------------

export interface ModelSummary {
  name: string;
  model_type: string | null;
  hidden_size: number | null;
  layers: number | null;
  attention_heads: number | null;
  max_position_embeddings: number | null;
  /** encoder-decoder (translation) models only: true */
  encoder_decoder?: boolean;
  /** encoder-decoder models: each stack's depth (decoder layers are numbered after the encoder's) */
  encoder_layers?: number | null;
  decoder_layers?: number | null;
  /** encoder-decoder models: the language codes src_lang / tgt_lang take (mBART-50 style), else [] */
  languages?: string[];
  /** false when polyhead cannot build this model (see `error`) */
  supported: boolean;
  error?: string;
}

interface ModelReading {
  raw: Record<string, unknown>;
  parsed: ModelConfig | null;
  problems: string[];
}

/** config.json of a model folder; null when it has none. */
async function readModel(store: Store, name: string, problems: string[] = []): Promise<ModelReading | null> {
  const got = await store.get(`${KIND_DIR.model}/${checkKey(name)}/${CONFIG_FILE.model}`);
  if (!got) return null;
  const json = decodeJson(got.bytes, CONFIG_FILE.model, problems);
  const parsed = json === undefined ? null : attempt(CONFIG_FILE.model, problems, () => parseModelConfig(json));
  return { raw: record(json), parsed, problems };
}

/** Every folder under models/ with what its config.json says. */
export async function listModels(store: Store): Promise<ModelSummary[]> {
  const names = await store.listFolders(`${KIND_DIR.model}/`);
  const out = await Promise.all(names.map((n) => modelSummary(store, n)));
  return out.filter((m): m is ModelSummary => m !== null);
}

async function modelSummary(store: Store, name: string): Promise<ModelSummary | null> {
  const m = await readModel(store, name);
  if (!m) return null; // not a model folder
  const seq2seq = m.parsed ? m.parsed.seq2seq !== undefined : m.raw.is_encoder_decoder === true;
  const tokenizer = seq2seq ? await store.get(`${KIND_DIR.model}/${checkKey(name)}/tokenizer.json`) : null;
  const summary: ModelSummary = {
    name,
    model_type: str(m.raw.model_type),
    // as the server reads them: BART calls them d_model and encoder_attention_heads, T5 d_model and num_heads
    hidden_size: m.parsed?.hidden ?? num(m.raw.hidden_size),
    layers: num(m.raw.num_hidden_layers),
    attention_heads: m.parsed?.heads ?? num(m.raw.num_attention_heads),
    max_position_embeddings: num(m.raw.max_position_embeddings),
    ...(seq2seq && {
      encoder_decoder: true,
      encoder_layers: m.parsed ? m.parsed.layers - m.parsed.decoderLayers : num(m.raw.encoder_layers),
      decoder_layers: m.parsed ? m.parsed.decoderLayers : num(m.raw.decoder_layers),
      languages: tokenizer ? languageCodes(decodeJson(tokenizer.bytes, "tokenizer.json", [])) : [],
    }),
    supported: m.problems.length === 0,
  };
  if (m.problems.length) summary.error = m.problems.join("; ").replace(/^config\.json: /, "");
  return summary;
}

/**
 * The language codes a model's tokenizer.json takes (as the translator reads
 * them, formats/tokenizer.ts): its added tokens that look like en_XX, when its
 * template puts one before every text (mBART-50); else none. Read without
 * building the tokenizer.
 */
function languageCodes(json: unknown): string[] {
  const j = record(json);
  let pp = record(j.post_processor);
  if (pp.type === "Sequence") pp = record((Array.isArray(pp.processors) ? pp.processors : []).find((p) => record(p).type !== "ByteLevel"));
  const single = pp.type === "TemplateProcessing" && Array.isArray(pp.single) ? pp.single : [];
  const templated = single.some((item) => {
    const id = str(record(record(item).SpecialToken).id);
    const saved = id === null ? undefined : record(record(pp.special_tokens)[id]).tokens;
    const token = Array.isArray(saved) && typeof saved[0] === "string" ? saved[0] : id;
    return token !== null && LANGUAGE_CODE.test(token);
  });
  if (!templated) return [];
  const added = Array.isArray(j.added_tokens) ? j.added_tokens : [];
  return added.map((t) => str(record(t).content)).filter((t): t is string => t !== null && LANGUAGE_CODE.test(t));
}

// ---- adapters ------------------------------------------------------------------

export interface HeadSummary {
  name: string;
  type: string;
  num_labels: number;
  /** index → label */
  labels: string[];
  layers: number;
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

interface AdapterReading {
  folder: Folder;
  etag: string;
  /** why adapter_config.json could not be read at all (not JSON, nested too deep), else null */
  unreadable: string | null;
  /** `config` of adapter_config.json as saved */
  rawConfig: Record<string, unknown>;
  parsed: AdapterFile | null;
  type: string;
  savedName: string | null;
  hiddenSize: number | null;
  modelType: string | null;
  head: HeadConfig | null;
  fusions: string[];
  /** refused or unreadable configs, with the reason */
  problems: string[];
}

/** An adapter folder, read with the server's readers; NotFoundError when it holds no adapter_config.json. */
async function readAdapter(store: Store, name: string, members: Map<string, string[]>): Promise<AdapterReading> {
  const [configObj, folder] = await Promise.all([store.get(`${KIND_DIR.adapter}/${checkKey(name)}/${CONFIG_FILE.adapter}`), readFolder(store, "adapter", name)]);
  if (!configObj) throw new NotFoundError("adapter", name);
  const problems = [...folder.problems];
  // raw fields first, so a refused config is still described
  const json = decodeJson(configObj.bytes, CONFIG_FILE.adapter, problems);
  const unreadable = json === undefined ? problems[problems.length - 1] : null;
  const raw = record(json);
  const rawConfig = record(raw.config);
  const parsed = json === undefined ? null : attempt(CONFIG_FILE.adapter, problems, () => parseAdapterConfig(json));
  const { type } = adapterKind(json);
  // PEFT saves no name: only AdapterHub's saved name can differ from the folder's
  const savedName = str(raw.name) ?? (parsed?.name || null);
  const head = await readHead(store, folder.prefix, problems);
  return {
    folder,
    etag: folder.manifestEtag ?? configObj.etag,
    unreadable,
    rawConfig,
    parsed,
    type,
    savedName,
    hiddenSize: parsed?.hiddenSize ?? num(raw.hidden_size),
    modelType: parsed?.modelType ?? str(raw.model_type),
    head,
    fusions: fusionsUsing(members, [name, savedName]),
    problems,
  };
}

function adapterDetail(a: AdapterReading): AdapterDetail {
  const h = a.head;
  const detail: AdapterDetail = {
    name: a.folder.name,
    type: a.type,
    saved_name: a.savedName,
    hidden_size: a.hiddenSize,
    model_type: a.modelType,
    head: h && { name: h.name, type: h.headType, num_labels: h.numLabels, labels: h.labels, layers: h.layers },
    size: a.folder.size,
    etag: a.etag,
    fusions: a.fusions,
    supported: a.problems.length === 0,
    config: a.rawConfig,
    files: a.folder.files,
  };
  if (a.problems.length) detail.error = a.problems.join("; ");
  return detail;
}

/**
 * Every shared adapter folder (one holding adapter_config.json), summarised,
 * and the tenants' ones the viewer may see (folderNames), listed as
 * "tenant/name". A tenant's folder holds folders, not an adapter_config.json,
 * so it is never listed itself.
 */
export async function listAdapters(store: Store, tenant?: string): Promise<AdapterSummary[]> {
  const [names, members] = await Promise.all([folderNames(store, "adapter", tenant), fusionMembers(store, tenant)]);
  const out = await Promise.all(names.map((n) => readAdapter(store, n, members).catch((e) => (e instanceof NotFoundError ? null : Promise.reject(e)))));
  return out.filter((a): a is AdapterReading => a !== null).map((a) => {
    const { config: _c, files: _f, ...summary } = adapterDetail(a);
    return summary;
  });
}

/** One adapter folder in detail (its fusions: those `tenant` may see, every one without); NotFoundError when it holds no adapter_config.json, InvalidAdapterError when that is not readable JSON. */
export async function inspectAdapter(store: Store, name: string, tenant?: string): Promise<AdapterDetail> {
  const a = await readAdapter(store, name, await fusionMembers(store, tenant));
  // nothing to describe: a 422 saying why (a listing marks it unsupported instead)
  if (a.unreadable) throw new InvalidAdapterError("adapter", name, a.unreadable);
  return adapterDetail(a);
}

// ---- any folder, in detail (`polyhead inspect`) --------------------------------

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
  head?: { type: string; labels: string[]; layers: number; activation: string; use_pooler: boolean } | null;
  /** fusions: the adapters fused, in order */
  adapters?: string[];
  /** adapters: the fusions that fuse it */
  used_by_fusions?: string[];
  size: number;
  files: FileInfo[];
  manifest: StoreEntry["manifest"];
  /** configs the server would refuse, with its reason */
  problems: string[];
}

/** The first folder named `name` among the kinds (adapter, fusion, model by default), described; null when there is none. */
export async function inspectFolder(store: Store, name: string, kinds: Kind[] = ["adapter", "fusion", "model"]): Promise<Inspection | null> {
  for (const kind of kinds) {
    const folder = await readFolder(store, kind, name);
    if (folder.files.length > 0 || folder.manifest) return describe(store, folder);
  }
  return null;
}

async function describe(store: Store, f: Folder): Promise<Inspection> {
  const out: Inspection = { kind: f.kind, name: f.name, prefix: f.prefix, size: f.size, files: f.files, manifest: f.manifest, problems: [...f.problems] };
  const headOf = (h: HeadConfig | null) => h && { type: h.headType, labels: h.labels, layers: h.layers, activation: h.activation, use_pooler: h.usePooler };
  if (f.kind === "model") {
    const m = await readModel(store, f.name, out.problems);
    if (m?.parsed) {
      const { modelType, ...rest } = m.parsed;
      Object.assign(out, { model_type: modelType, hidden_size: rest.hidden, config: rest });
    }
  } else if (f.kind === "adapter") {
    try {
      const a = await readAdapter(store, f.name, await fusionMembers(store));
      out.problems = a.problems;
      if (a.parsed) Object.assign(out, { saved_name: a.savedName ?? undefined, config: Object.assign({ kind: a.type }, ...a.parsed.parts.map((p) => p.config)), hidden_size: a.hiddenSize, model_type: a.modelType });
      out.head = headOf(a.head);
      out.used_by_fusions = a.fusions;
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      out.problems.push("adapter_config.json is missing");
    }
  } else {
    const raw = await readJson(store, f.prefix, CONFIG_FILE.fusion, out.problems);
    const c = raw === undefined ? null : attempt(CONFIG_FILE.fusion, out.problems, () => parseFusionConfig(raw));
    if (c) {
      const { name: saved, hiddenSize, ...flags } = c;
      Object.assign(out, { saved_name: saved, config: flags, hidden_size: hiddenSize });
    }
    out.adapters = (await fusedAdapters(store, f.name)) ?? [];
    out.head = headOf(await readHead(store, f.prefix, out.problems));
  }
  return out;
}
