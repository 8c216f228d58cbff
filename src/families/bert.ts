import { BERT_EMBEDDINGS, bertLayer, bertLikeConfig, type Family } from "./family.ts";

/** BERT: learned absolute positions 0..T-1, token types, post-LN blocks, a pooler. */
export const bert: Family = {
  name: "bert",
  modelTypes: ["bert"],
  parseConfig: (json) => bertLikeConfig(json, "bert", 0),
  weightPrefixes: ["", "bert.", "model.", "encoder_model."],
  roots: ["embeddings", "encoder", "pooler"],
  embeddings: BERT_EMBEDDINGS,
  layer: bertLayer,
  pooler: "pooler.dense",
  adapterModule: (l, loc) => (loc === "mh" ? `encoder.layer.${l}.attention.output` : loc === "out" ? `encoder.layer.${l}.output` : null),
  tokenTypes: true,
  positions: (ids) => ids.map((_, t) => t),
  padPosition: (t) => t,
  maxTokens: (c) => c.maxPositions,
};
