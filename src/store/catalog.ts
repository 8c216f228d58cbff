import type { Store } from "./store.ts";
import { readStateDict } from "../formats/state-dict.ts";
import type { StateDict, Tensor } from "../formats/tensor.ts";
import { parseModelConfig, type ModelConfig } from "../formats/model-config.ts";
import { baseWeights, type BaseWeights } from "../formats/model-weights.ts";
import {
  parseAdapterConfig, parseFusionConfig, parseHeadConfig,
  type AdapterConfig, type FusionConfig, type HeadConfig,
} from "../formats/adapter-config.ts";
import {
  readAdapterWeights, readFusionWeights, readHeadWeights, transpose2d,
  type AdapterWeights, type FusionWeights, type HeadWeights,
} from "../formats/adapter-weights.ts";
import { TextTokenizer } from "../engine/tokenize.ts";

// Resolves names to loaded, validated objects and keeps them. Every load is
// cached as a promise, so concurrent first requests for one adapter read it
// once. Folders are laid out as in DESIGN.md; files are read exactly as
// AdapterHub saves them (safetensors preferred, torch .bin otherwise).

export interface LoadedModel {
  name: string;
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
  config: AdapterConfig;
  weights: AdapterWeights;
  head: LoadedHead | null;
}

export interface LoadedFusion {
  name: string;
  savedName: string;
  config: FusionConfig;
  weights: FusionWeights;
  /** the fused adapters' folder names, in order */
  adapters: string[];
  head: LoadedHead | null;
}

/** A name that the store does not hold (→ 404). */
export class NotFoundError extends Error {
  constructor(readonly kind: "model" | "adapter" | "fusion" | "head", readonly name: string, detail?: string) {
    super(detail ?? `${kind} "${name}" not found`);
  }
}

/** Files that exist but cannot be served with this model (→ 422). */
export class InvalidAdapterError extends Error {
  constructor(readonly kind: string, readonly name: string, detail: string) {
    super(`${kind} "${name}": ${detail}`);
  }
}

const WEIGHTS = {
  adapter: ["adapter.safetensors", "pytorch_adapter.bin"],
  head: ["model_head.safetensors", "pytorch_model_head.bin"],
  fusion: ["model_adapter_fusion.safetensors", "pytorch_model_adapter_fusion.bin"],
  model: ["model.safetensors", "pytorch_model.bin"],
};

export class Catalog {
  private cache = new Map<string, Promise<unknown>>();
  /** Called after each model/adapter/fusion load with its duration (for metrics). */
  onLoad?: (kind: "model" | "adapter" | "fusion", name: string, ms: number) => void;

  constructor(readonly store: Store) {}

  private once<T>(key: string, load: () => Promise<T>): Promise<T> {
    let p = this.cache.get(key) as Promise<T> | undefined;
    if (!p) {
      const started = performance.now();
      const kind = key.slice(0, key.indexOf(":")) as "model" | "adapter" | "fusion";
      p = load().then((v) => {
        this.onLoad?.(kind, key.slice(key.lastIndexOf(":") + 1), performance.now() - started);
        return v;
      });
      this.cache.set(key, p);
      // A failed load is not cached: the next request tries again.
      p.catch(() => this.cache.delete(key));
    }
    return p;
  }

  private async json(key: string): Promise<unknown | null> {
    const obj = await this.store.get(key);
    if (!obj) return null;
    try {
      return JSON.parse(new TextDecoder().decode(obj.bytes));
    } catch (e) {
      throw new Error(`${key} is not valid JSON: ${(e as Error).message}`);
    }
  }

  private async weights(folder: string, names: string[]): Promise<StateDict | null> {
    for (const file of names) {
      const obj = await this.store.get(`${folder}/${file}`);
      if (obj) return readStateDict(obj.bytes, file);
    }
    return null;
  }

  model(name: string): Promise<LoadedModel> {
    return this.once(`model:${name}`, async () => {
      const dir = `models/${name}`;
      const configJson = await this.json(`${dir}/config.json`);
      if (!configJson) throw new NotFoundError("model", name);
      const config = parseModelConfig(configJson);
      const dict = await this.weights(dir, WEIGHTS.model);
      if (!dict) throw new InvalidAdapterError("model", name, `no ${WEIGHTS.model.join(" or ")}`);
      const weights = baseWeights(dict, config);
      const tokJson = await this.json(`${dir}/tokenizer.json`);
      if (!tokJson) throw new InvalidAdapterError("model", name, "no tokenizer.json");
      const tokenizer = TextTokenizer.fromJson(tokJson, (await this.json(`${dir}/tokenizer_config.json`)) ?? undefined, config.modelType);
      const pooler = weights.has("pooler.dense.weight")
        ? { w: transpose2d(weights.get("pooler.dense.weight")), b: weights.get("pooler.dense.bias") }
        : null;
      return { name, config, weights, tokenizer, pooler };
    });
  }

  private checkFits(kind: string, name: string, file: { hiddenSize: number | null; modelType: string | null }, model: LoadedModel) {
    if (file.hiddenSize !== null && file.hiddenSize !== model.config.hidden) {
      throw new InvalidAdapterError(kind, name, `was trained for hidden size ${file.hiddenSize}, model "${model.name}" has ${model.config.hidden}`);
    }
  }

  private async head(folder: string, model: LoadedModel, kind: string, name: string): Promise<LoadedHead | null> {
    const json = await this.json(`${folder}/head_config.json`);
    if (!json) return null;
    const config = wrap(kind, name, () => parseHeadConfig(json));
    this.checkFits(kind, name, config, model);
    const dict = await this.weights(folder, WEIGHTS.head);
    if (!dict) throw new InvalidAdapterError(kind, name, `head_config.json without ${WEIGHTS.head.join(" or ")}`);
    return { config, weights: wrap(kind, name, () => readHeadWeights(dict, config, model.config.hidden)) };
  }

  adapter(name: string, model: LoadedModel): Promise<LoadedAdapter> {
    return this.once(`adapter:${model.name}:${name}`, async () => {
      const dir = `adapters/${name}`;
      const json = await this.json(`${dir}/adapter_config.json`);
      if (!json) throw new NotFoundError("adapter", name);
      const file = wrap("adapter", name, () => parseAdapterConfig(json));
      this.checkFits("adapter", name, file, model);
      const dict = await this.weights(dir, WEIGHTS.adapter);
      if (!dict) throw new InvalidAdapterError("adapter", name, `no ${WEIGHTS.adapter.join(" or ")}`);
      const weights = wrap("adapter", name, () => readAdapterWeights(dict, file.name, file.config, model.config.hidden, model.config.layers));
      const head = await this.head(dir, model, "adapter", name);
      return { name, savedName: file.name, config: file.config, weights, head };
    });
  }

  fusion(name: string, model: LoadedModel): Promise<LoadedFusion> {
    return this.once(`fusion:${model.name}:${name}`, async () => {
      const dir = `fusions/${name}`;
      const json = await this.json(`${dir}/adapter_fusion_config.json`);
      if (!json) throw new NotFoundError("fusion", name);
      const config = wrap("fusion", name, () => parseFusionConfig(json));
      this.checkFits("fusion", name, { hiddenSize: config.hiddenSize, modelType: null }, model);
      const dict = await this.weights(dir, WEIGHTS.fusion);
      if (!dict) throw new InvalidAdapterError("fusion", name, `no ${WEIGHTS.fusion.join(" or ")}`);
      const weights = wrap("fusion", name, () => readFusionWeights(dict, config.name, config, model.config.hidden));
      const listed = (await this.json(`${dir}/fusion.json`)) as { adapters?: unknown } | null;
      const adapters = Array.isArray(listed?.adapters) ? listed.adapters.map(String) : config.name.split(",");
      const head = await this.head(dir, model, "fusion", name);
      return { name, savedName: config.name, config, weights, adapters, head };
    });
  }

  /** Folder names under adapters/ or fusions/. */
  list(kind: "adapters" | "fusions" | "models"): Promise<string[]> {
    return this.store.listFolders(`${kind}/`);
  }

  /** The fusion whose adapters are exactly `adapters` (fusion.json, or AdapterHub's saved name "a,b,c"). */
  async findFusion(adapters: string[], model: LoadedModel): Promise<LoadedFusion> {
    const wanted = adapters.join(",");
    for (const name of await this.list("fusions")) {
      const f = await this.fusion(name, model).catch(() => null);
      if (f && (f.adapters.join(",") === wanted || f.savedName === wanted)) return f;
    }
    throw new NotFoundError("fusion", wanted, `no fusion of [${adapters.join(", ")}] in the store; name one with "fusion"`);
  }

  /** A head by adapter folder, fusion folder, or the head's saved name. */
  async findHead(name: string, model: LoadedModel): Promise<LoadedHead> {
    const byFolder = await this.adapter(name, model).then((a) => a.head, () => null);
    if (byFolder) return byFolder;
    const byFusion = await this.fusion(name, model).then((f) => f.head, () => null);
    if (byFusion) return byFusion;
    for (const kind of ["adapters", "fusions"] as const) {
      for (const folder of await this.list(kind)) {
        const json = (await this.json(`${kind}/${folder}/head_config.json`).catch(() => null)) as { name?: unknown } | null;
        if (json?.name !== name) continue;
        const head = await this.head(`${kind}/${folder}`, model, kind.slice(0, -1), folder);
        if (head) return head;
      }
    }
    throw new NotFoundError("head", name);
  }
}

function wrap<T>(kind: string, name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof NotFoundError || e instanceof InvalidAdapterError) throw e;
    const msg = e instanceof Error && "issues" in e ? zodMessage(e) : (e as Error).message;
    throw new InvalidAdapterError(kind, name, msg);
  }
}

function zodMessage(e: Error): string {
  const issues = (e as unknown as { issues: { path: PropertyKey[]; message: string }[] }).issues;
  return issues.map((i) => `${i.path.join(".") || "config"}: ${i.message}`).join("; ");
}
