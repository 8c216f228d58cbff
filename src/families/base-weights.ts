import type { StateDict, Tensor } from "../core/tensor.ts";
import { embeddingNames, type Family, type ModelConfig } from "./family.ts";

// The base model's weights, looked up by the family's own names whatever the
// checkpoint's prefix and whatever pre-training heads sit beside them.

export interface BaseWeights {
  get(name: string): Tensor;
  has(name: string): boolean;
  /** the first of several names the checkpoint holds (tied weights are saved under one of them) */
  first(names: string[]): Tensor;
}

export function baseWeights(dict: StateDict, family: Family, config: ModelConfig): BaseWeights {
  const s2s = family.seq2seq;
  // the token embedding the family is found by (a seq2seq model may save its tied embedding under any of its names)
  const words = s2s ? [...s2s.encoder.tokens, ...s2s.decoder.tokens].map((n) => `${n}.weight`) : [`${family.embeddings.word}.weight`];
  const prefix = family.weightPrefixes.find((p) => words.some((w) => dict.has(p + w)));
  if (prefix === undefined) {
    throw new Error(`model weights hold no ${words[0]} (with or without a ${family.weightPrefixes.filter(Boolean).join(" / ")} prefix)`);
  }
  const lookup = (name: string): Tensor | undefined => {
    // ForConditionalGeneration checkpoints keep the LM head beside the prefixed model
    const t = dict.get(prefix + name) ?? (s2s ? dict.get(name) : undefined);
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
    first(names) {
      const n = names.find((x) => lookup(x) !== undefined);
      if (!n) throw new Error(`model weights lack "${prefix}${names[0]}" (nor ${names.slice(1).map((x) => `"${x}"`).join(", ") || "anything in its place"})`);
      return lookup(n)!;
    },
  };
  // Every weight the graphs read, with its shape, checked now: a checkpoint
  // that does not fit its config is refused when it loads.
  const H = config.hidden;
  const expect = (name: string, shape: number[]) => {
    const t = w.get(name);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`model weight "${prefix}${name}" has shape [${t.shape}], the config asks for [${shape}]`);
    }
  };
  const withBias = s2s?.linearBias ?? true;
  const norm = (n: string, width = H) => (expect(`${n}.weight`, [width]), s2s?.norm !== "rms" && expect(`${n}.bias`, [width]));
  const lin = (n: string, out: number, inp: number) => (expect(`${n}.weight`, [out, inp]), withBias && expect(`${n}.bias`, [out]));
  const layers = (l0: number, l1: number, inter: number, heads: number, alsoInter?: number) => {
    // the attention's inner width: heads × T5's d_kv, else the hidden size
    const A = heads * (config.seq2seq?.headDim ?? H / heads);
    for (let l = l0; l < l1; l++) {
      const names = family.layer(l, config);
      for (const t of ["q", "k", "v", "crossQ", "crossK", "crossV"] as const) if (names.linear[t]) lin(names.linear[t]!, A, H);
      for (const t of ["attnOut", "crossOut"] as const) if (names.linear[t]) lin(names.linear[t]!, H, A);
      // adapter-transformers 3.2.1 builds BART's and mBART's decoder FFN with encoder_ffn_dim: accept what the file holds
      const width = alsoInter !== undefined && w.get(`${names.linear.inter}.weight`).shape[0] === alsoInter ? alsoInter : inter;
      lin(names.linear.inter, width, H);
      if (names.gate) lin(names.gate, width, H);
      lin(names.linear.out, H, width);
      norm(names.attnNorm);
      if (names.crossNorm) norm(names.crossNorm);
      norm(names.outNorm);
    }
  };
  if (s2s) {
    const c = config.seq2seq!;
    const E = config.layers - config.decoderLayers;
    for (const [stack, vocab] of [[s2s.encoder, config.vocabSize], [s2s.decoder, c.decoderVocabSize]] as const) {
      const tok = w.first(stack.tokens.map((n) => `${n}.weight`));
      if (tok.shape.length !== 2 || tok.shape[0] !== vocab || tok.shape[1] !== H) throw new Error(`token embeddings have shape [${tok.shape}], the config asks for [${vocab},${H}]`);
      if (s2s.positions.kind === "relative") {
        const heads = stack === s2s.encoder ? config.heads : c.decoderHeads;
        expect(`${s2s.positions[stack === s2s.encoder ? "encoder" : "decoder"]}.weight`, [c.relativeBuckets!.buckets, heads]);
      }
      if (stack.positions) {
        const p = w.get(`${stack.positions}.weight`);
        if (p.shape.length !== 2 || p.shape[1] !== H) throw new Error(`position embeddings have shape [${p.shape}], expected [n,${H}]`);
      }
      if (stack.embeddingNorm) norm(stack.embeddingNorm);
      if (stack.finalNorm) norm(stack.finalNorm);
    }
    layers(0, E, config.intermediate, config.heads);
    layers(E, config.layers, c.decoderIntermediate, c.decoderHeads, config.intermediate);
    const head = w.first(s2s.lmHead.map((n) => `${n}.weight`));
    if (head.shape[0] !== c.decoderVocabSize || head.shape[1] !== H) throw new Error(`the LM head has shape [${head.shape}], the config asks for [${c.decoderVocabSize},${H}]`);
    return w;
  }
  const I = config.intermediate;
  const e = embeddingNames(family, config);
  // ALBERT and DeBERTa may embed tokens narrower than the hidden size and project them
  const E = config.embeddingSize ?? H;
  const emb = w.get(`${e.word}.weight`);
  const width = `${config.embeddingSize === undefined ? "hidden size" : "embedding_size"} ${E}`;
  if (emb.shape.length !== 2 || emb.shape[1] !== E) throw new Error(`word embeddings have shape [${emb.shape}], config says ${width}`);
  if (e.position) {
    const positions = w.get(`${e.position}.weight`);
    if (positions.shape.length !== 2 || positions.shape[1] !== E || positions.shape[0] < config.maxPositions) {
      throw new Error(`position embeddings have shape [${positions.shape}], the config asks for [${config.maxPositions},${E}]`);
    }
  }
  if (e.tokenType) {
    const types = w.get(`${e.tokenType}.weight`);
    if (types.shape.length !== 2 || types.shape[1] !== E) throw new Error(`token type embeddings have shape [${types.shape}], expected [n,${E}]`);
  }
  if (e.projectBeforeNorm) expect(`${e.projectBeforeNorm}.weight`, [H, E]);
  norm(e.norm, e.projectBeforeNorm ? H : E);
  if (e.projectAfter) lin(e.projectAfter, H, E);
  for (const [name, shape] of family.extraWeights?.(config) ?? []) expect(name, shape);
  layers(0, config.layers, I, config.heads);
  return w;
}
