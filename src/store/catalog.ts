import type { Store } from "./store.ts";
import { InvalidAdapterError, NotFoundError, StoreUnavailableError } from "../core/errors.ts";
import { errorMessage } from "../core/issues.ts";
import { parseStoredJson } from "../core/json.ts";
import { EXPECTED_FILES as EXPECTED, FUSION_LIST, WEIGHT_FILES as WEIGHTS, adapterKind, fusionAdapters, fusionListProblem } from "./layout.ts";
import { defaultCacheBytes, FileCache } from "./file-cache.ts";
import { readConsistently, versionOf, type FolderSnapshot } from "./folder.ts";
import { QUALIFIED_RE, closest, tenantOf } from "../core/names.ts";
import { readStateDict } from "../formats/state-dict.ts";
import type { StateDict, Tensor } from "../core/tensor.ts";
import { familyFor, type Family, type ModelConfig } from "../families/index.ts";
import { baseWeights, type BaseWeights } from "../families/base-weights.ts";
import { parseModelConfig } from "../families/index.ts";
import { parseAdapterConfig, readAdapterParts, type Part } from "../methods/index.ts";
import { familyKeys } from "../methods/method.ts";
import { parseFusionConfig, readFusionWeights, type FoldedQK, type FusionConfig, type FusionWeights } from "../methods/fusion.ts";
import { isModelHead, parseHeadConfig, readHeadWeights, type HeadConfig, type HeadWeights } from "../heads/index.ts";
import { transpose2d } from "../formats/linear.ts";
import { TextTokenizer } from "../formats/tokenizer.ts";
import { MAX_WIDTH } from "../core/limits.ts";

// Resolves names to loaded, validated objects and keeps them. Every load is
// cached as a promise, so concurrent first requests for one adapter read it
// once. Folders are laid out as in docs/DESIGN.md; files are read exactly as
// AdapterHub saves them (safetensors preferred, torch .bin otherwise).

export interface LoadedModel {
  name: string;
  family: Family;
  config: ModelConfig;
  weights: BaseWeights;
  tokenizer: TextTokenizer;
  /** pooler weights as [in, out], for heads with use_pooler */
  pooler: { w: Tensor; b: Tensor } | null;
}

export interface LoadedHead {
  config: HeadConfig;
  weights: HeadWeights;
}

export interface LoadedAdapter {
  name: string;
  savedName: string;
  /** "bottleneck", "lora", "bottleneck+invertible", ... */
  type: string;
  /** one per adapter method the adapter uses */
  parts: Part[];
  head: LoadedHead | null;
}

export interface LoadedFusion {
  name: string;
  savedName: string;
  config: FusionConfig;
  weights: FusionWeights;
  /**
   * W_q·W_k per place, set by the engine the first time it serves the fusion;
   * query and key are then dropped from `weights` (inference needs only the fold).
   */
  folded?: FoldedQK;
  /** the fused adapters' folder names, in order */
  adapters: string[];
  head: LoadedHead | null;
}

export interface CatalogOptions {
  /** how long a loaded adapter or fusion is served before its version is checked again */
  ttlMs?: number;
  /** bytes of adapter and fusion files kept loaded; least recently used go first (models are kept) */
  budgetBytes?: number;
  cache?: FileCache;
  /** Called after each model/adapter/fusion load with its duration (for metrics). */
  onLoad?: (kind: "model" | "adapter" | "fusion", name: string, ms: number) => void;
}

interface Entry {
  value: unknown;
  version: string;
  checkedAt: number;
  bytes: number;
  pinned: boolean;
}

export interface CatalogStats {
  entries: number;
  bytes: number;
  evictions: number;
  reloads: number;
}

/** Reads one folder version's files; JSON and weights parsed on the way. */
class FolderFiles {
  constructor(private snap: FolderSnapshot) {}
  has(name: string) {
    return this.snap.has(name);
  }
  /**
   * Starts reading every file the loader will ask for (the first present of
   * each group) at once: a remote store then costs one round trip, not four.
   */
  prefetch(groups: string[][]): void {
    for (const group of groups) {
      const name = group.find((n) => this.snap.has(n));
      if (name) void this.snap.read(name).catch(() => {}); // errors surface on the real read
    }
  }
  async json(name: string): Promise<unknown | null> {
    const bytes = await this.snap.read(name);
    if (!bytes) return null;
    try {
      return parseStoredJson(new TextDecoder().decode(bytes));
    } catch (e) {
      // the folder's kind and name: "adapters/x" → adapter "x" (a 422 for what the file holds, never a 500)
      const [dir, ...rest] = this.snap.folder.split("/");
      throw new InvalidAdapterError(dir.replace(/s$/, ""), rest.join("/"), `${name} is not valid JSON: ${(e as Error).message}`);
    }
  }
  async weights(names: string[]): Promise<StateDict | null> {
    for (const name of names) {
      if (!this.snap.has(name)) continue;
      const bytes = await this.snap.read(name);
      if (bytes) return readStateDict(bytes, name);
    }
    return null;
  }
}

export class Catalog {
  readonly cache: FileCache;
  /** A remote store: worth fetching files before the listing returns (a local folder is not). */
  private remote: boolean;
  private entries = new Map<string, Entry>();
  private inflight = new Map<string, Promise<unknown>>();
  private ttlMs: number;
  private budget: number;
  private counters = { evictions: 0, reloads: 0 };
  private readonly onLoad: CatalogOptions["onLoad"];

  constructor(
    readonly store: Store,
    opts: CatalogOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.budget = opts.budgetBytes ?? 2 * 1024 ** 3;
    this.cache = opts.cache ?? new FileCache(store, { memoryBytes: defaultCacheBytes(store) });
    this.remote = store.remote === true;
    this.onLoad = opts.onLoad;
  }

  stats(): CatalogStats {
    let bytes = 0;
    for (const e of this.entries.values()) bytes += e.bytes;
    return { entries: this.entries.size, bytes, ...this.counters };
  }

  private flight<T>(key: string, run: () => Promise<T>): Promise<T> {
    let p = this.inflight.get(key) as Promise<T> | undefined;
    if (!p) {
      p = run().finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /**
   * The loaded value of a folder, loaded once however many requests ask at
   * the same time. Past the TTL it is still served at once while its version
   * is checked in the background (stale-while-revalidate): a slow or frozen
   * store never holds up a request for something already loaded. A changed
   * folder is replaced whole when the check finds it.
   */
  private async get<T>(kind: "model" | "adapter" | "fusion", key: string, folder: string, name: string, parse: (f: FolderFiles) => Promise<T>): Promise<T> {
    const e = this.entries.get(key);
    if (e) {
      this.entries.delete(key);
      this.entries.set(key, e); // LRU: most recently used goes last
      if (!e.pinned && Date.now() - e.checkedAt >= this.ttlMs) void this.flight(`${key}#check`, () => this.revalidate(kind, key, folder, name, e, parse)).catch(() => {});
      return e.value as T;
    }
    return this.flight(key, () => this.load(kind, key, folder, name, parse));
  }

  /** Resolves once the background checks started so far have ended (tests; a clean shutdown). */
  async settled(): Promise<void> {
    while (this.inflight.size || this.listingChecks.size) await Promise.allSettled([...this.inflight.values(), ...this.listingChecks.values()]);
  }

  /** A loaded value, without touching the store or its TTL; undefined when it is not loaded. */
  private peek<T>(key: string): T | undefined {
    return this.entries.get(key)?.value as T | undefined;
  }

  private async revalidate<T>(kind: "model" | "adapter" | "fusion", key: string, folder: string, name: string, e: Entry, parse: (f: FolderFiles) => Promise<T>): Promise<void> {
    let current: string | null;
    try {
      current = versionOf(await this.store.list(`${folder}/`), folder);
    } catch (err) {
      // The store is away: what was loaded stays good until it comes back (checked again after another TTL).
      e.checkedAt = Date.now();
      if (err instanceof StoreUnavailableError) return;
      throw err;
    }
    if (current === e.version) {
      e.checkedAt = Date.now();
      return;
    }
    if (current === null) {
      if (this.entries.get(key) === e) this.entries.delete(key);
      return;
    }
    try {
      this.counters.reloads++;
      await this.load(kind, key, folder, name, parse);
    } catch (err) {
      if (err instanceof StoreUnavailableError) {
        e.checkedAt = Date.now();
        return;
      }
      // The new version cannot be used: the next request loads it itself and gets the reason.
      if (this.entries.get(key) === e) this.entries.delete(key);
    }
  }

  private async load<T>(kind: "model" | "adapter" | "fusion", key: string, folder: string, name: string, parse: (f: FolderFiles) => Promise<T>): Promise<T> {
    const started = performance.now();
    // Cold adapter and fusion loads fetch their usual files while the folder is listed.
    const got = await readConsistently(this.cache, folder, (snap) => parse(new FolderFiles(snap)), this.remote ? EXPECTED[kind] : []);
    if (!got) {
      // models are shared by every tenant: naming the closest ones leaks nothing
      const near = kind === "model" ? closest(name, await this.list("models").catch(() => [])) : [];
      throw new NotFoundError(kind, name, near.length ? `${kind} "${name}" not found; did you mean ${near.map((n) => `"${n}"`).join(" or ")}?` : undefined);
    }
    this.entries.delete(key);
    this.entries.set(key, { value: got.value, version: got.snap.version, checkedAt: Date.now(), bytes: got.snap.bytesRead(), pinned: kind === "model" });
    this.evict();
    this.onLoad?.(kind, name, performance.now() - started);
    return got.value;
  }

  private evict() {
    let used = 0;
    for (const e of this.entries.values()) if (!e.pinned) used += e.bytes;
    for (const [k, e] of this.entries) {
      if (used <= this.budget) break;
      if (e.pinned) continue;
      this.entries.delete(k);
      used -= e.bytes;
      this.counters.evictions++;
    }
  }

  model(name: string): Promise<LoadedModel> {
    return this.get("model", `model:${name}`, `models/${checkName(name)}`, name, async (f) => {
      f.prefetch([["config.json"], WEIGHTS.model, ["tokenizer.json"], ["tokenizer_config.json"], ["generation_config.json"]]);
      const configJson = await f.json("config.json");
      if (!configJson) throw new NotFoundError("model", name);
      // transformers reads generation settings from generation_config.json first, config.json second
      const generation = f.has("generation_config.json") ? await f.json("generation_config.json") : null;
      const merged = generation && typeof generation === "object" ? { ...(configJson as object), ...withoutNulls(generation as Record<string, unknown>) } : configJson;
      const config = wrap("model", name, () => parseModelConfig(merged));
      const family = familyFor(config.modelType);
      const dict = await f.weights(WEIGHTS.model);
      if (!dict) throw new InvalidAdapterError("model", name, `no ${WEIGHTS.model.join(" or ")}`);
      const weights = wrap("model", name, () => baseWeights(dict, family, config));
      const tokJson = await f.json("tokenizer.json");
      if (!tokJson) throw new InvalidAdapterError("model", name, "no tokenizer.json");
      const tokConfig = (await f.json("tokenizer_config.json")) ?? undefined;
      const tokenizer = wrap("model", name, () => TextTokenizer.fromJson(tokJson, tokConfig, config.modelType));
      const pooler = family.pooler && weights.has(`${family.pooler}.weight`)
        ? { w: transpose2d(weights.get(`${family.pooler}.weight`)), b: weights.get(`${family.pooler}.bias`) }
        : null;
      return { name, family, config, weights, tokenizer, pooler };
    });
  }

  /** An adapter, fusion or head saved for another base model is refused, naming both sides. */
  private checkFits(kind: string, name: string, file: { hiddenSize: number | null; modelType: string | null; modelName: string | null }, model: LoadedModel) {
    const m = model.config;
    const problems: string[] = [];
    if (file.modelType !== null && file.modelType !== m.modelType) problems.push(`model_type "${file.modelType}", model "${model.name}" is "${m.modelType}"`);
    if (file.hiddenSize !== null && file.hiddenSize !== m.hidden) problems.push(`hidden size ${file.hiddenSize}, model "${model.name}" has ${m.hidden}`);
    // Compared by the last part of the name: "google-bert/bert-base-uncased" is "bert-base-uncased".
    const base = (s: string) => s.replace(/\/+$/, "").split("/").pop()!;
    if (file.modelName && m.nameOrPath && base(file.modelName) !== base(m.nameOrPath)) problems.push(`base model "${file.modelName}", model "${model.name}" is "${m.nameOrPath}"`);
    if (problems.length) throw new InvalidAdapterError(kind, name, `was saved for another base model: ${problems.join("; ")}`);
  }

  private async head(f: FolderFiles, model: LoadedModel, kind: string, name: string): Promise<LoadedHead | null> {
    const json = await f.json("head_config.json");
    if (!json || isModelHead(json)) return null;
    const config = wrap(kind, name, () => parseHeadConfig(json));
    this.checkFits(kind, name, config, model);
    const dict = await f.weights(WEIGHTS.head);
    if (!dict) throw new InvalidAdapterError(kind, name, `head_config.json without ${WEIGHTS.head.join(" or ")}`);
    return { config, weights: wrap(kind, name, () => readHeadWeights(dict, config, model.config.hidden)) };
  }

  adapter(name: string, model: LoadedModel): Promise<LoadedAdapter> {
    return this.get("adapter", `adapter:${model.name}:${name}`, `adapters/${checkName(name)}`, name, async (f) => {
      f.prefetch([["adapter_config.json"], WEIGHTS.adapter, ["head_config.json"], WEIGHTS.head]);
      const json = await f.json("adapter_config.json");
      if (!json) throw new NotFoundError("adapter", name);
      const file = wrap("adapter", name, () => parseAdapterConfig(json));
      this.checkFits("adapter", name, file, model);
      const dict = await f.weights(WEIGHTS.adapter);
      if (!dict) throw new InvalidAdapterError("adapter", name, `no ${WEIGHTS.adapter.join(" or ")}`);
      const parts = wrap("adapter", name, () => readAdapterParts(file, dict, model.family, model.config));
      const head = await this.head(f, model, "adapter", name);
      return { name, savedName: file.name || name, type: adapterKind(json).type, parts, head };
    });
  }

  fusion(name: string, model: LoadedModel): Promise<LoadedFusion> {
    return this.get("fusion", `fusion:${model.name}:${name}`, `fusions/${checkName(name)}`, name, async (f) => {
      f.prefetch([["adapter_fusion_config.json"], WEIGHTS.fusion, ["fusion.json"], ["head_config.json"], WEIGHTS.head]);
      const json = await f.json("adapter_fusion_config.json");
      if (!json) throw new NotFoundError("fusion", name);
      const config = wrap("fusion", name, () => parseFusionConfig(json));
      this.checkFits("fusion", name, config, model);
      const dict = await f.weights(WEIGHTS.fusion);
      if (!dict) throw new InvalidAdapterError("fusion", name, `no ${WEIGHTS.fusion.join(" or ")}`);
      const weights = wrap("fusion", name, () => readFusionWeights(familyKeys(dict, model.family), config, model.family, model.config));
      const listed = await f.json(FUSION_LIST);
      const problem = listed === null ? null : fusionListProblem(listed);
      if (problem) throw new InvalidAdapterError("fusion", name, problem);
      const adapters = fusionAdapters(listed, config.name)!;
      // A fusion fuses shared adapters and its own tenant's only: a shared fusion that named a
      // tenant's adapter would name it in errors to every other tenant. The names are not repeated.
      const owner = tenantOf(name);
      if (adapters.some((a) => tenantOf(a) !== undefined && tenantOf(a) !== owner)) {
        throw new InvalidAdapterError("fusion", name, owner === undefined ? "a shared fusion fuses only shared adapters" : "a tenant's fusion fuses only shared adapters and the tenant's own");
      }
      // a fusion's width is a composition's width: a list of 1,000 adapters would stall every request
      if (adapters.length > MAX_WIDTH) throw new InvalidAdapterError("fusion", name, `fuses ${adapters.length} adapters; a fusion fuses at most ${MAX_WIDTH}`);
      const head = await this.head(f, model, "fusion", name);
      return { name, savedName: config.name, config, weights, adapters, head };
    });
  }

  /**
   * Folder names under models/, adapters/ or fusions/. findFusion and
   * findHead scan these on every request that names a fusion by its
   * adapters: one listing per TTL, not one store round trip per request.
   * Past the TTL the last good listing is served while a fresh one is
   * fetched; while the store is away it stays the last good one. `fresh`
   * (after a miss) waits for the store.
   */
  async list(kind: "adapters" | "fusions" | "models", fresh = false, tenant?: string): Promise<string[]> {
    const prefix = `${kind}/${tenant === undefined ? "" : `${checkName(tenant)}/`}`;
    const hit = this.listings.get(prefix);
    if (hit && !fresh) {
      if (Date.now() - hit.at >= this.ttlMs) void this.relist(prefix).catch(() => {});
      return hit.names;
    }
    // a first listing, or a fresh one after a miss: while the store is away that is a 503, not a guess
    return this.relist(prefix);
  }

  private listings = new Map<string, { at: number; names: string[] }>();
  private listingChecks = new Map<string, Promise<string[]>>();

  private relist(prefix: string): Promise<string[]> {
    let p = this.listingChecks.get(prefix);
    if (!p) {
      p = this.store.listFolders(prefix).then(
        (names) => {
          this.listings.set(prefix, { at: Date.now(), names });
          return names;
        },
        (e) => {
          const hit = this.listings.get(prefix);
          if (hit) hit.at = Date.now(); // the last good listing, for another TTL
          throw e;
        },
      );
      p.catch(() => {}).finally(() => this.listingChecks.delete(prefix));
      this.listingChecks.set(prefix, p);
    }
    return p;
  }

  /** The fusion whose adapters are exactly `adapters` (fusion.json, or AdapterHub's saved name "a,b,c"). */
  findFusion(adapters: string[], model: LoadedModel): Promise<LoadedFusion> {
    return this.freshOnMiss((fresh) => this.scanFusions(adapters, model, fresh));
  }

  /** A head by adapter folder, fusion folder, or the head's saved name. */
  findHead(name: string, model: LoadedModel): Promise<LoadedHead> {
    return this.freshOnMiss((fresh) => this.scanHeads(name, model, fresh));
  }

  /**
   * Scans over the cached listings; on a miss, once more over fresh ones, so a
   * folder added a moment ago is found. A miss while the store could not be
   * read is a 503, not a 404: the folder may well be there.
   */
  private async freshOnMiss<T>(scan: (fresh: boolean) => Promise<T>): Promise<T> {
    try {
      return await scan(false);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      return scan(true);
    }
  }

  /**
   * Listed folders, those already loaded for this model first: they are
   * matched without the store, so a store that is away or frozen does not
   * hold up what is loaded.
   */
  private async candidates(kind: "adapters" | "fusions", model: LoadedModel, fresh: boolean, tenant?: string): Promise<string[]> {
    const shared = await this.list(kind, fresh);
    const names = tenant === undefined ? shared : [...(await this.list(kind, fresh, tenant)).map((n) => `${tenant}/${n}`), ...shared];
    const loaded = (n: string) => this.entries.has(`${kind === "adapters" ? "adapter" : "fusion"}:${model.name}:${n}`);
    return [...names.filter(loaded), ...names.filter((n) => !loaded(n))];
  }

  private async scanFusions(adapters: string[], model: LoadedModel, fresh: boolean): Promise<LoadedFusion> {
    const wanted = adapters.join(",");
    let away: StoreUnavailableError | null = null;
    // adapters of one tenant (its own, maybe with shared ones) are looked for in its fusions too
    const owners = [...new Set(adapters.map(tenantOf).filter((t) => t !== undefined))];
    for (const name of await this.candidates("fusions", model, fresh, owners.length === 1 ? owners[0] : undefined)) {
      const f = await this.fusion(name, model).catch((e) => {
        if (e instanceof StoreUnavailableError) away = e;
        return null;
      });
      if (f && (f.adapters.join(",") === wanted || f.savedName === wanted)) return f;
    }
    if (away) throw away;
    throw new NotFoundError("fusion", wanted, `no fusion of [${adapters.join(", ")}] in the store; name one with "fusion"`);
  }

  /** A head saved alone (AdapterHub's save_head): an adapters/ folder with head files and no adapter_config.json. */
  private headAlone(name: string, model: LoadedModel): Promise<LoadedHead> {
    return this.get("adapter", `head:${model.name}:${name}`, `adapters/${checkName(name)}`, name, async (f) => {
      f.prefetch([["head_config.json"], WEIGHTS.head]);
      const head = await this.head(f, model, "head", name);
      if (!head) throw new NotFoundError("head", name);
      return head;
    });
  }

  /** The head of an adapters/ folder: the adapter's, or a head saved alone there. */
  private async adapterFolderHead(folder: string, model: LoadedModel): Promise<LoadedHead | null> {
    try {
      return (await this.adapter(folder, model)).head;
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      return this.headAlone(folder, model);
    }
  }

  private async scanHeads(name: string, model: LoadedModel, fresh: boolean): Promise<LoadedHead> {
    let away: StoreUnavailableError | null = null;
    const note = (e: unknown) => {
      if (e instanceof StoreUnavailableError) away = e;
      return null;
    };
    if (QUALIFIED_RE.test(name)) {
      const byFolder = await this.adapterFolderHead(name, model).catch(note);
      if (byFolder) return byFolder;
      const byFusion = await this.fusion(name, model).then((f) => f.head, note);
      if (byFusion) return byFusion;
    }
    // loaded folders of both kinds first: matched without the store
    const folders: { kind: "adapters" | "fusions"; folder: string; loaded?: LoadedAdapter | LoadedFusion }[] = [];
    for (const kind of ["adapters", "fusions"] as const) {
      for (const folder of await this.list(kind, fresh)) folders.push({ kind, folder, loaded: this.peek(`${kind === "adapters" ? "adapter" : "fusion"}:${model.name}:${folder}`) });
    }
    for (const { loaded } of folders) if (loaded?.head?.config.name === name) return loaded.head;
    for (const { kind, folder } of folders.filter((f) => !f.loaded)) {
      const obj = await this.store.get(`${kind}/${folder}/head_config.json`).catch(note);
      if (!obj) continue;
      let saved: unknown;
      try {
        saved = (parseStoredJson(new TextDecoder().decode(obj.bytes)) as { name?: unknown }).name;
      } catch {
        continue;
      }
      if (saved !== name) continue;
      const head = kind === "adapters" ? await this.adapterFolderHead(folder, model) : (await this.fusion(folder, model)).head;
      if (head) return head;
    }
    if (away) throw away;
    throw new NotFoundError("head", name);
  }
}

/** A folder name: "name" (shared) or "tenant/name" (a tenant's namespace, the folder <kind>/tenant/name). */
function checkName(name: string): string {
  if (!QUALIFIED_RE.test(name)) throw new NotFoundError("adapter", name, `"${name}" is not a valid name`);
  return name;
}

const withoutNulls = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));

function wrap<T>(kind: string, name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof NotFoundError || e instanceof InvalidAdapterError) throw e;
    throw new InvalidAdapterError(kind, name, errorMessage(e, "config"));
  }
}
