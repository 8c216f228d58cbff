import { z } from "zod";
import type { Family, LayerNames, Location, ModelConfig } from "./family.ts";
import { GenerationFields, encoderDepth, generationConfig } from "./seq2seq.ts";

// T5 and mT5 (transformers' modeling_t5.py as adapter-transformers 3.2.1 vendors it): pre-norm blocks with
// T5's LayerNorm (scale only), no biases, unscaled attention with a relative position bias that each
// stack's first layer computes from bucketed distances (bidirectional in the encoder, causal in the
// decoder) and every layer reuses, a ReLU or gated FFN, no position embeddings, and a decoder that starts
// from pad. With tied embeddings the decoder's output is scaled by d_model^-0.5 before the LM head.
// AdapterHub's adapter layers are the sublayers themselves (encoder.block.N.layer.0 = self-attention,
// decoder ... layer.1 = cross-attention, the last = FFN); decoder layers are numbered after the encoder's.
// mT5 has the same config and weights; 3.2.1 gives its classes no adapters, so an mT5 serves as a base model.

const Config = z.looseObject({
  ...GenerationFields,
  model_type: z.string(),
  vocab_size: z.number().int().positive().default(32128),
  d_model: z.number().int().positive().default(512),
  d_kv: z.number().int().positive().default(64),
  d_ff: z.number().int().positive().default(2048),
  num_layers: z.number().int().positive().default(6),
  num_decoder_layers: z.number().int().positive().nullish(),
  num_heads: z.number().int().positive().default(8),
  relative_attention_num_buckets: z.number().int().positive().default(32),
  relative_attention_max_distance: z.number().int().positive().default(128),
  layer_norm_epsilon: z.number().positive().default(1e-6),
  feed_forward_proj: z.string().default("relu"),
  // T5Config derives these from feed_forward_proj, but a saved config.json carries them and they win on load
  dense_act_fn: z.string().nullish(),
  is_gated_act: z.boolean().nullish(),
  tie_word_embeddings: z.boolean().nullish(),
  pad_token_id: z.number().int().nonnegative().default(0),
  eos_token_id: z.number().int().nonnegative().default(1),
});

/** T5 has no position table: the longest source is polyhead's own bound. */
const MAX_TOKENS = 1024;

function t5Config(json: Record<string, unknown>, family: string): ModelConfig {
  const c = Config.parse(json);
  // T5Config.__init__'s reading of feed_forward_proj: "ACT" or "gated-ACT" ("gated-gelu" meaning gelu_new)
  const parts = c.feed_forward_proj.split("-");
  if ((parts.length > 1 && parts[0] !== "gated") || parts.length > 2) throw new Error(`feed_forward_proj "${c.feed_forward_proj}" is not "ACT" or "gated-ACT"`);
  const activation = c.dense_act_fn ?? (c.feed_forward_proj === "gated-gelu" ? "gelu_new" : parts[parts.length - 1]);
  const gated = c.is_gated_act ?? parts[0] === "gated";
  // MT5Config defaults to untied embeddings, T5Config (PretrainedConfig) to tied ones
  const tied = c.tie_word_embeddings ?? c.model_type !== "mt5";
  // Buckets past max_distance must all be the last one (the bias table is built for |distance| <= max_distance);
  // at or below the exact range the library's logarithm is 0 or negative and its buckets are meaningless.
  const exact = Math.floor(c.relative_attention_num_buckets / 2);
  if (c.relative_attention_num_buckets < 2 || c.relative_attention_max_distance <= exact) {
    throw new Error(`relative_attention_max_distance (${c.relative_attention_max_distance}) must exceed relative_attention_num_buckets / 2 (${exact})`);
  }
  const decoderLayers = c.num_decoder_layers ?? c.num_layers;
  return {
    modelType: c.model_type,
    family,
    hidden: c.d_model,
    layers: c.num_layers + decoderLayers,
    decoderLayers,
    heads: c.num_heads,
    intermediate: c.d_ff,
    activation,
    eps: c.layer_norm_epsilon,
    vocabSize: c.vocab_size,
    maxPositions: MAX_TOKENS,
    typeVocabSize: 0,
    padTokenId: c.pad_token_id,
    nameOrPath: c._name_or_path || null,
    seq2seq: {
      decoderHeads: c.num_heads,
      decoderIntermediate: c.d_ff,
      decoderVocabSize: c.vocab_size,
      scaleEmbedding: false,
      // T5 starts decoding from pad (config.json says so too; pad is the fallback)
      ...generationConfig(c, c.eos_token_id, c.pad_token_id),
      headDim: c.d_kv,
      lmHeadScale: tied ? 1 / Math.sqrt(c.d_model) : 1,
      gatedFfn: gated,
      relativeBuckets: { buckets: c.relative_attention_num_buckets, maxDistance: c.relative_attention_max_distance },
    },
  };
}

/** The block of layer l and the index of its FFN sublayer (after cross-attention in the decoder). */
function block(l: number, c?: ModelConfig) {
  const E = encoderDepth(c);
  return l < E ? { p: `encoder.block.${l}`, ff: 1 } : { p: `decoder.block.${l - E}`, ff: 2 };
}

function t5Layer(l: number, c?: ModelConfig): LayerNames {
  const { p, ff } = block(l, c);
  const gated = c?.seq2seq?.gatedFfn ?? false;
  const attn = `${p}.layer.0.SelfAttention`;
  const dense = `${p}.layer.${ff}.DenseReluDense`;
  const names: LayerNames = {
    linear: {
      q: `${attn}.q`,
      k: `${attn}.k`,
      v: `${attn}.v`,
      attnOut: `${attn}.o`,
      // AdapterHub's LoRA "intermediate" is wi (wi_1 when gated: the linear half, not the activated gate)
      inter: gated ? `${dense}.wi_1` : `${dense}.wi`,
      out: `${dense}.wo`,
    },
    attnNorm: `${p}.layer.0.layer_norm`,
    outNorm: `${p}.layer.${ff}.layer_norm`,
    ...(gated ? { gate: `${dense}.wi_0` } : {}),
  };
  if (ff === 2) {
    const cross = `${p}.layer.1.EncDecAttention`;
    Object.assign(names.linear, { crossQ: `${cross}.q`, crossK: `${cross}.k`, crossV: `${cross}.v`, crossOut: `${cross}.o` });
    names.crossNorm = `${p}.layer.1.layer_norm`;
  }
  return names;
}

const stack = (s: "encoder" | "decoder") => ({ tokens: [`${s}.embed_tokens`, "shared"], positions: null, embeddingNorm: null, finalNorm: `${s}.final_layer_norm` });

export const t5: Family = {
  name: "t5",
  modelTypes: ["t5", "mt5"],
  parseConfig: (json) => t5Config(json, "t5"),
  // ForConditionalGeneration saves its modules at the root; AdapterHub's T5AdapterModel under transformer.
  weightPrefixes: ["", "transformer."],
  roots: ["encoder", "decoder", "shared"],
  embeddings: { word: "shared", position: "", tokenType: null, norm: "" },
  layer: t5Layer,
  pooler: null,
  adapterModule(l: number, loc: Location, c?: ModelConfig) {
    const { p, ff } = block(l, c);
    if (loc === "cross") return ff === 2 ? `${p}.layer.1` : null;
    return `${p}.layer.${loc === "mh" ? 0 : ff}`;
  },
  tokenTypes: false,
  positions: (ids) => ids.map((_, t) => t),
  padPosition: (t) => t,
  maxTokens: () => MAX_TOKENS,
  seq2seq: {
    preLN: true,
    positions: { kind: "relative", encoder: "encoder.block.0.layer.0.SelfAttention.relative_attention_bias", decoder: "decoder.block.0.layer.0.SelfAttention.relative_attention_bias" },
    norm: "rms",
    scaleAttention: false,
    linearBias: false,
    encoder: stack("encoder"),
    decoder: stack("decoder"),
    lmHead: ["lm_head", "shared"],
    finalLogitsBias: null,
  },
};
