import { QUALIFIED_RE } from "../core/names.ts";
import { MAX_WIDTH } from "../core/limits.ts";

// The one reader of a store folder's layout: which kinds of folder a store
// holds, their file names in preference order, the manifest rule, fusion
// membership and an adapter's kind. Folders are read exactly as AdapterHub,
// PEFT and transformers save them. Pure (no I/O, no Node APIs): the catalog,
// the inventory, the CLI and the edge Worker all decide with these.

/** The three kinds of folder a store holds, and the folder each lives under. */
export type Kind = "model" | "adapter" | "fusion";
export const KINDS: Kind[] = ["model", "adapter", "fusion"];
export const KIND_DIR: Record<Kind, "models" | "adapters" | "fusions"> = { model: "models", adapter: "adapters", fusion: "fusions" };

/**
 * The objects directly in a folder, not in folders below it. A tenant's
 * namespace may share its name with a shared adapter (adapters/gamma/ and
 * tenant gamma's adapters/gamma/private_g/): the shared adapter's files are
 * only its own, so neither its version nor its listing ever shows the tenant's.
 */
export function directFiles<T extends { key: string }>(objects: T[], prefix: string): T[] {
  return objects.filter((o) => o.key.startsWith(prefix) && !o.key.slice(prefix.length).includes("/"));
}

/** The config that makes a folder what it is. */
export const CONFIG_FILE = { model: "config.json", adapter: "adapter_config.json", fusion: "adapter_fusion_config.json", head: "head_config.json" } as const;

/** Weight files of each part, preferred first (safetensors before torch .bin; AdapterHub before PEFT names). */
export const WEIGHT_FILES: Record<Kind | "head", string[]> = {
  model: ["model.safetensors", "pytorch_model.bin"],
  adapter: ["adapter.safetensors", "pytorch_adapter.bin", "adapter_model.safetensors", "adapter_model.bin"],
  head: ["model_head.safetensors", "pytorch_model_head.bin"],
  fusion: ["model_adapter_fusion.safetensors", "pytorch_model_adapter_fusion.bin"],
};

/** A fusion folder's list of the adapters it fuses, when AdapterHub's saved name does not say it: {"adapters": [...]}. */
export const FUSION_LIST = "fusion.json";

/**
 * `polyhead push` writes this file last into every folder it uploads. When it
 * is present it is authoritative: only the files it lists belong to the
 * folder, and each must have the listed size and SHA-256, so a reader never
 * mixes files of two versions. Folders copied by other tools (no manifest)
 * are read as they are.
 */
export const MANIFEST = "polyhead.json";

export interface Manifest {
  format: 1;
  kind: Kind;
  files: Record<string, { size: number; sha256: string }>;
  pushed_at: string;
}

/** The manifest rule: a manifest is `format: 1` with a `files` object. Throws with the reason otherwise. */
export function parseManifest(json: unknown): Manifest {
  const m = json as Partial<Manifest> | null;
  if (!m || typeof m !== "object" || Array.isArray(m)) throw new Error("not a JSON object");
  if (m.format !== 1) throw new Error(`format ${JSON.stringify(m.format ?? null)}, expected 1`);
  if (!m.files || typeof m.files !== "object" || Array.isArray(m.files)) throw new Error("no files");
  return m as Manifest;
}

/** The files AdapterHub (and polyhead push) write, in the form polyhead prefers: worth fetching while a remote folder is listed. */
export const EXPECTED_FILES: Record<Kind, string[]> = {
  model: [],
  adapter: [CONFIG_FILE.adapter, WEIGHT_FILES.adapter[0], CONFIG_FILE.head, WEIGHT_FILES.head[0], MANIFEST],
  fusion: [CONFIG_FILE.fusion, WEIGHT_FILES.fusion[0], FUSION_LIST, CONFIG_FILE.head, WEIGHT_FILES.head[0], MANIFEST],
};

/** JSON files that make a folder what it is; push uploads them after the weights they describe. */
export const CONFIG_FILES = new Set<string>([...Object.values(CONFIG_FILE), FUSION_LIST]);

export const isWeightFile = (name: string): boolean => /\.(safetensors|bin|pt|pth)$/i.test(name);

/** Files a folder of each kind may hold besides its configs and weights that polyhead reads. */
const OTHER_READ_FILES: Record<Kind, string[]> = {
  model: ["tokenizer.json", "tokenizer_config.json", "generation_config.json"],
  adapter: [],
  fusion: [],
};

/**
 * Of a saved folder's files, those polyhead reads and those it never does, with
 * the reason: a real transformers folder also carries TensorFlow/Flax weights,
 * a slow tokenizer's vocab, a README; and when both `.safetensors` and `.bin`
 * weights are saved only the preferred one is read. `polyhead push` and
 * `polyhead pull` keep the same files.
 */
export function filesToKeep(kind: Kind, names: string[]): { keep: string[]; skipped: { name: string; why: string }[] } {
  const wanted = new Set<string>([CONFIG_FILE[kind], ...OTHER_READ_FILES[kind]]);
  const preferred = new Map<string, string>();
  const weightLists = kind === "model" ? [WEIGHT_FILES.model] : [WEIGHT_FILES[kind], WEIGHT_FILES.head];
  if (kind !== "model") wanted.add(CONFIG_FILE.head);
  if (kind === "fusion") wanted.add(FUSION_LIST);
  for (const list of weightLists) {
    const first = list.find((w) => names.includes(w));
    if (!first) continue;
    wanted.add(first);
    for (const other of list) if (other !== first) preferred.set(other, first);
  }
  const keep: string[] = [];
  const skipped: { name: string; why: string }[] = [];
  for (const n of names) {
    if (wanted.has(n)) keep.push(n);
    else if (preferred.has(n)) skipped.push({ name: n, why: `${preferred.get(n)} is used` });
    else skipped.push({ name: n, why: "polyhead never reads it" });
  }
  return { keep, skipped };
}

/** The kind a folder's file names say it is, or null. A fusion folder may hold a head_config.json, so it is checked first. */
export function detectKind(files: string[]): Kind | null {
  const has = (f: string) => files.includes(f);
  if (has(CONFIG_FILE.fusion)) return "fusion";
  if (has(CONFIG_FILE.adapter)) return "adapter";
  if (has(CONFIG_FILE.model) && WEIGHT_FILES.model.some(has)) return "model";
  return null;
}

/**
 * The adapters a fusion fuses, in order: fusion.json's list, else AdapterHub's
 * saved name "a,b,c" (adapter_fusion_config.json's `name`); null when neither says.
 */
/** The adapters a fusion fuses, in order. A fusion of more than MAX_WIDTH adapters is refused where it is loaded. */
export function fusionAdapters(fusionList: unknown, savedName: unknown): string[] | null {
  const listed = fusionList && typeof fusionList === "object" ? (fusionList as { adapters?: unknown }).adapters : undefined;
  // anything but a list of strings is not a list of adapters (fusionListProblem says why)
  if (Array.isArray(listed)) return listed.every((a) => typeof a === "string") ? listed : [];
  return typeof savedName === "string" ? savedName.split(",") : null;
}

/** Why a fusion.json is refused (it must be {"adapters": [adapter names]}), or null when it is good. */
export function fusionListProblem(json: unknown): string | null {
  const listed = json && typeof json === "object" ? (json as { adapters?: unknown }).adapters : undefined;
  // a tenant's fusion lists its own adapters as "tenant/name"
  const ok = Array.isArray(listed) && listed.length > 0 && listed.every((a) => typeof a === "string" && QUALIFIED_RE.test(a));
  if (!ok) return `${FUSION_LIST} must be {"adapters": [adapter names]}`;
  return listed.length > MAX_WIDTH ? `${FUSION_LIST} lists ${listed.length} adapters; a fusion fuses at most ${MAX_WIDTH}` : null;
}

/**
 * The kind of adapter an adapter_config.json describes: AdapterHub's
 * bottleneck (also when no architecture is saved; with an invertible adapter for MAD-X), LoRA, IA³ (LoRA in scale
 * mode), PEFT's type (LoRA is served), or an architecture polyhead does not serve.
 */
export function adapterKind(json: unknown): { type: string; supported: boolean } {
  const j = (json && typeof json === "object" ? json : {}) as Record<string, unknown>;
  if (typeof j.peft_type === "string") return { type: j.peft_type.toLowerCase(), supported: j.peft_type === "LORA" };
  const c = (j.config && typeof j.config === "object" ? j.config : {}) as Record<string, unknown>;
  if (c.architecture === "union") {
    // ConfigUnion (MAM, UniPELT): its configs' kinds, in the order the server reads them
    const configs = Array.isArray(c.configs) ? c.configs : [];
    const kinds = configs.map((x) => adapterKind({ config: x }));
    const order = ["bottleneck", "lora", "ia3", "invertible", "prefix"];
    const rank = (t: string) => (order.includes(t) ? order.indexOf(t) : order.length);
    const types = kinds.flatMap((k) => k.type.split("+")).sort((a, b) => rank(a) - rank(b));
    return { type: types.join("+") || "union", supported: kinds.length > 0 && kinds.every((k) => k.supported) };
  }
  const arch = c.architecture ?? null;
  if (arch === null || arch === "bottleneck") {
    // MAD-X language adapters: a bottleneck with an invertible adapter on the embeddings (GLOW cannot run)
    if (c.inv_adapter != null) return { type: "bottleneck+invertible", supported: c.inv_adapter === "nice" };
    return { type: "bottleneck", supported: true };
  }
  if (arch === "lora") return { type: c.composition_mode === "scale" ? "ia3" : "lora", supported: true };
  if (arch === "prefix_tuning") return { type: "prefix", supported: true };
  return { type: String(arch), supported: false };
}
