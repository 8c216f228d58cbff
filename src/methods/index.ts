import { SavedConfig, trainedOn } from "../formats/saved-config.ts";
import type { Family } from "../families/index.ts";
import type { StateDict } from "../core/tensor.ts";
import { bottleneck } from "./bottleneck.ts";
import { ia3 } from "./ia3.ts";
import { invertible } from "./invertible.ts";
import { lora, parsePeftLora, peftKeys } from "./lora.ts";
import { prefix } from "./prefix.ts";
import { familyKeys, type AdapterMethod, type Part, type ReadContext } from "./method.ts";
import type { ModelConfig } from "../families/index.ts";

// The registry of adapter methods. An adapter_config.json is offered to every
// method; each takes its part (or none). Adding a method is a module beside
// this file and a line here.

export const METHODS: AdapterMethod<any, any>[] = [bottleneck, lora, ia3, invertible, prefix];

/** The architectures adapter_config.json may name ("union": AdapterHub's ConfigUnion of the others, e.g. MAM, UniPELT). */
const ARCHITECTURES = ["bottleneck", "lora", "prefix_tuning"];

export function methodByName(name: string): AdapterMethod<any, any> {
  const m = METHODS.find((x) => x.name === name);
  if (!m) throw new Error(`internal: no adapter method "${name}"`);
  return m;
}

/** An adapter_config.json, parsed: which parts the adapter has, and what it was trained for. */
export interface AdapterFile {
  /** "adapterhub": keys carry the adapter's name; "peft": PEFT's save_pretrained layout */
  format: "adapterhub" | "peft";
  name: string;
  hiddenSize: number | null;
  modelType: string | null;
  modelName: string | null;
  parts: { method: AdapterMethod<any, any>; config: unknown }[];
}

/** Options that change nothing at inference time. */
const TRAINING_ONLY = new Set([
  "init_weights", "dropout", "phm_c_init", "phm_dim", "phm_init_range", "phm_rank", "phm_bias", "learn_phm",
  "factorized_phm_W", "factorized_phm_rule", "hypercomplex_nonlinearity",
  "init_weights_seed", "stochastic_depth", "regularization", "value_initialized", "dtype",
]);

/** Reads adapter_config.json (AdapterHub's or PEFT's); options polyhead cannot serve are refused by name. */
export function parseAdapterConfig(json: unknown): AdapterFile {
  if (json && typeof json === "object" && "peft_type" in json) {
    // PEFT's targets are module names: matched against the model when the weights are read.
    const base = (json as { base_model_name_or_path?: unknown }).base_model_name_or_path;
    const config = parsePeftLora(json);
    return { format: "peft", name: "", hiddenSize: null, modelType: null, modelName: typeof base === "string" && base ? base : null, parts: [{ method: lora, config }] };
  }
  const env = SavedConfig.parse(json);
  const configs = env.config.architecture === "union" ? unionConfigs(env.config) : [env.config];
  const parts = configs.flatMap((raw) => {
    const config = Object.fromEntries(Object.entries(raw).filter(([k]) => !TRAINING_ONLY.has(k)));
    const arch = config.architecture ?? "bottleneck";
    if (!ARCHITECTURES.includes(String(arch))) throw new Error(`adapter architecture "${String(arch)}" is not supported (supported: ${ARCHITECTURES.join(", ")}, union)`);
    return METHODS.map((method) => ({ method, config: method.parse(config) })).filter((p) => p.config !== null);
  });
  if (!parts.length) throw new Error("adapter config describes no adapter method polyhead knows");
  // in registry order, whatever the union's order (listings name an adapter's type by its parts)
  parts.sort((a, b) => METHODS.indexOf(a.method) - METHODS.indexOf(b.method));
  const twice = parts.find((p, i) => parts.findIndex((q) => q.method === p.method) !== i);
  // two bottleneck configs at different locations are a valid union for AdapterHub, but one adapter serves one part per method
  if (twice) throw new Error(`a config union with two ${twice.method.name} configs is not supported`);
  return { format: "adapterhub", name: env.name, ...trainedOn(env), parts };
}

/** AdapterHub's ConfigUnion: {"architecture": "union", "configs": [...]}, each config one method's (MAM, UniPELT). */
function unionConfigs(config: Record<string, unknown>): Record<string, unknown>[] {
  const configs = config.configs;
  if (!Array.isArray(configs) || !configs.length || !configs.every((c) => c && typeof c === "object" && !Array.isArray(c))) {
    throw new Error('a config union needs "configs": a list of adapter configs');
  }
  if (configs.some((c) => c.architecture === "union")) throw new Error("a config union cannot contain another union");
  return configs as Record<string, unknown>[];
}

/** Reads every part's weights from the adapter's state dict. */
export function readAdapterParts(file: AdapterFile, dict: StateDict, family: Family, model: ModelConfig): Part[] {
  const keys = familyKeys(file.format === "peft" ? peftKeys(dict) : dict, family);
  const ctx: ReadContext = { family, model, name: file.name, keys };
  return file.parts.map(({ method, config }) => {
    const weights = method.read(ctx, config);
    return { method, config, weights, spec: method.spec(config, weights) };
  });
}

export type { AdapterMethod, Part, PartSpec } from "./method.ts";
