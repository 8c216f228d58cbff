import type { StateDict, Tensor } from "../core/tensor.ts";
import type { ModelConfig } from "./model-config.ts";

// The base encoder's weights, looked up by their Hugging Face names whatever
// the checkpoint's prefix (bert., roberta., none) and whatever pre-training
// heads (cls.*, lm_head.*) sit beside them.

export interface BaseWeights {
  get(name: string): Tensor;
  has(name: string): boolean;
}

const PREFIXES = ["", "bert.", "roberta.", "model.", "encoder_model."];

export function baseWeights(dict: StateDict, config: ModelConfig): BaseWeights {
  const prefix = PREFIXES.find((p) => dict.has(`${p}embeddings.word_embeddings.weight`));
  if (prefix === undefined) throw new Error("model weights hold no embeddings.word_embeddings.weight (with or without a bert./roberta. prefix)");
  const lookup = (name: string): Tensor | undefined => {
    const t = dict.get(prefix + name);
    if (t) return t;
    // TF-era checkpoints call LayerNorm parameters gamma and beta.
    if (name.endsWith("LayerNorm.weight")) return dict.get(prefix + name.replace(/weight$/, "gamma"));
    if (name.endsWith("LayerNorm.bias")) return dict.get(prefix + name.replace(/bias$/, "beta"));
    return undefined;
  };
  const w = {
    has: (name: string) => lookup(name) !== undefined,
    get(name: string): Tensor {
      const t = lookup(name);
      if (!t) throw new Error(`model weights lack "${prefix}${name}"`);
      return t;
    },
  };
  const emb = w.get("embeddings.word_embeddings.weight");
  if (emb.shape[1] !== config.hidden) throw new Error(`word embeddings have width ${emb.shape[1]}, config says hidden_size ${config.hidden}`);
  for (let l = 0; l < config.layers; l++) w.get(`encoder.layer.${l}.attention.self.query.weight`);
  return w;
}
