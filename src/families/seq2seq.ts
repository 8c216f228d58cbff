import { z } from "zod";
import { checked, type Family, type LayerNames, type ModelConfig, type Seq2SeqShape } from "./family.ts";

// What BART, mBART and Marian share: transformers' BART-style config.json and
// state-dict names (model.encoder.layers.N.self_attn.q_proj, fc1, ...), and
// AdapterHub's adapter layers in every block (attention_adapters,
// cross_attention_adapters, output_adapters), decoder layers numbered after
// the encoder's.

/** config.json's generation settings, as every encoder-decoder config carries them (PretrainedConfig's defaults). */
export const GenerationFields = {
  bos_token_id: z.number().int().nonnegative().nullish(),
  decoder_start_token_id: z.number().int().nonnegative().nullish(),
  forced_bos_token_id: z.number().int().nonnegative().nullish(),
  forced_eos_token_id: z.number().int().nonnegative().nullish(),
  bad_words_ids: z.array(z.array(z.number().int().nonnegative())).nullish(),
  no_repeat_ngram_size: z.number().int().nonnegative().default(0),
  length_penalty: z.number().default(1),
  early_stopping: z.union([z.boolean(), z.literal("never")]).default(false),
  num_beams: z.number().int().positive().default(1),
  min_length: z.number().int().nonnegative().default(0),
  max_length: z.number().int().positive().default(20),
  _name_or_path: z.string().nullish(),
};
const Generation = z.looseObject(GenerationFields);

/** The generation part of Seq2SeqConfig; `start` is the decoder start token when config.json names none. */
export function generationConfig(c: z.infer<typeof Generation>, eos: number, start: number) {
  return {
    decoderStartTokenId: c.decoder_start_token_id ?? start,
    bosTokenId: c.bos_token_id ?? null,
    eosTokenId: eos,
    forcedBosTokenId: c.forced_bos_token_id ?? null,
    forcedEosTokenId: c.forced_eos_token_id ?? null,
    badWordsIds: c.bad_words_ids ?? [],
    noRepeatNgramSize: c.no_repeat_ngram_size,
    lengthPenalty: c.length_penalty,
    earlyStopping: c.early_stopping,
    numBeams: c.num_beams,
    minLength: c.min_length,
    maxLength: c.max_length,
  };
}

const Config = z.looseObject({
  ...GenerationFields,
  model_type: z.string(),
  d_model: z.number().int().positive(),
  encoder_layers: z.number().int().positive(),
  decoder_layers: z.number().int().positive(),
  encoder_attention_heads: z.number().int().positive(),
  decoder_attention_heads: z.number().int().positive(),
  encoder_ffn_dim: z.number().int().positive(),
  decoder_ffn_dim: z.number().int().positive(),
  activation_function: z.string().default("gelu"),
  vocab_size: z.number().int().positive(),
  decoder_vocab_size: z.number().int().positive().nullish(),
  max_position_embeddings: z.number().int().positive(),
  pad_token_id: z.number().int().nonnegative().default(1),
  eos_token_id: z.number().int().nonnegative().default(2),
  scale_embedding: z.boolean().default(false),
  share_encoder_decoder_embeddings: z.boolean().default(true),
});

export function seq2seqConfig(json: Record<string, unknown>, family: string): ModelConfig {
  const c = Config.parse(json);
  if (c.d_model % c.encoder_attention_heads !== 0 || c.d_model % c.decoder_attention_heads !== 0) throw new Error("d_model must be a multiple of the attention heads");
  return checked({
    modelType: c.model_type,
    family,
    hidden: c.d_model,
    layers: c.encoder_layers + c.decoder_layers,
    decoderLayers: c.decoder_layers,
    heads: c.encoder_attention_heads,
    intermediate: c.encoder_ffn_dim,
    activation: c.activation_function,
    eps: 1e-5,
    vocabSize: c.vocab_size,
    maxPositions: c.max_position_embeddings,
    typeVocabSize: 0,
    padTokenId: c.pad_token_id,
    nameOrPath: c._name_or_path || null,
    seq2seq: {
      decoderHeads: c.decoder_attention_heads,
      decoderIntermediate: c.decoder_ffn_dim,
      decoderVocabSize: c.share_encoder_decoder_embeddings ? c.vocab_size : c.decoder_vocab_size ?? c.vocab_size,
      scaleEmbedding: c.scale_embedding,
      ...generationConfig(c, c.eos_token_id, c.eos_token_id),
      headDim: null,
      lmHeadScale: 1,
      gatedFfn: false,
      relativeBuckets: null,
    },
  });
}

export function encoderDepth(c: ModelConfig | undefined): number {
  if (!c) throw new Error("internal: an encoder-decoder family needs the model config to number its layers");
  return c.layers - c.decoderLayers;
}

/** Layer l of the combined numbering: the encoder's layers first, then the decoder's. */
export function bartLayer(l: number, c?: ModelConfig): LayerNames {
  const E = encoderDepth(c);
  const p = l < E ? `encoder.layers.${l}` : `decoder.layers.${l - E}`;
  const names: LayerNames = {
    linear: {
      q: `${p}.self_attn.q_proj`,
      k: `${p}.self_attn.k_proj`,
      v: `${p}.self_attn.v_proj`,
      attnOut: `${p}.self_attn.out_proj`,
      inter: `${p}.fc1`,
      out: `${p}.fc2`,
    },
    attnNorm: `${p}.self_attn_layer_norm`,
    outNorm: `${p}.final_layer_norm`,
  };
  if (l >= E) {
    Object.assign(names.linear, {
      crossQ: `${p}.encoder_attn.q_proj`,
      crossK: `${p}.encoder_attn.k_proj`,
      crossV: `${p}.encoder_attn.v_proj`,
      crossOut: `${p}.encoder_attn.out_proj`,
    });
    names.crossNorm = `${p}.encoder_attn_layer_norm`;
  }
  return names;
}

const MODULE = { mh: "attention_adapters", cross: "cross_attention_adapters", out: "output_adapters" } as const;

/** The parts every BART-like family shares; each family module adds its config reader and its shape. */
export function bartLike(name: string, modelTypes: string[], shape: Pick<Seq2SeqShape, "preLN" | "positions"> & { embeddingNorm: boolean; finalNorm: boolean }): Family {
  const offset = shape.positions.kind === "learned" ? shape.positions.offset : 0;
  const stack = (s: "encoder" | "decoder") => ({
    tokens: [`${s}.embed_tokens`, "shared"],
    positions: shape.positions.kind === "learned" ? `${s}.embed_positions` : null,
    embeddingNorm: shape.embeddingNorm ? `${s}.layernorm_embedding` : null,
    finalNorm: shape.finalNorm ? `${s}.layer_norm` : null,
  });
  return {
    name,
    modelTypes,
    parseConfig: (json) => seq2seqConfig(json, name),
    // ForConditionalGeneration keeps the model under "model." and the LM head at the root
    weightPrefixes: ["model.", ""],
    roots: ["encoder", "decoder", "shared"],
    embeddings: { word: "shared", position: "encoder.embed_positions", tokenType: null, norm: "encoder.layernorm_embedding" },
    layer: bartLayer,
    pooler: null,
    adapterModule(l, loc, c) {
      const E = encoderDepth(c);
      if (loc === "cross" && l < E) return null;
      return `${l < E ? `encoder.layers.${l}` : `decoder.layers.${l - E}`}.${MODULE[loc]}`;
    },
    tokenTypes: false,
    // learned positions are read at t + offset (BART's and mBART's 2), sinusoidal ones at t
    positions: (ids) => ids.map((_, t) => t + offset),
    padPosition: (t) => t + offset,
    maxTokens: (c) => c.maxPositions,
    seq2seq: {
      preLN: shape.preLN,
      positions: shape.positions,
      norm: "layer",
      scaleAttention: true,
      linearBias: true,
      encoder: stack("encoder"),
      decoder: stack("decoder"),
      lmHead: ["lm_head", "shared"],
      finalLogitsBias: "final_logits_bias",
    },
  };
}
