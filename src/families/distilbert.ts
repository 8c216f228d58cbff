import { z } from "zod";
import { checked, type Family } from "./family.ts";

// DistilBERT: BERT's post-LN blocks under other names (q_lin, sa_layer_norm,
// ffn.lin1, ...), no token types, no pooler, fixed LayerNorm eps 1e-12.
// Sinusoidal position embeddings are stored in the weights like learned ones.
// AdapterHub keeps its adapter layers in the block itself
// (transformer.layer.N.attention_adapters / output_adapters).

const Config = z.looseObject({
  model_type: z.literal("distilbert"),
  dim: z.number().int().positive(),
  n_layers: z.number().int().positive(),
  n_heads: z.number().int().positive(),
  hidden_dim: z.number().int().positive(),
  activation: z.string().default("gelu"),
  vocab_size: z.number().int().positive(),
  max_position_embeddings: z.number().int().positive(),
  pad_token_id: z.number().int().nonnegative().nullable().default(0),
  _name_or_path: z.string().nullish(),
});

export const distilbert: Family = {
  name: "distilbert",
  modelTypes: ["distilbert"],
  parseConfig(json) {
    const c = Config.parse(json);
    return checked({
      modelType: c.model_type,
      family: "distilbert",
      hidden: c.dim,
      layers: c.n_layers,
      heads: c.n_heads,
      intermediate: c.hidden_dim,
      activation: c.activation,
      eps: 1e-12,
      vocabSize: c.vocab_size,
      maxPositions: c.max_position_embeddings,
      typeVocabSize: 0,
      padTokenId: c.pad_token_id ?? 0,
      nameOrPath: c._name_or_path || null,
      decoderLayers: 0,
    });
  },
  weightPrefixes: ["", "distilbert."],
  roots: ["embeddings", "transformer"],
  embeddings: {
    word: "embeddings.word_embeddings",
    position: "embeddings.position_embeddings",
    tokenType: null,
    norm: "embeddings.LayerNorm",
  },
  layer(l) {
    const p = `transformer.layer.${l}`;
    return {
      linear: {
        q: `${p}.attention.q_lin`,
        k: `${p}.attention.k_lin`,
        v: `${p}.attention.v_lin`,
        attnOut: `${p}.attention.out_lin`,
        inter: `${p}.ffn.lin1`,
        out: `${p}.ffn.lin2`,
      },
      attnNorm: `${p}.sa_layer_norm`,
      outNorm: `${p}.output_layer_norm`,
    };
  },
  pooler: null,
  adapterModule: (l, loc) => (loc === "cross" ? null : `transformer.layer.${l}.${loc === "mh" ? "attention_adapters" : "output_adapters"}`),
  tokenTypes: false,
  positions: (ids) => ids.map((_, t) => t),
  padPosition: (t) => t,
  maxTokens: (c) => c.maxPositions,
};
