import { GraphBuilder, type ExternalWeights, type Value } from "./onnx-builder.ts";
import { activation, add, concat, gather, linear, matmul, mul, reshape, scale, softmax, sub, transpose, unsqueeze } from "./ops.ts";
import { CompositionGraph } from "./composition.ts";
import type { GraphSpec } from "./spec.ts";
import { embeddingNames, layerSchedule, type Family, type ModelConfig, type LinearTarget } from "../families/family.ts";
import type { BaseWeights } from "../families/base-weights.ts";
import { BaseInitializers } from "./base-weights.ts";
import type { Precision } from "./quantize.ts";
import { withPrefixes } from "../methods/prefix.ts";
import { meanOfAllRows, type TokenMean } from "../methods/gate.ts";

// The encoder skeleton (BERT-like post-LN blocks), built as an ONNX graph
// from the family's weight names, with the composition's hooks where
// AdapterHub applies them: the embeddings' output (invertible adapters),
// each linear layer (LoRA, (IA)^3), each self-attention's keys and values
// (prefix tuning), and the two adapter locations per layer,
// each time in place of the block's "LayerNorm(h + x)". Families that depart
// from BERT say where through their embedding names (projections) and
// encoder hooks (the order layers run in, attention scores).

const MASK_NEG = -1e30;

export interface EncoderGraph {
  bytes: Uint8Array;
  /** the graph's input names: feeds must match them exactly */
  inputs: Set<string>;
  outputs: string[];
}

export function buildEncoder(family: Family, config: ModelConfig, weights: BaseWeights, spec: GraphSpec, external?: ExternalWeights, precision: Precision = "fp32"): EncoderGraph {
  const g = new GraphBuilder(external);
  const H = config.hidden;

  const base = new BaseInitializers(g, weights, config.eps, "layer", precision);
  const { W, WT, ln: baseLn, linear: baseLinear } = base;

  const e = embeddingNames(family, config);
  const inputIds = g.input("input_ids", "int64", ["batch", "seq"]);
  const mask = g.input("attention_mask", "int64", ["batch", "seq"]);
  let x = gather(W(`${e.word}.weight`), inputIds);
  if (e.position) x = add(x, gather(W(`${e.position}.weight`), g.input("position_ids", "int64", ["batch", "seq"])));
  if (e.tokenType) x = add(x, gather(W(`${e.tokenType}.weight`), g.input("token_type_ids", "int64", ["batch", "seq"])));
  if (e.projectBeforeNorm) x = matmul(x, WT(`${e.projectBeforeNorm}.weight`));
  x = baseLn(e.norm)(x);
  const zeroPadding = family.encoder?.zeroPadding ?? false;
  if (zeroPadding) x = mul(x, unsqueeze(g.op("Cast", [mask], { to: 1 }), [2]));

  const comp = new CompositionGraph(g, spec, H);
  x = comp.embeddings(x);
  if (e.projectAfter) x = linear(x, WT(`${e.projectAfter}.weight`), W(`${e.projectAfter}.bias`));

  // [N, 1, 1, T]: 0 for real tokens, a large negative number for padding.
  const maskF = unsqueeze(g.op("Cast", [mask], { to: 1 }), [1, 2]);
  const maskBias = mul(sub(g.constF(1), maskF), g.constF(MASK_NEG));
  // [N, 1, T, T]: the same for the queries, where the family zeroes padding
  const queryBias = zeroPadding
    ? g.op("Expand", [mul(sub(g.constF(1), unsqueeze(g.op("Cast", [mask], { to: 1 }), [1, 3])), g.constF(MASK_NEG)), concat([g.constI([1, 1, 1]), g.op("Shape", [mask], { start: 1, end: 2 })], 0)])
    : null;
  const nh = config.heads;
  const dh = H / nh;
  const attention = family.encoder?.attention?.(g, base, config, x);
  const swapMh = family.swappedAdapterInputs?.includes("mh") ?? false;

  for (const l of layerSchedule(family, config)) {
    const names = family.layer(l, config);
    const lin = (target: LinearTarget, input: Value, mean?: TokenMean) => {
      const p = names.linear[target];
      return comp.linear(baseLinear(p!, input), input, `${l}.${target}`, mean);
    };
    const heads = (v: Value) => transpose(reshape(v, [0, 0, nh, dh]), [0, 2, 1, 3]);
    const q = heads(lin("q", x));
    const k = reshape(lin("k", x), [0, 0, nh, dh]);
    const v = heads(lin("v", x));
    // the relative embeddings through the layer's own projections (DeBERTa's shared keys); a gate on them
    // (UniPELT's LoRA) averages over all their rows, as the library's does
    const relLinear = (target: "q" | "k", input: Value) => lin(target, input, meanOfAllRows);
    const { scale: s, bias } = attention ? attention(l, { q, k: transpose(k, [0, 2, 1, 3]), linear: relLinear }) : { scale: 1 / Math.sqrt(dh), bias: null };
    // keys, values and the keys' mask bias: prefix tuning puts the adapters' prefixes in front of the sequence's own
    const kv = withPrefixes(comp.prefixes(`${l}.self`, x), transpose(k, [0, 2, 3, 1]), v, maskBias);
    let scores = scale(matmul(q, kv.keys), s);
    // biases over the sequence's own keys leave keys put before them at 0, as DeBERTa pads its relative scores
    if (bias) scores = add(scores, frontPad(bias, kv.keys));
    let probs: Value;
    if (queryBias) {
      // DeBERTa's XSoftmax masks with the mask's outer product: a padded query sees none of the sequence's
      // keys (keys put before them, prefix tuning's, it does see) and a row with nothing to see gets zeros
      const masks = add(kv.bias, frontPad(queryBias, kv.keys));
      const seen = g.op("Cast", [g.op("Greater", [g.op("ReduceMax", [masks], { axes: [3], keepdims: 1 }), g.constF(-1)])], { to: 1 });
      probs = mul(softmax(add(scores, masks)), seen);
    } else probs = softmax(add(scores, kv.bias));
    const ctx = reshape(transpose(matmul(probs, kv.values), [0, 2, 1, 3]), [0, 0, H]);
    const attnOut = lin("attnOut", ctx);
    const a = swapMh ? comp.location(x, attnOut, baseLn(names.attnNorm), `${l}.mh`) : comp.location(attnOut, x, baseLn(names.attnNorm), `${l}.mh`);
    const inter = activation(lin("inter", a), config.activation);
    x = comp.location(lin("out", inter), a, baseLn(names.outNorm), `${l}.out`);
  }
  g.output(x, "last_hidden_state");
  const fusionOutputs = comp.finish();
  return { bytes: g.encode(), inputs: new Set(g.inputNames), outputs: ["last_hidden_state", ...fusionOutputs] };
}

/** b [.., T] with zeros in front up to the width of keys [.., width]: keys put before the sequence's own (prefixes) get none of it. */
function frontPad(b: Value, keys: Value): Value {
  const g = b.g;
  const extra = sub(g.op("Shape", [keys], { start: 3, end: 4 }), g.op("Shape", [b], { start: 3, end: 4 }));
  return g.op("Pad", [b, concat([g.constI([0, 0, 0]), extra, g.constI([0, 0, 0, 0])], 0)]);
}
