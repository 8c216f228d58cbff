import { z } from "zod";

// What a model family tells the rest of polyhead: how its config.json reads,
// what its weights are called, how its embeddings and positions work, and
// where AdapterHub hooks adapters into it. The graph skeleton
// (graph/encoder.ts) builds every family from these answers.

export interface ModelConfig {
  modelType: string;
  /** the Family that reads this model */
  family: string;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  activation: string;
  eps: number;
  vocabSize: number;
  maxPositions: number;
  typeVocabSize: number;
  padTokenId: number;
  /** config.json's _name_or_path, when it has one */
  nameOrPath: string | null;
}

/** A linear layer of a transformer block that LoRA-like methods can target. */
export type LinearTarget = "q" | "k" | "v" | "attnOut" | "inter" | "out";
export const LINEAR_TARGETS: LinearTarget[] = ["q", "k", "v", "attnOut", "inter", "out"];

/** Where AdapterHub puts bottleneck adapters: after the attention block (mh) and after the FFN (out). */
export type Location = "mh" | "out";

/** Module paths (without .weight / .bias) of one transformer block's parameters. */
export interface LayerNames {
  linear: Record<LinearTarget, string>;
  attnNorm: string;
  outNorm: string;
}

export interface Family {
  name: string;
  /** config.json model_type values this family reads */
  modelTypes: string[];
  parseConfig(json: Record<string, unknown>): ModelConfig;
  /** prefixes checkpoints put before the family's own names ("bert.", "distilbert.", ...) */
  weightPrefixes: string[];
  /** first segments of the family's own keys: anything before them in an adapter file is a model prefix */
  roots: string[];
  embeddings: { word: string; position: string; tokenType: string | null; norm: string };
  layer(l: number): LayerNames;
  /** the pooler's dense layer, when the family has one */
  pooler: string | null;
  /** the module AdapterHub's adapter layer at `loc` of layer `l` lives in (its keys: <module>.adapters.<name>.…) */
  adapterModule(l: number, loc: Location): string;
  /** whether the model reads token type ids */
  tokenTypes: boolean;
  /** position ids of one row's real tokens */
  positions(ids: number[], config: ModelConfig): number[];
  /** the position id fed at padding (never attended to) */
  padPosition(t: number, config: ModelConfig): number;
  /** the most tokens one row may have */
  maxTokens(config: ModelConfig): number;
}

/** The config.json fields every BERT-like family shares, as transformers names them. */
export const BertLikeConfig = z.looseObject({
  model_type: z.string(),
  hidden_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  hidden_act: z.string().default("gelu"),
  layer_norm_eps: z.number().positive().default(1e-12),
  vocab_size: z.number().int().positive(),
  max_position_embeddings: z.number().int().positive(),
  type_vocab_size: z.number().int().nonnegative().default(2),
  pad_token_id: z.number().int().nonnegative().nullable().default(null),
  position_embedding_type: z.string().default("absolute"),
  _name_or_path: z.string().nullish(),
});

/** Reads a BERT-like config.json (BERT, RoBERTa, XLM-R, ...); `defaultPad` when pad_token_id is absent. */
export function bertLikeConfig(json: Record<string, unknown>, family: string, defaultPad: number): ModelConfig {
  const c = BertLikeConfig.parse(json);
  if (c.position_embedding_type !== "absolute") {
    throw new Error(`position_embedding_type "${c.position_embedding_type}" is not supported (only "absolute")`);
  }
  return checked({
    modelType: c.model_type,
    family,
    hidden: c.hidden_size,
    layers: c.num_hidden_layers,
    heads: c.num_attention_heads,
    intermediate: c.intermediate_size,
    activation: c.hidden_act,
    eps: c.layer_norm_eps,
    vocabSize: c.vocab_size,
    maxPositions: c.max_position_embeddings,
    typeVocabSize: c.type_vocab_size,
    padTokenId: c.pad_token_id ?? defaultPad,
    nameOrPath: c._name_or_path || null,
  });
}

export function checked(c: ModelConfig): ModelConfig {
  if (c.hidden % c.heads !== 0) throw new Error("hidden_size must be a multiple of num_attention_heads");
  return c;
}

/** The BERT layout of one encoder layer (shared by BERT and RoBERTa). */
export function bertLayer(l: number): LayerNames {
  const p = `encoder.layer.${l}`;
  return {
    linear: {
      q: `${p}.attention.self.query`,
      k: `${p}.attention.self.key`,
      v: `${p}.attention.self.value`,
      attnOut: `${p}.attention.output.dense`,
      inter: `${p}.intermediate.dense`,
      out: `${p}.output.dense`,
    },
    attnNorm: `${p}.attention.output.LayerNorm`,
    outNorm: `${p}.output.LayerNorm`,
  };
}
