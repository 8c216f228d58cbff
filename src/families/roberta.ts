import { bert } from "./bert.ts";
import { bertLikeConfig, type Family } from "./family.ts";

/**
 * RoBERTa, XLM-R, CamemBERT: BERT's blocks, one token type, and positions
 * numbered after the padding index, skipping padding tokens (transformers'
 * create_position_ids_from_input_ids), so padding_idx + 1 positions are lost.
 */
export const roberta: Family = {
  ...bert,
  name: "roberta",
  modelTypes: ["roberta", "xlm-roberta", "camembert"],
  parseConfig: (json) => bertLikeConfig(json, "roberta", 1),
  weightPrefixes: ["", "roberta.", "model.", "encoder_model."],
  tokenTypes: true, // the embedding exists; every id is 0
  positions(ids, c) {
    let count = 0;
    return ids.map((id) => (id !== c.padTokenId ? ++count + c.padTokenId : c.padTokenId));
  },
  padPosition: (_t, c) => c.padTokenId,
  maxTokens: (c) => c.maxPositions - c.padTokenId - 1,
};
