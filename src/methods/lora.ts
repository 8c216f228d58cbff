import { z } from "zod";
import { add, matmul, mul } from "../graph/ops.ts";
import { biasOf, need, transpose2d, type Linear } from "../formats/linear.ts";
import type { Value } from "../graph/onnx-builder.ts";
import { gateGraph, readGate, type TokenMean } from "./gate.ts";
import type { Tensor } from "../core/tensor.ts";
import { LINEAR_TARGETS, type LinearTarget } from "../families/index.ts";
import { placeKey, sortedPlaces, under, type AdapterMethod, type ParamFn, type PartSpec, type Put, type ReadContext } from "./method.ts";

// LoRA (Hu et al.) as AdapterHub saves it (architecture "lora") and as PEFT
// saves it (adapter_config.json with peft_type LORA + adapter_model.*):
// y = W x + b + s · B (A x) on the targeted linear layers.

export interface LoraConfig {
  r: number;
  alpha: number;
  /** the factor on B·A·x: alpha / r, or alpha / √r for PEFT's rsLoRA */
  scaling: number;
  targets: LinearTarget[];
  leaveOut: number[];
  /** PEFT's layers_to_transform */
  onlyLayers?: number[];
  /** PEFT's target_modules: matched against the model's layer names when the weights are read */
  modules?: string[];
  /** UniPELT's learned gate, which replaces the scaling (AdapterHub's LoRA.com with scaling=gate) */
  gated?: boolean;
}

export interface LoraPlace {
  /** [in, r] (null for (IA)^3) */
  a: Tensor | null;
  /** [r, out]; [out] for (IA)^3 */
  b: Tensor;
  /** Linear(in, 1), when gated */
  gate: Linear | null;
}
export type LoraWeights = Map<string, LoraPlace>;

const bool = z.boolean();

/** AdapterHub's LoRAConfig; (IA)^3 is the same config with composition_mode "scale". */
export const LoraSchema = z.strictObject({
  architecture: z.literal("lora"),
  r: z.number().int().positive(),
  alpha: z.number(),
  attn_matrices: z.array(z.enum(["q", "k", "v"])).default(["q", "v"]),
  composition_mode: z.enum(["add", "scale"]).default("add"),
  selfattn_lora: bool.default(true),
  intermediate_lora: bool.default(false),
  output_lora: bool.default(false),
  leave_out: z.array(z.number().int().nonnegative()).default([]),
  use_gating: bool.default(false),
});

/** Which linear layers an AdapterHub LoRA config touches. */
export function adapterhubTargets(c: z.infer<typeof LoraSchema>): LinearTarget[] {
  // AdapterHub's "selfattn" LoRA sits on every attention's q/k/v, a decoder's cross-attention included
  const cross = { q: "crossQ", k: "crossK", v: "crossV" } as const;
  const t: LinearTarget[] = c.selfattn_lora ? [...c.attn_matrices, ...c.attn_matrices.map((m) => cross[m])] : [];
  if (c.intermediate_lora) t.push("inter");
  if (c.output_lora) t.push("out");
  return t;
}

/** Each targeted layer's weights, found under <linear module>.loras.<name>. */
export function readLoraPlaces(ctx: ReadContext, c: LoraConfig, mode: "add" | "scale"): LoraWeights {
  const { family, model, name, keys } = ctx;
  // the last layer is a decoder layer in an encoder-decoder model: its names include cross-attention
  if (c.modules) c = { ...c, targets: peftTargets(c.modules, [family.layer(0, model).linear, family.layer(model.layers - 1, model).linear]) };
  const places: LoraWeights = new Map();
  for (let l = 0; l < model.layers; l++) {
    if (c.leaveOut.includes(l) || (c.onlyLayers && !c.onlyLayers.includes(l))) continue;
    const layer = family.layer(l, model);
    for (const target of LINEAR_TARGETS) {
      if (!c.targets.includes(target) || !layer.linear[target]) continue;
      const module = `${layer.linear[target]}.loras.${name}`;
      const what = `${mode === "add" ? "LoRA" : "(IA)^3"} "${name}" layer ${l} ${layer.linear[target]}`;
      const w = under(keys, module);
      if (w.size === 0) throw new Error(`${what}: no weights (expected ${module}.lora_B)`);
      const B = need(w, "lora_B", what);
      if (B.shape.length !== 2 || B.shape[1] !== c.r) throw new Error(`${what}: lora_B must be [out, ${c.r}], got [${B.shape}]`);
      const inDim = mode === "scale" ? null : need(w, "lora_A", what).shape[1];
      const gate = c.gated ? readGate(keys, `${module}.gate`, what, inDim, 1) : null;
      if (mode === "scale") {
        places.set(placeKey(l, target), { a: null, b: { shape: [B.shape[0]], data: B.data }, gate });
      } else {
        const A = need(w, "lora_A", what);
        if (A.shape.length !== 2 || A.shape[0] !== c.r) throw new Error(`${what}: lora_A must be [${c.r}, in], got [${A.shape}]`);
        places.set(placeKey(l, target), { a: transpose2d(A), b: transpose2d(B), gate });
      }
    }
  }
  return places;
}

export const lora: AdapterMethod<LoraConfig, LoraWeights> = {
  name: "lora",
  composable: false,

  parse(config) {
    if (config.architecture !== "lora" || (config.composition_mode ?? "add") !== "add") return null;
    const c = LoraSchema.parse(config);
    return { r: c.r, alpha: c.alpha, scaling: c.alpha / c.r, targets: adapterhubTargets(c), leaveOut: c.leave_out, gated: c.use_gating };
  },

  read: (ctx, c) => readLoraPlaces(ctx, c, "add"),

  spec(c, w) {
    const places = sortedPlaces(w.keys());
    return { method: "lora", places, dims: places.map(() => c.r), ...(c.gated ? { shape: { gated: true } } : {}) };
  },

  feeds(spec, bank, put) {
    for (const place of spec.places) {
      const ps = bank.map((m) => m.weights.get(place)!);
      put(place, "scale", bank.map((m) => new Float32Array([m.config.scaling])), []);
      put(place, "a", ps.map((p) => p.a!.data), ps[0].a!.shape);
      put(place, "b", ps.map((p) => p.b.data), ps[0].b.shape);
      if (spec.shape?.gated) putGate(place, ps, put);
    }
  },

  linear(y, x, place, spec, p, mean) {
    if (!spec.places.includes(place)) return y;
    const a = p(place, "a", ["in", "r"]);
    const b = p(place, "b", ["r", "out"]);
    return add(y, mul(matmul(matmul(x, a), b), loraFactor(x, place, spec, p, mean)));
  },
};

/** The factor on the update: alpha / r, or with use_gating the gate of the layer's input instead. */
export function loraFactor(x: Value, place: string, spec: PartSpec, p: ParamFn, mean: TokenMean): Value {
  if (!spec.shape?.gated) return p(place, "scale", []);
  return gateGraph(x, p(place, "gate_w", ["in", 1]), p(place, "gate_b", [1]), mean);
}

export function putGate(place: string, ps: LoraPlace[], put: Put) {
  put(place, "gate_w", ps.map((p) => p.gate!.w.data), ps[0].gate!.w.shape);
  put(place, "gate_b", ps.map((p) => biasOf(p.gate!)), [1]);
}

// ---- PEFT ---------------------------------------------------------------------

const Peft = z.looseObject({
  peft_type: z.literal("LORA", { message: "only PEFT LoRA adapters are supported" }),
  r: z.number().int().positive(),
  lora_alpha: z.number(),
  target_modules: z.union([z.array(z.string()), z.string()]),
  bias: z.literal("none", { message: 'bias must be "none"' }).default("none"),
  use_rslora: z.boolean().default(false),
  use_dora: z.literal(false, { message: "DoRA is not supported" }).default(false),
  fan_in_fan_out: z.literal(false).default(false),
  layers_to_transform: z.union([z.number().int(), z.array(z.number().int())]).nullish(),
  rank_pattern: z.record(z.string(), z.unknown()).nullish(),
  alpha_pattern: z.record(z.string(), z.unknown()).nullish(),
  modules_to_save: z.array(z.string()).nullish(),
  base_model_name_or_path: z.string().nullish(),
});

/**
 * A PEFT LoRA adapter_config.json. Target modules are matched as PEFT does,
 * by the end of the module's path, against the family's linear layers (so
 * "output.dense" also reaches BERT's attention output, as in PEFT).
 */
export function parsePeftLora(json: unknown): LoraConfig {
  const c = Peft.parse(json);
  if (typeof c.target_modules === "string") throw new Error("target_modules as a regular expression is not supported; list the modules");
  if (Object.keys(c.rank_pattern ?? {}).length || Object.keys(c.alpha_pattern ?? {}).length) throw new Error("rank_pattern / alpha_pattern are not supported");
  if (c.modules_to_save?.length) throw new Error(`modules_to_save (${c.modules_to_save.join(", ")}) is not supported: serve the PEFT adapter without its trained head`);
  const layers = c.layers_to_transform === null || c.layers_to_transform === undefined ? null : [c.layers_to_transform].flat();
  return {
    r: c.r,
    alpha: c.lora_alpha,
    scaling: c.use_rslora ? c.lora_alpha / Math.sqrt(c.r) : c.lora_alpha / c.r,
    targets: [],
    modules: c.target_modules,
    leaveOut: [],
    ...(layers ? { onlyLayers: layers } : {}),
  };
}

function peftTargets(modules: string[], layers: Partial<Record<LinearTarget, string>>[]): LinearTarget[] {
  const targets = new Set<LinearTarget>();
  const named = layers.flatMap((names) => LINEAR_TARGETS.filter((t) => names[t]).map((t) => ({ t, path: names[t]! })));
  for (const m of modules) {
    const hit = named.filter(({ path }) => path === m || path.endsWith(`.${m}`)).map(({ t }) => t);
    if (!hit.length) {
      const names = named.map(({ path }) => path.split(".").slice(-1)[0]);
      throw new Error(`target module "${m}" is not a linear layer of this model (its layers: ${[...new Set(names)].join(", ")})`);
    }
    hit.forEach((t) => targets.add(t));
  }
  return LINEAR_TARGETS.filter((t) => targets.has(t));
}

/**
 * PEFT saves `base_model.model.<prefix><module>.lora_A.weight`; renamed here
 * to AdapterHub's `<module>.loras..lora_A` (an empty adapter name), so one
 * reader serves both.
 */
export function peftKeys(dict: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, t] of dict) {
    const m = /^(?:base_model\.model\.)?(.+)\.lora_(A|B)(?:\.[A-Za-z0-9_-]+)?\.weight$/.exec(k);
    if (m) out.set(`${m[1]}.loras..lora_${m[2]}`, t);
  }
  return out;
}
