import { GraphBuilder, type ExternalWeights, type Value } from "./onnx-builder.ts";
import { activation, add, concat, gather, matmul, mul, reshape, scale, softmax, squeeze, transpose, unsqueeze } from "./ops.ts";
import { prefixedKeyPositions, relativePositionBias } from "./relative-positions.ts";
import { CompositionGraph } from "./composition.ts";
import type { GraphSpec } from "./spec.ts";
import type { EncoderGraph } from "./encoder.ts";
import type { Family, LinearTarget, ModelConfig } from "../families/index.ts";
import type { StackNames } from "../families/family.ts";
import type { BaseWeights } from "../families/base-weights.ts";
import type { Tensor } from "../core/tensor.ts";
import { BaseInitializers } from "./base-weights.ts";
import type { Precision } from "./quantize.ts";

// Encoder-decoder models (BART, mBART, Marian, T5) as two graphs: the encoder,
// run once per input, and the decoder, run once per generated token with
// the past self-attention keys and values in and out (or once over a whole
// target, for scoring). The composition's hooks sit where AdapterHub applies
// adapters: after self-attention (mh), after cross-attention (cross, decoder
// layers) and after the FFN (out), in place of the block's residual and
// LayerNorm (post-LN) or of the residual alone (pre-LN); decoder layers are
// numbered after the encoder's. What differs between families (norms, biases,
// positions, attention scaling, gated FFNs, the LM head's scale) comes from
// the family's Seq2SeqShape and the model's config.

/** Names of the decoder graph's inputs and outputs, shared with the engine that feeds it. */
export const decoderIO = {
  /** cross-attention keys and values of decoder layer l, computed once by the encoder graph */
  crossKey: (l: number) => `cross_key.${l}`,
  crossValue: (l: number) => `cross_value.${l}`,
  pastKey: (l: number) => `past_key.${l}`,
  pastValue: (l: number) => `past_value.${l}`,
  presentKey: (l: number) => `present_key.${l}`,
  presentValue: (l: number) => `present_value.${l}`,
  /** [N, new]: 1 at the new tokens learned gates average over (the request's padded target length when scoring), 0 beyond */
  gateMask: "decoder_gate_mask",
};

/**
 * What every attention of one stack adds to its scores: `value` over the stack's own keys; its `mask` part
 * alone; and, with relative positions (T5), the bias of the stack's queries over any key positions (`keys()`:
 * the stack's own), kept once computed over prefixed keys.
 */
interface StackBias {
  value: Value;
  mask: Value;
  relative: { bias: (keyPositions: Value) => Value; keys: () => Value; prefixed?: Value } | null;
}

class Builder {
  readonly g: GraphBuilder;
  readonly comp: CompositionGraph;
  private base: BaseInitializers;
  constructor(
    readonly family: Family,
    readonly config: ModelConfig,
    private weights: BaseWeights,
    spec: GraphSpec,
    external?: ExternalWeights,
    precision: Precision = "fp32",
    gateMask?: string,
  ) {
    this.g = new GraphBuilder(external);
    this.comp = new CompositionGraph(this.g, spec, config.hidden, gateMask);
    this.base = new BaseInitializers(this.g, weights, config.eps, family.seq2seq!.norm, precision);
  }

  tensor = (name: string, t: Tensor) => this.base.tensor(name, t);
  W = (name: string) => this.base.W(name);
  ln = (prefix: string) => this.base.ln(prefix);
  /** x · wᵀ for a base weight w [out, in] (the LM head) */
  project = (x: Value, key: string, w: Tensor) => this.base.project(x, key, w, () => null);

  /** token and position embeddings of one stack, scaled and normalised as the family does */
  embed(stack: StackNames, ids: Value, positions: Value): Value {
    // named after the weight it is (the stacks' embeddings may be one tied tensor, or two)
    const name = stack.tokens.map((n) => `${n}.weight`).find((n) => this.weights.has(n)) ?? `${stack.tokens[0]}.weight`;
    let x = gather(this.W(name), ids);
    if (this.config.seq2seq!.scaleEmbedding) x = scale(x, Math.sqrt(this.config.hidden));
    const shape = this.family.seq2seq!;
    // relative positions are a bias on the attention scores instead (scoreBias)
    if (shape.positions.kind !== "relative") {
      const table = shape.positions.kind === "learned" ? this.W(`${stack.positions}.weight`) : this.tensor("sinusoidal_positions", sinusoidal(this.config.maxPositions + 2, this.config.hidden));
      x = add(x, gather(table, positions));
    }
    return stack.embeddingNorm ? this.ln(stack.embeddingNorm)(x) : x;
  }

  /**
   * What every attention of a stack adds to its scores: the padding or causal `mask`, plus (T5) the
   * relative position bias of queries at `queries` over keys at `keys()`, computed once for all layers.
   */
  scoreBias(stack: "encoder" | "decoder", mask: Value, queries: Value, keys: () => Value): StackBias {
    const p = this.family.seq2seq!.positions;
    if (p.kind !== "relative") return { mask, value: mask, relative: null };
    const { buckets, maxDistance } = this.config.seq2seq!.relativeBuckets!;
    const table = this.W(`${p[stack]}.weight`);
    const bidirectional = stack === "encoder";
    const bias = (keyPositions: Value) => relativePositionBias(table, queries, keyPositions, bidirectional, buckets, maxDistance);
    return { mask, value: add(bias(keys()), mask), relative: { bias, keys } };
  }

  /** width of one head */
  dh = (heads: number) => this.config.seq2seq!.headDim ?? this.config.hidden / heads;

  lin(l: number, target: LinearTarget, input: Value): Value {
    const name = this.family.layer(l, this.config).linear[target]!;
    return this.comp.linear(this.plain(name, input), input, `${l}.${target}`);
  }

  /** the base linear layer alone (with its bias, where the family has biases) */
  plain(name: string, input: Value): Value {
    return this.base.linear(name, input, this.family.seq2seq!.linearBias);
  }

  /** [N, T, H] → [N, heads, T, dh] */
  split(v: Value, heads: number): Value {
    return transpose(reshape(v, [0, 0, heads, this.dh(heads)]), [0, 2, 1, 3]);
  }

  /**
   * Prefix tuning: the prefixes of the attention at `place` before its keys
   * and values [N, heads, T, dh] and its mask bias [N, 1, queries | 1, T]
   * (never into a decoder's cache: its present keys are taken before this).
   * `input` is the attention's input [N, T, H] (a gated prefix's gate reads
   * it, as AdapterHub's residual_input). With a relative
   * position bias (T5) the bias is computed again over the prefix slots and
   * the shifted keys (prefixedKeyPositions), once per stack, as AdapterHub's
   * first layer does and its other layers reuse (every layer of a stack has
   * the same prefixes: the adapter reader refuses a partial leave_out there).
   */
  prefixed(place: string, input: Value, k: Value, v: Value, bias: StackBias): { k: Value; v: Value; bias: Value } {
    const pre = this.comp.prefixes(place, input);
    if (!pre.length) return { k, v, bias: bias.value };
    const g = this.g;
    // a prefix's mask row [N, 1, 1, P], repeated for every query row of the mask
    const queries = g.op("Concat", [g.constI([1, 1]), g.op("Shape", [bias.mask], { start: 2, end: 3 }), g.constI([1])], { axis: 0 });
    const order = [...pre].reverse(); // AdapterHub puts each stacked prefix before the previous ones
    const mask = () => concat([...order.map((p) => g.op("Expand", [p.bias, queries])), bias.mask], 3);
    const rel = bias.relative;
    let full: Value;
    if (!rel) full = mask();
    else {
      rel.prefixed ??= add(rel.bias(prefixedKeyPositions(concat(order.map((p) => p.bias), 3), rel.keys())), mask());
      full = rel.prefixed;
    }
    return {
      k: concat([...order.map((p) => transpose(p.keys, [0, 1, 3, 2])), k], 2),
      v: concat([...order.map((p) => p.values), v], 2),
      bias: full,
    };
  }

  /** softmax(q kᵀ / √dh + bias) v (T5: unscaled), heads merged back to [N, T, heads · dh] */
  attend(q: Value, k: Value, v: Value, bias: Value, heads: number): Value {
    const dh = this.dh(heads);
    const scores = add(scale(matmul(q, transpose(k, [0, 1, 3, 2])), this.family.seq2seq!.scaleAttention ? 1 / Math.sqrt(dh) : 1), bias);
    return reshape(transpose(matmul(softmax(scores), v), [0, 2, 1, 3]), [0, 0, heads * dh]);
  }

  /** The FFN: act(inter x), or act(gate x) ⊙ inter x for a gated one (T5's wi_0, wi_1) */
  ffn(l: number, y: Value): Value {
    const gate = this.family.layer(l, this.config).gate;
    const inter = this.lin(l, "inter", y);
    const h = gate && this.config.seq2seq!.gatedFfn ? mul(activation(this.plain(gate, y), this.config.activation), inter) : activation(inter, this.config.activation);
    return this.lin(l, "out", h);
  }

  /** One block: self-attention, (decoder) cross-attention, FFN, each followed by its adapter location. */
  block(l: number, x: Value, self: (q: Value, k: Value, v: Value, y: Value) => Value, cross: ((q: Value, y: Value) => Value) | null, inter: number): Value {
    const names = this.family.layer(l, this.config);
    const pre = this.family.seq2seq!.preLN;
    const identity = (v: Value) => v;
    // post-LN: the location replaces LayerNorm(h + x); pre-LN: the sublayer reads LayerNorm(x) and the location replaces h + x
    const sub = (norm: string, input: Value, f: (y: Value) => Value, loc: string) => {
      const h = f(pre ? this.ln(norm)(input) : input);
      return this.comp.location(h, input, pre ? identity : this.ln(norm), `${l}.${loc}`);
    };
    x = sub(names.attnNorm, x, (y) => this.lin(l, "attnOut", self(this.lin(l, "q", y), this.lin(l, "k", y), this.lin(l, "v", y), y)), "mh");
    if (cross) x = sub(names.crossNorm!, x, (y) => this.lin(l, "crossOut", cross(this.lin(l, "crossQ", y), y)), "cross");
    x = sub(names.outNorm, x, (y) => this.ffn(l, y), "out");
    void inter;
    return x;
  }
}

/** Marian's sinusoidal positions: sin in the first half of the features, cos in the second. */
export function sinusoidal(positions: number, dim: number): Tensor {
  const out = new Float32Array(positions * dim);
  const half = Math.ceil(dim / 2);
  for (let p = 0; p < positions; p++) {
    for (let j = 0; j < dim; j++) {
      const angle = p / Math.pow(10000, (2 * Math.floor(j / 2)) / dim);
      if (j % 2 === 0) out[p * dim + j / 2] = Math.sin(angle);
      else out[p * dim + half + (j - 1) / 2] = Math.cos(angle);
    }
  }
  return { shape: [positions, dim], data: out };
}

const encoderDepth = (c: ModelConfig) => c.layers - c.decoderLayers;

/** The encoder: input_ids, position_ids, attention_mask → encoder_hidden [N, T, H]. */
export function buildSeq2SeqEncoder(family: Family, config: ModelConfig, weights: BaseWeights, spec: GraphSpec, external?: ExternalWeights, precision: Precision = "fp32"): EncoderGraph {
  const b = new Builder(family, config, weights, spec, external, precision);
  const { g } = b;
  const shape = family.seq2seq!;
  const ids = g.input("input_ids", "int64", ["batch", "seq"]);
  const positions = g.input("position_ids", "int64", ["batch", "seq"]);
  const bias = g.input("attention_bias", "float32", ["batch", 1, 1, "seq"]);
  let x = b.comp.embeddings(b.embed(shape.encoder, ids, positions));
  const heads = config.heads;
  const scoreBias = b.scoreBias("encoder", bias, positions, () => positions);
  for (let l = 0; l < encoderDepth(config); l++) {
    x = b.block(l, x, (q, k, v, y) => {
      const p = b.prefixed(`${l}.self`, y, b.split(k, heads), b.split(v, heads), scoreBias);
      return b.attend(b.split(q, heads), p.k, p.v, p.bias, heads);
    }, null, config.intermediate);
  }
  if (shape.encoder.finalNorm) x = b.ln(shape.encoder.finalNorm)(x);
  // Each decoder layer's cross-attention keys and values depend only on the
  // encoder's output (and on LoRA on them): computed here once, not per step.
  const outputs = ["encoder_hidden"];
  const E = encoderDepth(config);
  const dheads = config.seq2seq!.decoderHeads;
  for (let d = 0; d < config.decoderLayers; d++) {
    g.output(b.split(b.lin(E + d, "crossK", x), dheads), decoderIO.crossKey(d));
    g.output(b.split(b.lin(E + d, "crossV", x), dheads), decoderIO.crossValue(d));
    outputs.push(decoderIO.crossKey(d), decoderIO.crossValue(d));
  }
  g.output(x, "encoder_hidden");
  outputs.push(...b.comp.finish());
  return { bytes: g.encode(), inputs: new Set(g.inputNames), outputs };
}

/**
 * The decoder over new tokens [N, S] after `past` ones: self-attention over
 * the past keys and values and the new ones (the causal part in
 * `self_bias` [N, 1, S, past + S]), cross-attention over the keys and values
 * the encoder graph computed, the LM head. Row i continues row
 * `parent_index[i]` of the past (beams reorder the cache) and reads source
 * `source_index[i]` of the encoder's outputs, so a decoding loop can keep
 * both on the worker. Outputs log-probabilities [N, S, V] and the keys and
 * values of past + new tokens for the next step.
 */
export function buildSeq2SeqDecoder(family: Family, config: ModelConfig, weights: BaseWeights, spec: GraphSpec, external?: ExternalWeights, precision: Precision = "fp32"): EncoderGraph {
  // the decoder's gates average over its own tokens (one per step when generating, as AdapterHub's cached steps)
  const b = new Builder(family, config, weights, spec, external, precision, decoderIO.gateMask);
  const { g } = b;
  const shape = family.seq2seq!;
  const s2s = config.seq2seq!;
  const heads = s2s.decoderHeads;
  const dh = b.dh(heads);
  const ids = g.input("decoder_input_ids", "int64", ["batch", "new"]);
  const positions = g.input("decoder_position_ids", "int64", ["batch", "new"]);
  const selfBias = g.input("self_bias", "float32", ["batch", 1, "new", "total"]);
  const parent = g.input("parent_index", "int64", ["batch"]);
  const source = g.input("source_index", "int64", ["batch"]);
  const crossMask = gather(g.input("encoder_bias", "float32", ["sources", 1, 1, "src"]), source);
  // T5's cross-attention has no position bias
  const crossBias: StackBias = { value: crossMask, mask: crossMask, relative: null };
  let x = b.embed(shape.decoder, ids, positions);
  // past and new tokens sit at positions 0 … total − 1
  const total = () => squeeze(g.op("Shape", [selfBias], { start: 3, end: 4 }), [0]);
  const scoreBias = b.scoreBias("decoder", selfBias, positions, () => unsqueeze(g.op("Range", [g.constI(0), total(), g.constI(1)]), [0]));
  const E = encoderDepth(config);
  const outputs = ["logprobs"];
  for (let d = 0; d < config.decoderLayers; d++) {
    const l = E + d;
    const self = (q: Value, k: Value, v: Value, y: Value) => {
      const past = (name: string) => gather(g.input(name, "float32", ["prev", heads, "past", dh]), parent);
      const keys = concat([past(decoderIO.pastKey(d)), b.split(k, heads)], 2);
      const values = concat([past(decoderIO.pastValue(d)), b.split(v, heads)], 2);
      g.output(keys, decoderIO.presentKey(d));
      g.output(values, decoderIO.presentValue(d));
      outputs.push(decoderIO.presentKey(d), decoderIO.presentValue(d));
      const p = b.prefixed(`${l}.self`, y, keys, values, scoreBias);
      return b.attend(b.split(q, heads), p.k, p.v, p.bias, heads);
    };
    const cross = (q: Value, y: Value) => {
      const kv = (name: string) => gather(g.input(name, "float32", ["sources", heads, "src", dh]), source);
      const p = b.prefixed(`${l}.cross`, y, kv(decoderIO.crossKey(d)), kv(decoderIO.crossValue(d)), crossBias);
      return b.attend(b.split(q, heads), p.k, p.v, p.bias, heads);
    };
    x = b.block(l, x, self, cross, s2s.decoderIntermediate);
  }
  if (shape.decoder.finalNorm) x = b.ln(shape.decoder.finalNorm)(x);
  const head = weights.first(shape.lmHead.map((n) => `${n}.weight`));
  x = scale(x, s2s.lmHeadScale);
  // the composition's invertible adapter, reversed (its forward pass ran on the encoder's embeddings only)
  x = b.comp.embeddingsInverse(x);
  let logits = b.project(x, "lm_head", head);
  if (shape.finalLogitsBias && weights.has(shape.finalLogitsBias)) {
    const bias = weights.get(shape.finalLogitsBias);
    logits = add(logits, b.tensor("final_logits_bias", { shape: [bias.data.length], data: bias.data }));
  }
  // log-softmax here, vectorised, rather than over 32k logits per row in JavaScript
  g.output(g.op("LogSoftmax", [logits], { axis: -1 }), "logprobs");
  outputs.push(...b.comp.finish());
  return { bytes: g.encode(), inputs: new Set(g.inputNames), outputs };
}
