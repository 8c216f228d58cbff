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
  // Every weight the encoder graph reads, with its shape, checked now: a
  // checkpoint that does not fit its config is refused when it loads.
  const H = config.hidden;
  const I = config.intermediate;
  const expect = (name: string, shape: number[]) => {
    const t = w.get(name);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`model weight "${prefix}${name}" has shape [${t.shape}], the config asks for [${shape}]`);
    }
  };
  const e = family.embeddings;
  const emb = w.get(word);
  if (emb.shape.length !== 2 || emb.shape[1] !== H) throw new Error(`word embeddings have shape [${emb.shape}], config says hidden size ${H}`);
  const positions = w.get(`${e.position}.weight`);
  if (positions.shape.length !== 2 || positions.shape[1] !== H || positions.shape[0] < config.maxPositions) {
    throw new Error(`position embeddings have shape [${positions.shape}], the config asks for [${config.maxPositions},${H}]`);
  }
  if (e.tokenType) {
    const types = w.get(`${e.tokenType}.weight`);
    if (types.shape.length !== 2 || types.shape[1] !== H) throw new Error(`token type embeddings have shape [${types.shape}], expected [n,${H}]`);
  }
  const norm = (n: string) => (expect(`${n}.weight`, [H]), expect(`${n}.bias`, [H]));
  const lin = (n: string, out: number, inp: number) => (expect(`${n}.weight`, [out, inp]), expect(`${n}.bias`, [out]));
  norm(e.norm);
  for (let l = 0; l < config.layers; l++) {
    const names = family.layer(l);
    for (const t of ["q", "k", "v", "attnOut"] as const) lin(names.linear[t], H, H);
    lin(names.linear.inter, I, H);
    lin(names.linear.out, H, I);
    norm(names.attnNorm);
    norm(names.outNorm);
  }
  return w;
}
