import { z } from "zod";

/** The encoder families polyhead builds graphs for. */
export type ModelFamily = "bert" | "roberta";

export interface ModelConfig {
  modelType: string;
  family: ModelFamily;
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
}

const HfConfig = z.looseObject({
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
  pad_token_id: z.number().int().nonnegative().nullable().default(0),
  position_embedding_type: z.string().default("absolute"),
});

const FAMILIES: Record<string, ModelFamily> = {
  bert: "bert",
  roberta: "roberta",
  "xlm-roberta": "roberta",
  camembert: "roberta",
};

/** Reads a Hugging Face config.json; anything polyhead cannot build is refused here. */
export function parseModelConfig(json: unknown): ModelConfig {
  const c = HfConfig.parse(json);
  const family = FAMILIES[c.model_type];
  if (!family) throw new Error(`model_type "${c.model_type}" is not supported (supported: ${Object.keys(FAMILIES).join(", ")})`);
  if (c.position_embedding_type !== "absolute") {
    throw new Error(`position_embedding_type "${c.position_embedding_type}" is not supported (only "absolute")`);
  }
  if (c.hidden_size % c.num_attention_heads !== 0) throw new Error("hidden_size must be a multiple of num_attention_heads");
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
    padTokenId: c.pad_token_id ?? (family === "roberta" ? 1 : 0),
  };
}
