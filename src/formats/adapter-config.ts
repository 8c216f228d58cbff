import { z } from "zod";
import { ACTIVATIONS } from "../graph/ops.ts";

// Readers for the JSON files AdapterHub writes next to the weights:
// adapter_config.json, head_config.json, adapter_fusion_config.json. Options
// that only matter for training are accepted and ignored; every option that
// would change inference and that polyhead does not implement is refused by
// name, never silently ignored.

export interface BottleneckConfig {
  kind: "bottleneck";
  mhAdapter: boolean;
  outputAdapter: boolean;
  reductionFactor: number | Record<string, number>;
  nonLinearity: string;
  originalLnBefore: boolean;
  originalLnAfter: boolean;
  residualBeforeLn: boolean;
  adapterResidualBeforeLn: boolean;
  lnBefore: boolean;
  lnAfter: boolean;
  scaling: number | "learned";
  isParallel: boolean;
  leaveOut: number[];
}

export interface LoraConfig {
  kind: "lora";
  r: number;
  alpha: number;
  /** the factor on B·A·x: alpha / r, or alpha / √r for PEFT's rsLoRA */
  scaling: number;
  attnMatrices: ("q" | "k" | "v")[];
  compositionMode: "add" | "scale";
  selfattnLora: boolean;
  intermediateLora: boolean;
  outputLora: boolean;
  leaveOut: number[];
  /** PEFT's layers_to_transform */
  onlyLayers?: number[];
}

export type AdapterConfig = BottleneckConfig | LoraConfig;

export interface AdapterFile {
  /** "adapterhub": keys carry the adapter's name; "peft": PEFT's save_pretrained layout */
  format: "adapterhub" | "peft";
  name: string;
  hiddenSize: number | null;
  modelType: string | null;
  config: AdapterConfig;
}

export type HeadType = "classification" | "multilabel_classification" | "tagging" | "question_answering";

export interface HeadConfig {
  name: string;
  headType: HeadType;
  numLabels: number;
  layers: number;
  activation: string;
  usePooler: boolean;
  bias: boolean;
  /** index → label, from label2id */
  labels: string[];
  hiddenSize: number | null;
  modelType: string | null;
}

export interface FusionConfig {
  name: string;
  query: boolean;
  key: boolean;
  value: boolean;
  queryBeforeLn: boolean;
  residualBefore: boolean;
  temperature: boolean;
  valueBeforeSoftmax: boolean;
  hiddenSize: number | null;
}

const Envelope = z.looseObject({
  config: z.record(z.string(), z.unknown()),
  name: z.string().min(1),
  hidden_size: z.number().int().positive().nullish(),
  model_type: z.string().nullish(),
});

const Activation = z.string().refine((s) => ACTIVATIONS.includes(s.toLowerCase()), {
  message: `unsupported activation (supported: ${ACTIVATIONS.join(", ")})`,
});

/** Options that change nothing at inference time. */
const TRAINING_ONLY = new Set([
  "init_weights", "dropout", "phm_c_init", "phm_dim", "phm_init_range", "phm_rank", "phm_bias", "learn_phm",
  "factorized_phm_W", "factorized_phm_rule", "hypercomplex_nonlinearity", "shared_W_phm", "shared_phm_rule",
  "inv_adapter_reduction_factor", "init_weights_seed", "stochastic_depth", "architecture", "regularization",
  "value_initialized", "dtype",
]);

const bool = z.boolean();

const Bottleneck = z.strictObject({
  mh_adapter: bool,
  output_adapter: bool,
  reduction_factor: z.union([z.number().positive(), z.record(z.string(), z.number().positive())]),
  non_linearity: Activation,
  original_ln_before: bool.default(false),
  original_ln_after: bool.default(true),
  residual_before_ln: z.union([z.boolean(), z.literal("post_add")]).default(true),
  adapter_residual_before_ln: bool.default(false),
  ln_before: bool.default(false),
  ln_after: bool.default(false),
  scaling: z.union([z.number(), z.literal("learned")]).default(1.0),
  is_parallel: bool.default(false),
  leave_out: z.array(z.number().int().nonnegative()).default([]),
  // Inference-relevant options polyhead does not implement: only their "off" value passes.
  use_gating: z.literal(false).default(false),
  phm_layer: z.literal(false).default(false),
  cross_adapter: z.literal(false).default(false),
  inv_adapter: z.null().default(null),
});

const Lora = z.strictObject({
  r: z.number().int().positive(),
  alpha: z.number(),
  attn_matrices: z.array(z.enum(["q", "k", "v"])).default(["q", "v"]),
  composition_mode: z.enum(["add", "scale"]).default("add"),
  selfattn_lora: bool.default(true),
  intermediate_lora: bool.default(false),
  output_lora: bool.default(false),
  leave_out: z.array(z.number().int().nonnegative()).default([]),
  use_gating: z.literal(false).default(false),
});

function stripTrainingOnly(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([k]) => !TRAINING_ONLY.has(k)));
}

export function parseAdapterConfig(json: unknown): AdapterFile {
  if (json && typeof json === "object" && "peft_type" in json) return parsePeftConfig(json);
  const env = Envelope.parse(json);
  const arch = env.config.architecture ?? "bottleneck";
  const rest = stripTrainingOnly(env.config);
  let config: AdapterConfig;
  if (arch === "bottleneck") {
    if (rest.residual_before_ln === "post_add") throw new Error(`residual_before_ln "post_add" is not supported`);
    const c = Bottleneck.parse(rest);
    // AdapterHub would build no module at all: serving it would silently answer as the bare model.
    if (!c.mh_adapter && !c.output_adapter) throw new Error("mh_adapter and output_adapter are both false: the adapter would have no bottleneck anywhere (set at least one to true)");
    config = {
      kind: "bottleneck",
      mhAdapter: c.mh_adapter,
      outputAdapter: c.output_adapter,
      reductionFactor: c.reduction_factor,
      nonLinearity: c.non_linearity.toLowerCase(),
      originalLnBefore: c.original_ln_before,
      originalLnAfter: c.original_ln_after,
      residualBeforeLn: c.residual_before_ln === true,
      adapterResidualBeforeLn: c.adapter_residual_before_ln,
      lnBefore: c.ln_before,
      lnAfter: c.ln_after,
      scaling: c.scaling,
      isParallel: c.is_parallel,
      leaveOut: c.leave_out,
    };
  } else if (arch === "lora") {
    const c = Lora.parse(rest);
    if (c.composition_mode === "scale" && c.r !== 1) throw new Error("composition_mode \"scale\" needs r == 1");
    config = {
      kind: "lora",
      r: c.r,
      alpha: c.alpha,
      scaling: c.alpha / c.r,
      attnMatrices: c.attn_matrices,
      compositionMode: c.composition_mode,
      selfattnLora: c.selfattn_lora,
      intermediateLora: c.intermediate_lora,
      outputLora: c.output_lora,
      leaveOut: c.leave_out,
    };
  } else {
    throw new Error(`adapter architecture "${String(arch)}" is not supported (supported: bottleneck, lora)`);
  }
  return { format: "adapterhub", name: env.name, hiddenSize: env.hidden_size ?? null, modelType: env.model_type ?? null, config };
}

// PEFT's LoRA (adapter_config.json + adapter_model.safetensors). The math is
// AdapterHub's LoRA: W·x + b + s·B·(A·x); target modules are matched by the
// last parts of their names, as PEFT does.
const PEFT_TARGETS: Record<string, ("q" | "k" | "v" | "inter" | "out")[]> = {
  query: ["q"], key: ["k"], value: ["v"],
  "self.query": ["q"], "self.key": ["k"], "self.value": ["v"],
  "attention.self.query": ["q"], "attention.self.key": ["k"], "attention.self.value": ["v"],
  "intermediate.dense": ["inter"], "output.dense": ["out"],
};

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

function parsePeftConfig(json: object): AdapterFile {
  const c = Peft.parse(json);
  if (typeof c.target_modules === "string") throw new Error("target_modules as a regular expression is not supported; list the modules");
  if (Object.keys(c.rank_pattern ?? {}).length || Object.keys(c.alpha_pattern ?? {}).length) throw new Error("rank_pattern / alpha_pattern are not supported");
  if (c.modules_to_save?.length) throw new Error(`modules_to_save (${c.modules_to_save.join(", ")}) is not supported: serve the PEFT adapter without its trained head`);
  const targets = c.target_modules.map((m) => {
    const t = PEFT_TARGETS[m];
    if (!t) throw new Error(`target module "${m}" is not supported (supported: ${Object.keys(PEFT_TARGETS).join(", ")})`);
    return t[0];
  });
  const attn = (["q", "k", "v"] as const).filter((m) => targets.includes(m));
  const layers = c.layers_to_transform === null || c.layers_to_transform === undefined ? null : [c.layers_to_transform].flat();
  return {
    format: "peft",
    name: "",
    hiddenSize: null,
    modelType: null,
    config: {
      kind: "lora",
      r: c.r,
      alpha: c.lora_alpha,
      scaling: c.use_rslora ? c.lora_alpha / Math.sqrt(c.r) : c.lora_alpha / c.r,
      attnMatrices: attn,
      compositionMode: "add",
      selfattnLora: attn.length > 0,
      intermediateLora: targets.includes("inter"),
      outputLora: targets.includes("out"),
      // PEFT names layers to keep; AdapterHub names layers to leave out. Resolved against the model when reading weights.
      leaveOut: [],
      ...(layers ? { onlyLayers: layers } : {}),
    },
  };
}

const Head = z.looseObject({
  head_type: z.string(),
  num_labels: z.number().int().positive().optional(),
  layers: z.number().int().positive().default(1),
  activation_function: z.string().nullish(),
  label2id: z.record(z.string(), z.number().int().nonnegative()).nullish(),
  use_pooler: z.boolean().default(false),
  bias: z.boolean().default(true),
});

const HEAD_TYPES: HeadType[] = ["classification", "multilabel_classification", "tagging", "question_answering"];

export function parseHeadConfig(json: unknown): HeadConfig {
  const env = Envelope.parse(json);
  const c = Head.parse(env.config);
  if (!HEAD_TYPES.includes(c.head_type as HeadType)) {
    throw new Error(`head_type "${c.head_type}" is not supported (supported: ${HEAD_TYPES.join(", ")})`);
  }
  const headType = c.head_type as HeadType;
  const numLabels = headType === "question_answering" ? 2 : c.num_labels ?? Object.keys(c.label2id ?? {}).length;
  if (!numLabels) throw new Error("head config has neither num_labels nor label2id");
  const activation = c.activation_function ?? "linear";
  if (!ACTIVATIONS.includes(activation.toLowerCase())) throw new Error(`unsupported head activation "${activation}"`);
  const labels = Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`);
  for (const [label, id] of Object.entries(c.label2id ?? {})) if (id < numLabels) labels[id] = label;
  return {
    name: env.name,
    headType,
    numLabels,
    layers: c.layers,
    activation: activation.toLowerCase(),
    usePooler: c.use_pooler,
    bias: c.bias,
    labels,
    hiddenSize: env.hidden_size ?? null,
    modelType: env.model_type ?? null,
  };
}

const Fusion = z.strictObject({
  key: bool,
  query: bool,
  value: bool,
  query_before_ln: bool.default(false),
  residual_before: bool.default(false),
  temperature: bool.default(false),
  value_before_softmax: bool.default(true),
});

export function parseFusionConfig(json: unknown): FusionConfig {
  const env = Envelope.parse(json);
  const c = Fusion.parse(stripTrainingOnly(env.config));
  return {
    name: env.name,
    query: c.query,
    key: c.key,
    value: c.value,
    queryBeforeLn: c.query_before_ln,
    residualBefore: c.residual_before,
    temperature: c.temperature,
    valueBeforeSoftmax: c.value_before_softmax,
    hiddenSize: env.hidden_size ?? null,
  };
}
