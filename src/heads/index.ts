import { z } from "zod";
import { MAX_LABELS } from "../core/limits.ts";
import { SavedConfig, trainedOn } from "../formats/saved-config.ts";
import { ACTIVATIONS } from "../graph/ops.ts";
import { linearOf } from "../formats/linear.ts";
import type { StateDict, Tensor } from "../core/tensor.ts";
import { classification } from "./classification.ts";
import { multilabel } from "./multilabel.ts";
import { questionAnswering } from "./question-answering.ts";
import { tagging } from "./tagging.ts";
import type { HeadConfig, HeadType, HeadWeights } from "./head.ts";

// The registry of head types: adding one is a module beside this file and a
// line here. head_config.json and the head's weights are read here, the
// same way for every type.

export const HEAD_TYPES: HeadType[] = [classification, multilabel, tagging, questionAnswering];

/** Every `type` a task result may have: the heads' result types, and hidden states without a head. */
export const RESULT_TYPES: [string, ...string[]] = ["hidden_states", ...new Set(HEAD_TYPES.flatMap((h) => h.resultTypes))];

export function headType(c: HeadConfig): HeadType {
  const h = HEAD_TYPES.find((x) => x.type === c.headType);
  if (!h) throw new Error(`internal: no head type "${c.headType}"`);
  return h;
}

export const resultType = (c: HeadConfig | null) => (c ? headType(c).resultType(c) : "hidden_states");

const Config = z.looseObject({
  head_type: z.string(),
  num_labels: z.number().int().positive().max(MAX_LABELS, `a head has at most ${MAX_LABELS} labels`).optional(),
  layers: z.number().int().positive().default(1),
  activation_function: z.string().nullish(),
  label2id: z
    .record(z.string(), z.number().int().nonnegative())
    .refine((m) => Object.keys(m).length <= MAX_LABELS, `label2id has more than ${MAX_LABELS} labels`)
    .nullish(),
  use_pooler: z.boolean().default(false),
  bias: z.boolean().default(true),
});

/**
 * AdapterHub 3.2.1 saves the base model's own head (e.g. a translation model's
 * LM head) beside an adapter as a head_config.json whose config is null: it
 * is not a task head, and the model already has it.
 */
export const isModelHead = (json: unknown): boolean => !!json && typeof json === "object" && (json as { config?: unknown }).config === null;

export function parseHeadConfig(json: unknown): HeadConfig {
  const env = SavedConfig.parse(json);
  const c = Config.parse(env.config);
  const type = HEAD_TYPES.find((h) => h.type === c.head_type);
  if (!type) throw new Error(`head_type "${c.head_type}" is not supported (supported: ${HEAD_TYPES.map((h) => h.type).join(", ")})`);
  const numLabels = type.fixedLabels ?? c.num_labels ?? Object.keys(c.label2id ?? {}).length;
  if (!numLabels) throw new Error("head config has neither num_labels nor label2id");
  const activation = c.activation_function ?? "linear";
  if (!ACTIVATIONS.includes(activation.toLowerCase())) throw new Error(`unsupported head activation "${activation}"`);
  const labels = Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`);
  for (const [label, id] of Object.entries(c.label2id ?? {})) if (id < numLabels) labels[id] = label;
  return {
    name: env.name,
    headType: type.type,
    numLabels,
    layers: c.layers,
    activation: activation.toLowerCase(),
    usePooler: c.use_pooler,
    bias: c.bias,
    labels,
    ...trainedOn(env),
  };
}

/** The head's linear layers (heads.<name>.<index>.weight / .bias), in order; other heads' keys in the file are left alone. */
export function readHeadWeights(dict: StateDict, head: HeadConfig, hidden: number): HeadWeights {
  const prefix = `heads.${head.name}.`;
  const byIdx = new Map<number, Map<string, Tensor>>();
  for (const [k, t] of dict) {
    if (!k.startsWith(prefix)) continue;
    const m = /^(\d+)\.(weight|bias)$/.exec(k.slice(prefix.length));
    if (!m) continue;
    const idx = Number(m[1]);
    if (!byIdx.has(idx)) byIdx.set(idx, new Map());
    byIdx.get(idx)!.set(m[2], t);
  }
  const idxs = [...byIdx.keys()].sort((a, b) => a - b);
  if (idxs.length !== head.layers) {
    throw new Error(`head "${head.name}": config says ${head.layers} layer(s), file holds ${idxs.length} linear layer(s)`);
  }
  const layers = idxs.map((idx, i) => linearOf(byIdx.get(idx)!, "", `head "${head.name}" layer heads.${head.name}.${idx}`, hidden, i === idxs.length - 1 ? head.numLabels : hidden));
  return { layers };
}

export type { HeadConfig, HeadType, HeadWeights, RowContext } from "./head.ts";
