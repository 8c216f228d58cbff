import { z } from "zod";
import { activation, add, concat, linear, sub } from "../graph/ops.ts";
import type { Value } from "../graph/onnx-builder.ts";
import { linearOf, type Linear, biasOf } from "../formats/linear.ts";
import { under, type AdapterMethod, type ParamFn, type PartSpec } from "./method.ts";
import { embeddingNames } from "../families/family.ts";

// Invertible adapters (MAD-X language adapters, Pfeiffer et al. 2020): a NICE
// coupling block on the embeddings' output, saved with a bottleneck adapter
// whose config sets inv_adapter. AdapterHub applies the invertible adapter of
// the first adapter of the active setup (AdapterCompositionBlock.first()), if
// that adapter has one. Its inverse runs on a translation model's decoder
// output before the LM head (AdapterHub: BART, T5), where the adapter sits
// under encoder.invertible_adapters.
//   x = [x1 | x2] (x1 the first ⌊H/2⌋ features)
//   y1 = x1 + F(x2),  y2 = x2 + G(y1),  out = [y1 | y2]
// with F, G = Linear(d → ⌊d/rf⌋) · act · Linear(→ the other half).

export interface InvertibleConfig {
  reductionFactor: number;
  act: string;
}

interface Subnet {
  in: Linear;
  out: Linear;
}
export interface InvertibleWeights {
  F: Subnet;
  G: Subnet;
}

const Schema = z.looseObject({
  inv_adapter: z.enum(["nice", "glow"]).nullish(),
  inv_adapter_reduction_factor: z.number().positive().nullish(),
  non_linearity: z.string(),
});

const PLACE = "embeddings";

export const invertible: AdapterMethod<InvertibleConfig, InvertibleWeights> = {
  name: "invertible",
  composable: true,

  parse(config) {
    if ((config.architecture ?? "bottleneck") !== "bottleneck" || config.inv_adapter == null) return null;
    if (config.inv_adapter === "glow") {
      throw new Error(
        'inv_adapter "glow" is not supported: AdapterHub\'s GLOW coupling block splits and concatenates [batch, seq, hidden] inputs along the sequence axis, so the library itself cannot run it on a transformer; use "nice"',
      );
    }
    const c = Schema.parse(config);
    return { reductionFactor: c.inv_adapter_reduction_factor ?? 2, act: c.non_linearity.toLowerCase() };
  },

  read({ model, family, name, keys }, c) {
    // AdapterHub builds invertible adapters embedding_size wide (ALBERT, DeBERTa; else hidden_size) and runs
    // them on the embeddings' output: before ALBERT's projection to the hidden size, after DeBERTa's
    const H = model.embeddingSize ?? model.hidden;
    const atHook = embeddingNames(family, model)?.projectAfter ? H : model.hidden;
    if (atHook !== H) {
      throw new Error(`invertible adapters are built embedding_size (${H}) wide but act on the embeddings' output, which model type "${model.modelType}" has ${atHook} wide (hidden_size): AdapterHub cannot run one on this model`);
    }
    const h1 = Math.floor(H / 2);
    const h2 = H - h1;
    // encoder-decoder models keep it in the encoder stack
    const w = under(keys, `${family.seq2seq ? "encoder." : ""}invertible_adapters.${name}`);
    const what = `invertible adapter of "${name}"`;
    if (w.size === 0) throw new Error(`${what}: no weights (expected invertible_adapters.${name}.F.0.weight ...)`);
    const subnet = (net: "F" | "G", dIn: number, dOut: number): Subnet => {
      const inner = Math.floor(dIn / c.reductionFactor);
      return { in: linearOf(w, `${net}.0`, what, dIn, inner), out: linearOf(w, `${net}.2`, what, inner, dOut) };
    };
    return { F: subnet("F", h2, h1), G: subnet("G", h1, h2) };
  },

  spec(c, w) {
    return { method: "invertible", places: [PLACE], dims: [w.F.in.w.shape[1], w.G.in.w.shape[1]], shape: { act: c.act, h1: w.F.out.w.shape[1] } };
  },

  feeds(_spec, bank, put) {
    for (const net of ["F", "G"] as const) {
      const k = net.toLowerCase();
      const nets = bank.map((m) => m.weights[net]);
      put(PLACE, `${k}0_w`, nets.map((n) => n.in.w.data), nets[0].in.w.shape);
      put(PLACE, `${k}0_b`, nets.map((n) => biasOf(n.in)), [nets[0].in.w.shape[1]]);
      put(PLACE, `${k}2_w`, nets.map((n) => n.out.w.data), nets[0].out.w.shape);
      put(PLACE, `${k}2_b`, nets.map((n) => biasOf(n.out)), [nets[0].out.w.shape[1]]);
    }
  },

  embeddings: (x, spec, p) => coupling(x, spec, p, false),
  embeddingsInverse: (x, spec, p) => coupling(x, spec, p, true),
};

/** NICECouplingBlock.forward: y1 = x1 + F(x2), y2 = x2 + G(y1); with rev, x2 = y2 − G(y1), x1 = y1 − F(x2). */
function coupling(x: Value, spec: PartSpec, p: ParamFn, rev: boolean): Value {
  const g = x.g;
  const [fr, gr] = spec.dims;
  const act = String(spec.shape?.act ?? "relu");
  const h1 = Number(spec.shape?.h1);
  const slice = (v: Value, from: number, to: number) => g.op("Slice", [v, g.constI([from]), g.constI([to]), g.constI([2])]);
  const net = (k: "f" | "g", v: Value, dIn: number | string, dOut: number | string, r: number) =>
    linear(activation(linear(v, p(PLACE, `${k}0_w`, [dIn, r]), p(PLACE, `${k}0_b`, [r])), act), p(PLACE, `${k}2_w`, [r, dOut]), p(PLACE, `${k}2_b`, [dOut]));
  const x1 = slice(x, 0, h1);
  const x2 = slice(x, h1, 2 ** 31 - 1);
  if (rev) {
    const y2 = sub(x2, net("g", x1, "h1", "h2", gr));
    return concat([sub(x1, net("f", y2, "h2", "h1", fr)), y2], 2);
  }
  const y1 = add(x1, net("f", x2, "h2", "h1", fr));
  const y2 = add(x2, net("g", y1, "h1", "h2", gr));
  return concat([y1, y2], 2);
}
