import { z } from "zod";
import type { GraphBuilder, Value } from "../graph/onnx-builder.ts";

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
  /**
   * Decoder layers of an encoder-decoder model (0 for encoders). `layers`
   * counts both stacks: AdapterHub numbers decoder layers after the
   * encoder's (leave_out, per-layer reduction factors), and so do places.
   */
  decoderLayers: number;
  /** what an encoder-decoder model needs beyond the encoder's fields */
  seq2seq?: Seq2SeqConfig;
  /** the token embeddings' width when it is not `hidden` (ALBERT's and DeBERTa's embedding_size) */
  embeddingSize?: number;
  /** config.json fields only the family itself reads (it parses them and reads them back) */
  options?: unknown;
}

/** config.json's fields of an encoder-decoder model that the graphs and the decoding loop read. */
export interface Seq2SeqConfig {
  decoderHeads: number;
  decoderIntermediate: number;
  /** the decoder's vocabulary (Marian may have its own) */
  decoderVocabSize: number;
  scaleEmbedding: boolean;
  decoderStartTokenId: number;
  bosTokenId: number | null;
  eosTokenId: number;
  forcedBosTokenId: number | null;
  forcedEosTokenId: number | null;
  badWordsIds: number[][];
  noRepeatNgramSize: number;
  lengthPenalty: number;
  earlyStopping: boolean | "never";
  numBeams: number;
  minLength: number;
  maxLength: number;
  /** width of one attention head: T5's d_kv (heads · headDim may differ from d_model); null: d_model / the stack's heads */
  headDim: number | null;
  /** the decoder's output is multiplied by this before the LM head (T5 with tied embeddings: d_model^-0.5) */
  lmHeadScale: number;
  /** the FFN is act(gate x) ⊙ (inter x) (T5's gated-gelu, mT5) instead of act(inter x) */
  gatedFfn: boolean;
  /** T5's relative position buckets (only with Seq2SeqShape.positions "relative") */
  relativeBuckets: { buckets: number; maxDistance: number } | null;
}

/** A linear layer of a transformer block that LoRA-like methods can target (cross*: a decoder's cross-attention). */
export type LinearTarget = "q" | "k" | "v" | "attnOut" | "inter" | "out" | "crossQ" | "crossK" | "crossV" | "crossOut";
export const LINEAR_TARGETS: LinearTarget[] = ["q", "k", "v", "attnOut", "inter", "out", "crossQ", "crossK", "crossV", "crossOut"];

/** Where AdapterHub puts bottleneck adapters: after self-attention (mh), after cross-attention (cross, decoders), after the FFN (out). */
export type Location = "mh" | "cross" | "out";
export const LOCATIONS: Location[] = ["mh", "cross", "out"];
/** AdapterHub's names of the locations (config flags, fusion attention keys) */
export const LOCATION_NAMES: Record<Location, string> = { mh: "mh_adapter", cross: "cross_adapter", out: "output_adapter" };

/** Module paths (without .weight / .bias) of one transformer block's parameters; cross-attention only in decoder layers. */
export interface LayerNames {
  linear: Partial<Record<LinearTarget, string>> & Record<"q" | "k" | "v" | "attnOut" | "inter" | "out", string>;
  attnNorm: string;
  crossNorm?: string;
  outNorm: string;
  /** the gate of a gated FFN (T5's wi_0: a plain linear layer, no adapter method targets it) */
  gate?: string;
}

/** How an encoder-decoder family builds its two stacks (read by graph/seq2seq.ts). */
export interface Seq2SeqShape {
  /** LayerNorm before each sublayer (mBART) instead of after the residual (BART, Marian) */
  preLN: boolean;
  /**
   * learned position embeddings with an offset (BART: 2), sinusoidal ones computed, not stored (Marian), or
   * T5's relative position buckets: a bias on the attention scores from the table of each stack's first
   * layer (module paths here), computed once per stack and shared by all its layers
   */
  positions: { kind: "learned"; offset: number } | { kind: "sinusoidal" } | { kind: "relative"; encoder: string; decoder: string };
  /** "layer": LayerNorm with a bias; "rms": T5's LayerNorm (scale only, no mean, no bias) */
  norm: "layer" | "rms";
  /** attention scores divided by √headDim (T5: not) */
  scaleAttention: boolean;
  /** linear layers have biases (T5: none) */
  linearBias: boolean;
  /** module paths per stack */
  encoder: StackNames;
  decoder: StackNames;
  /** the LM head's weight, else the (tied) embedding, and the bias added to the logits */
  lmHead: string[];
  finalLogitsBias: string | null;
}

export interface StackNames {
  /** candidate names of the token embedding, first present wins (tied embeddings may be saved once) */
  tokens: string[];
  positions: string | null;
  /** LayerNorm right after the embeddings (BART, mBART) */
  embeddingNorm: string | null;
  /** LayerNorm after the last layer (mBART) */
  finalNorm: string | null;
}

/** The embedding module's weights (module paths); a null one is absent. */
export interface EmbeddingNames {
  word: string;
  position: string | null;
  tokenType: string | null;
  norm: string;
  /** a bias-free projection of the summed embeddings to the hidden size, before the LayerNorm (DeBERTa's embed_proj) */
  projectBeforeNorm?: string | null;
  /** a linear layer to the hidden size after the embeddings' hooks, i.e. after invertible adapters (ALBERT's embedding_hidden_mapping_in) */
  projectAfter?: string | null;
}

/** A graph's base weights, as graph/encoder.ts hands them to a family's hooks. */
export interface GraphWeights {
  /** the weight as stored */
  W(name: string): Value;
  /** a [out, in] linear weight as [in, out] */
  WT(name: string): Value;
  /** the model's LayerNorm at a module path */
  ln(prefix: string): (x: Value) => Value;
}

/** What an attention hook sees of one layer: heads split, [N, heads, T, head size] (k as is, not transposed). */
export interface AttentionInputs {
  q: Value;
  k: Value;
  /** the layer's linear layer `target` applied to any input, with the composition's linear hooks (LoRA, (IA)^3) */
  linear(target: "q" | "k", x: Value): Value;
}

/** What a family changes in the attention scores: softmax(q·kᵀ · scale + bias + mask). */
export interface AttentionScores {
  scale: number;
  /** [N or 1, heads, T, T], added to the scaled scores; null for none */
  bias: Value | null;
}

/**
 * Where a family's encoder departs from BERT's blocks (graph/encoder.ts
 * calls each hook it finds). A family without hooks is built as BERT.
 */
export interface EncoderHooks {
  /**
   * Padding is zeroed as DeBERTa does it: the embeddings' output times the
   * mask, and attention masked by the mask's outer product (XSoftmax), so a
   * padded query attends to nothing and gets zeros. Real tokens see no
   * difference; padded positions' hidden states do, and UniPELT's gates
   * average over them as the library does.
   */
  zeroPadding?: boolean;
  /** layer modules in the order they run (ALBERT repeats shared layers); default 0 … layers-1 */
  schedule?(c: ModelConfig): number[];
  /**
   * Called once per graph: returns the scores of each layer's attention
   * (DeBERTa's disentangled relative attention). `x` is the first layer's
   * input, [N, T, hidden], for the sequence length.
   */
  attention?(g: GraphBuilder, w: GraphWeights, c: ModelConfig, x: Value): (l: number, a: AttentionInputs) => AttentionScores;
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
  embeddings: EmbeddingNames;
  /** the embedding names of a model, where its config.json changes them (default: `embeddings`) */
  embeddingsOf?(c: ModelConfig): EmbeddingNames;
  /** graph hooks where the encoder is not BERT's */
  encoder?: EncoderHooks;
  /** base weights the family reads beyond the embeddings' and layers' (checked with their shapes when the model loads) */
  extraWeights?(c: ModelConfig): [name: string, shape: number[]][];
  /** the names of layer l (encoder-decoder models: decoder layers are numbered after the encoder's, see ModelConfig.decoderLayers) */
  layer(l: number, c?: ModelConfig): LayerNames;
  /** the pooler's dense layer, when the family has one */
  pooler: string | null;
  /**
   * Locations where the library hands its adapter layer the block's input as
   * the hidden states and the sublayer's output as the residual, the other
   * way round from BERT (AlbertAttention calls attention_adapters(hidden_states,
   * projected_context, LayerNorm)): the same without adapters, not with them.
   */
  swappedAdapterInputs?: Location[];
  /** the module AdapterHub's adapter layer at `loc` of layer `l` lives in (its keys: <module>.adapters.<name>.…); null where the layer has no such location */
  adapterModule(l: number, loc: Location, c?: ModelConfig): string | null;
  /** whether the model reads token type ids */
  tokenTypes: boolean;
  /** position ids of one row's real tokens */
  positions(ids: number[], config: ModelConfig): number[];
  /** the position id fed at padding (never attended to) */
  padPosition(t: number, config: ModelConfig): number;
  /** the most tokens one row may have */
  maxTokens(config: ModelConfig): number;
  /** set for encoder-decoder families */
  seq2seq?: Seq2SeqShape;
}

export const embeddingNames = (f: Family, c: ModelConfig): EmbeddingNames => f.embeddingsOf?.(c) ?? f.embeddings;

/** The order a model's layer modules run in (ALBERT runs a shared layer several times). */
export const layerSchedule = (f: Family, c: ModelConfig): number[] => f.encoder?.schedule?.(c) ?? Array.from({ length: c.layers }, (_, l) => l);

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

/** The ModelConfig fields a BERT-like config.json gives the same way in every such family (families override what differs). */
export function bertLikeFields(c: z.infer<typeof BertLikeConfig>, family: string, defaultPad: number): ModelConfig {
  return {
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
    decoderLayers: 0,
  };
}

/** Reads a BERT-like config.json (BERT, RoBERTa, XLM-R, ...); `defaultPad` when pad_token_id is absent. */
export function bertLikeConfig(json: Record<string, unknown>, family: string, defaultPad: number): ModelConfig {
  const c = BertLikeConfig.parse(json);
  if (c.position_embedding_type !== "absolute") {
    throw new Error(`position_embedding_type "${c.position_embedding_type}" is not supported (only "absolute")`);
  }
  return checked(bertLikeFields(c, family, defaultPad));
}

export function checked(c: ModelConfig): ModelConfig {
  if (c.hidden % c.heads !== 0) throw new Error("hidden_size must be a multiple of num_attention_heads");
  return c;
}

/** The BERT layout of the embeddings (shared by BERT, RoBERTa, ALBERT and DeBERTa-v2). */
export const BERT_EMBEDDINGS: EmbeddingNames = {
  word: "embeddings.word_embeddings",
  position: "embeddings.position_embeddings",
  tokenType: "embeddings.token_type_embeddings",
  norm: "embeddings.LayerNorm",
};

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
