import type { StateDict, Tensor } from "../core/tensor.ts";
import type { Family, ModelConfig } from "./family.ts";

// The base model's weights, looked up by the family's own names whatever the
// checkpoint's prefix and whatever pre-training heads sit beside them.

export interface BaseWeights {
  get(name: string): Tensor;
  has(name: string): boolean;
}

export function baseWeights(dict: StateDict, family: Family, config: ModelConfig): BaseWeights {
  const word = `${family.embeddings.word}.weight`;
  const prefix = family.weightPrefixes.find((p) => dict.has(p + word));
  if (prefix === undefined) {
    throw new Error(`model weights hold no ${word} (with or without a ${family.weightPrefixes.filter(Boolean).join(" / ")} prefix)`);
  }
  const lookup = (name: string): Tensor | undefined => {
    const t = dict.get(prefix + name);
    if (t) return t;
    // TF-era checkpoints call LayerNorm parameters gamma and beta.
    if (name.endsWith("LayerNorm.weight")) return dict.get(prefix + name.replace(/weight$/, "gamma"));
    if (name.endsWith("LayerNorm.bias")) return dict.get(prefix + name.replace(/bias$/, "beta"));
    return undefined;
  };
  const w: BaseWeights = {
    has: (name) => lookup(name) !== undefined,
    get(name) {
      const t = lookup(name);
      if (!t) throw new Error(`model weights lack "${prefix}${name}"`);
      return t;
    },
  };
  const emb = w.get(word);
  if (emb.shape[1] !== config.hidden) throw new Error(`word embeddings have width ${emb.shape[1]}, config says hidden size ${config.hidden}`);
  for (let l = 0; l < config.layers; l++) w.get(`${family.layer(l).linear.q}.weight`);
  return w;
}
