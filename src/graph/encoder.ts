import { GraphBuilder, type ExternalWeights, type Value } from "./onnx-builder.ts";
import { activation, add, gather, matmul, mul, reshape, scale, softmax, sub, transpose, unsqueeze } from "./ops.ts";
import { CompositionGraph } from "./composition.ts";
import type { GraphSpec } from "./spec.ts";
import type { Family, ModelConfig, LinearTarget } from "../families/index.ts";
import type { BaseWeights } from "../families/base-weights.ts";
import { BaseInitializers } from "./base-weights.ts";
import type { Precision } from "./quantize.ts";

// The encoder skeleton (BERT-like post-LN blocks), built as an ONNX graph
// from the family's weight names, with the composition's hooks where
// AdapterHub applies them: the embeddings' output (invertible adapters),
// each linear layer (LoRA, (IA)^3), and the two adapter locations per layer,
// each time in place of the block's "LayerNorm(h + x)".

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

  const { W, ln: baseLn, linear: baseLinear } = new BaseInitializers(g, weights, config.eps, "layer", precision);

  const e = family.embeddings;
  const inputIds = g.input("input_ids", "int64", ["batch", "seq"]);
  const posIds = g.input("position_ids", "int64", ["batch", "seq"]);
  const mask = g.input("attention_mask", "int64", ["batch", "seq"]);
  let x = add(gather(W(`${e.word}.weight`), inputIds), gather(W(`${e.position}.weight`), posIds));
  if (e.tokenType) x = add(x, gather(W(`${e.tokenType}.weight`), g.input("token_type_ids", "int64", ["batch", "seq"])));
  x = baseLn(e.norm)(x);

  const comp = new CompositionGraph(g, spec, H);
  x = comp.embeddings(x);

  // [N, 1, 1, T]: 0 for real tokens, a large negative number for padding.
  const maskF = unsqueeze(g.op("Cast", [mask], { to: 1 }), [1, 2]);
  const maskBias = mul(sub(g.constF(1), maskF), g.constF(MASK_NEG));
  const nh = config.heads;
  const dh = H / nh;

  for (let l = 0; l < config.layers; l++) {
    const names = family.layer(l, config);
    const lin = (target: LinearTarget, input: Value) => {
      const p = names.linear[target];
      return comp.linear(baseLinear(p!, input), input, `${l}.${target}`);
    };
    const heads = (v: Value) => transpose(reshape(v, [0, 0, nh, dh]), [0, 2, 1, 3]);
    const q = heads(lin("q", x));
    const k = transpose(reshape(lin("k", x), [0, 0, nh, dh]), [0, 2, 3, 1]);
    const v = heads(lin("v", x));
    const scores = add(scale(matmul(q, k), 1 / Math.sqrt(dh)), maskBias);
    const ctx = reshape(transpose(matmul(softmax(scores), v), [0, 2, 1, 3]), [0, 0, H]);
    const a = comp.location(lin("attnOut", ctx), x, baseLn(names.attnNorm), `${l}.mh`);
    const inter = activation(lin("inter", a), config.activation);
    x = comp.location(lin("out", inter), a, baseLn(names.outNorm), `${l}.out`);
  }
  g.output(x, "last_hidden_state");
  return { bytes: g.encode(), inputs: new Set(g.inputNames), outputs: ["last_hidden_state", ...comp.outputs] };
}
