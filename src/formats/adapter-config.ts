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
  attnMatrices: ("q" | "k" | "v")[];
  compositionMode: "add" | "scale";
  selfattnLora: boolean;
  intermediateLora: boolean;
  outputLora: boolean;
  leaveOut: number[];
}

export type AdapterConfig = BottleneckConfig | LoraConfig;

export interface AdapterFile {
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
  const env = Envelope.parse(json);
  const arch = env.config.architecture ?? "bottleneck";
  const rest = stripTrainingOnly(env.config);
  let config: AdapterConfig;
  if (arch === "bottleneck") {
    if (rest.residual_before_ln === "post_add") throw new Error(`residual_before_ln "post_add" is not supported`);
    const c = Bottleneck.parse(rest);
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
  return { name: env.name, hiddenSize: env.hidden_size ?? null, modelType: env.model_type ?? null, config };
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
