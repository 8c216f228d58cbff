import { z } from "zod";
import { concat, mul, unsqueeze } from "../graph/ops.ts";
import type { Value } from "../graph/onnx-builder.ts";
import { biasOf, checkShape, linearOf, need, type Linear } from "../formats/linear.ts";
import type { Tensor } from "../core/tensor.ts";
import { Activation } from "./bottleneck.ts";
import { gateGraph, readGate, type TokenMean } from "./gate.ts";
import { placeKey, sortedPlaces, under, type AdapterMethod, type ParamFn, type PartSpec } from "./method.ts";

// Prefix tuning (Li & Liang), as AdapterHub 3.2.1 saves it (architecture
// "prefix_tuning"): P learned key and value vectors per layer and head,
// concatenated before the layer's own keys and values (the attention mask
// extended with ones). The file holds the prefix MLP — wte Embedding(P, H) →
// control_trans Linear(H, b) → activation → Linear(b, n·2·H) — or, saved
// flat, its output. It does not depend on the input, so it is computed once
// here, when the adapter is read, and fed to the graph as weights.
// With use_gating (UniPELT) a learned gate on the attention's input scales
// the keys and values per row.

export interface PrefixConfig {
  prefixLength: number;
  /** encoder-decoder models: prefixes on the encoder's self-attention, on the decoder's cross-attention (the decoder's self-attention always has one) */
  encoderPrefix: boolean;
  crossPrefix: boolean;
  flat: boolean;
  act: string;
  leaveOut: number[];
  gated: boolean;
  /** one gate for keys and values, or one each */
  sharedGating: boolean;
}

export interface PrefixPlace {
  /** [heads, head_dim, P]: laid out for q·Kᵀ */
  keys: Float32Array;
  /** [heads, P, head_dim] */
  values: Float32Array;
  /** Linear(H, 1 or 2), when gated */
  gate: Linear | null;
}

export interface PrefixWeights {
  length: number;
  heads: number;
  places: Map<string, PrefixPlace>;
}

/** What the graph adds at one attention: keys, values and mask bias to put before the layer's own. */
export interface PrefixKV {
  /** [N | 1, heads, head_dim, P] */
  keys: Value;
  /** [N | 1, heads, P, head_dim] */
  values: Value;
  /** [N | 1, 1, 1, P]: 0 for a real prefix position, a large negative number for padding */
  bias: Value;
}

const Schema = z.strictObject({
  architecture: z.literal("prefix_tuning"),
  encoder_prefix: z.boolean().default(true),
  cross_prefix: z.boolean().default(true),
  leave_out: z.array(z.number().int().nonnegative()).default([]),
  flat: z.boolean().default(false),
  prefix_length: z.number().int().positive(),
  bottleneck_size: z.number().int().positive().default(512),
  non_linearity: Activation.default("tanh"),
  use_gating: z.boolean().default(false),
  shared_gating: z.boolean().default(true),
});

/** A prefix slot no row of the bank fills: its score gets this added, so its softmax weight is exactly 0. */
const MASKED = -1e30;

export const prefix: AdapterMethod<PrefixConfig, PrefixWeights> = {
  name: "prefix",
  composable: false,

  parse(config) {
    if (config.architecture !== "prefix_tuning") return null;
    const c = Schema.parse(config);
    return {
      prefixLength: c.prefix_length,
      encoderPrefix: c.encoder_prefix,
      crossPrefix: c.cross_prefix,
      flat: c.flat,
      act: c.non_linearity.toLowerCase(),
      leaveOut: c.leave_out,
      gated: c.use_gating,
      sharedGating: c.shared_gating,
    };
  },

  read({ family, model, name, keys }, c) {
    const H = model.hidden;
    const nh = model.heads;
    const dh = H / nh;
    const P = c.prefixLength;
    const root = `prefix_tuning.prefix_tunings.${name}`;
    const saved = new Set([...keys.keys()].filter((k) => k.startsWith(`${root}.`)).map((k) => k.slice(root.length + 1).split(".")[0]));
    if (saved.size === 0) throw new Error(`prefix tuning "${name}": no weights (expected ${root}.${family.seq2seq ? "encoder_prefix" : "self_prefix"}.${c.flat ? "control_trans" : "wte.weight"} ...)`);
    const layers = Array.from({ length: model.layers }, (_, l) => l).filter((l) => !c.leaveOut.includes(l));
    const encoderLayers = model.layers - model.decoderLayers;
    // AdapterHub keeps one prefix MLP per attention location, over the layers that have it
    const locations: { key: string; attention: "self" | "cross"; layers: number[] }[] = [];
    if (family.seq2seq) {
      // AdapterHub views every prefix as heads × hidden / heads, whatever the attention's own head width (T5's d_kv)
      const width = model.seq2seq?.headDim ?? dh;
      if (width !== dh) throw new Error(`prefix tuning "${name}": the attention heads are ${width} wide, hidden / heads is ${dh}; AdapterHub 3.2.1 cannot put such a prefix before the keys`);
      // AdapterHub views every location's prefix with the encoder's head count
      if (model.seq2seq && model.seq2seq.decoderHeads !== nh) throw new Error(`prefix tuning "${name}": the decoder has ${model.seq2seq.decoderHeads} attention heads, the encoder ${nh}; AdapterHub 3.2.1 cannot split the decoder's prefix`);
      const enc = layers.filter((l) => l < encoderLayers);
      const dec = layers.filter((l) => l >= encoderLayers);
      // T5: a stack's first layer computes the position bias over its prefixed keys and every layer reuses it
      if (family.seq2seq.positions.kind === "relative") {
        for (const [stack, kept, all] of [["encoder", c.encoderPrefix ? enc : [], encoderLayers], ["decoder", dec, model.decoderLayers]] as const) {
          if (kept.length && kept.length < all) throw new Error(`prefix tuning "${name}": leave_out takes the prefix from some of the ${stack}'s layers and not all; AdapterHub 3.2.1 fails on that on ${family.name} (its first layer's position bias spans the prefix, and every layer reuses it)`);
        }
      }
      if (c.encoderPrefix && enc.length) locations.push({ key: "encoder_prefix", attention: "self", layers: enc });
      if (dec.length) locations.push({ key: "self_prefix", attention: "self", layers: dec });
      if (c.crossPrefix && dec.length) locations.push({ key: "cross_prefix", attention: "cross", layers: dec });
    } else {
      // encoders: one location, named after the attention module (BERT: "self_prefix", DistilBERT: "self")
      if (saved.size > 1) throw new Error(`prefix tuning "${name}": prefixes for several attention locations (${[...saved].join(", ")}) on an encoder`);
      locations.push({ key: [...saved][0], attention: "self", layers });
    }
    const places = new Map<string, PrefixPlace>();
    for (const loc of locations) {
      const what = `prefix tuning "${name}" (${loc.key})`;
      if (!saved.has(loc.key)) throw new Error(`${what}: no weights (expected ${root}.${loc.key}.${c.flat ? "control_trans" : "wte.weight"} ...)`);
      const w = under(keys, `${root}.${loc.key}`);
      // One prefix per distinct attention module, in order: a family that repeats
      // one layer's weights (ALBERT) has one prefix for all its layers.
      const moduleOf = (l: number) => attentionModule(family.layer(l, model).linear[loc.attention === "self" ? "q" : "crossQ"]!);
      const modules = [...new Set(loc.layers.map(moduleOf))];
      const n = modules.length;
      const flatOut = c.flat ? flatPrefix(w, what, P * n * 2 * H) : mlpPrefix(w, what, P, H, n * 2 * H, c.act);
      const width = flatOut.length / P;
      for (const l of loc.layers) {
        const module = moduleOf(l);
        const id = modules.indexOf(module);
        // control_trans output viewed as [P, n·2, heads, head_dim]: layer id's keys are 2·id, its values 2·id + 1
        const keysT = new Float32Array(nh * dh * P);
        const values = new Float32Array(nh * P * dh);
        for (let p = 0; p < P; p++)
          for (let h = 0; h < nh; h++)
            for (let d = 0; d < dh; d++) {
              const at = (which: number) => p * width + (2 * id + which) * H + h * dh + d;
              keysT[(h * dh + d) * P + p] = flatOut[at(0)];
              values[(h * P + p) * dh + d] = flatOut[at(1)];
            }
        const gate = c.gated ? readGate(keys, `${module}.prefix_tuning.prefix_gates.${name}`, `${what} layer ${l} gate`, H, c.sharedGating ? 1 : 2) : null;
        places.set(placeKey(l, loc.attention), { keys: keysT, values, gate });
      }
    }
    return { length: P, heads: nh, places };
  },

  spec(c, w) {
    const places = sortedPlaces(w.places.keys());
    // P is not part of the shape: a bank pads shorter prefixes with masked slots
    return { method: "prefix", places, dims: places.map(() => 0), shape: { gated: c.gated, gateOutputs: c.sharedGating ? 1 : 2 } };
  },

  feeds(spec, bank, put) {
    const P = Math.max(...bank.map((m) => m.weights.length));
    const nh = bank[0].weights.heads;
    for (const place of spec.places) {
      const ps = bank.map((m) => m.weights.places.get(place)!);
      const dh = ps[0].values.length / (nh * bank[0].weights.length);
      put(place, "keys", bank.map((m, i) => padLast(ps[i].keys, nh * dh, m.weights.length, P)), [nh, dh, P]);
      put(place, "values", bank.map((m, i) => padRows(ps[i].values, nh, m.weights.length * dh, P * dh)), [nh, P, dh]);
      put(place, "mask", bank.map((m) => Float32Array.from({ length: P }, (_, p) => (p < m.weights.length ? 0 : MASKED))), [1, 1, P]);
      if (spec.shape?.gated) {
        const outs = spec.shape.gateOutputs as number;
        put(place, "gate_w", ps.map((p) => p.gate!.w.data), [nh * dh, outs]);
        put(place, "gate_b", ps.map((p) => biasOf(p.gate!)), [outs]);
      }
    }
  },
};

/** The keys, values and mask bias one slot adds at an attention whose input is x. `rows` gives a plain (uniform-run) value its batch dimension. */
export function prefixGraph(spec: PartSpec, place: string, p: ParamFn, x: Value, mean: TokenMean, rows: (v: Value) => Value): PrefixKV {
  let keys = p(place, "keys", ["heads", "dh", "P"]);
  let values = p(place, "values", ["heads", "P", "dh"]);
  const bias = p(place, "mask", [1, 1, "P"]);
  if (spec.shape?.gated) {
    // [N, 1, outs] → [N, outs, 1, 1] (, 1): one factor for keys, one for values (the same one when shared)
    const g = gateGraph(x, p(place, "gate_w", ["hidden", "outs"]), p(place, "gate_b", ["outs"]), mean);
    const outs = spec.shape.gateOutputs as number;
    const pick = (i: number) => unsqueeze(g.g.op("Gather", [g, g.g.constI(i)], { axis: 2 }), [2, 3]);
    keys = mul(keys, pick(0));
    values = mul(values, pick(outs - 1));
  }
  return { keys: rows(keys), values: rows(values), bias: rows(bias) };
}

/** Joins the slots' prefixes in front of the layer's keys [N, heads, dh, T], values [N, heads, T, dh] and mask bias [N, 1, 1, T]. */
export function withPrefixes(prefixes: PrefixKV[], keys: Value, values: Value, bias: Value) {
  if (!prefixes.length) return { keys, values, bias };
  // AdapterHub concatenates each stacked prefix before the previous ones
  const order = [...prefixes].reverse();
  return {
    keys: concat([...order.map((x) => x.keys), keys], 3),
    values: concat([...order.map((x) => x.values), values], 2),
    bias: concat([...order.map((x) => x.bias), bias], 3),
  };
}

/** The module holding a layer's attention (its query's parent): AdapterHub's prefix shim sits there. */
const attentionModule = (query: string) => query.slice(0, query.lastIndexOf("."));

function flatPrefix(w: Map<string, Tensor>, what: string, size: number): Float32Array {
  const t = need(w, "control_trans", what);
  if (t.data.length !== size) throw new Error(`${what}: the flat prefix holds ${t.data.length} numbers, expected ${size}`);
  return t.data;
}

/** wte → Linear → act → Linear, in float64: [P, out]. */
function mlpPrefix(w: Map<string, Tensor>, what: string, P: number, H: number, out: number, act: string): Float32Array {
  const wte = need(w, "wte.weight", what);
  checkShape(wte, [P, H], `${what} wte.weight`);
  const l1 = linearOf(w, "control_trans.0", what, H, null);
  const l2 = linearOf(w, "control_trans.2", what, l1.w.shape[1], out);
  const f = jsActivation(act);
  const hidden = dense(wte.data, P, l1).map(f);
  return Float32Array.from(dense(hidden, P, l2));
}

function dense(x: ArrayLike<number>, rows: number, l: Linear): Float64Array {
  const [I, O] = l.w.shape;
  const b = biasOf(l);
  const y = new Float64Array(rows * O);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < O; o++) {
      let s = b[o];
      for (let i = 0; i < I; i++) s += x[r * I + i] * l.w.data[i * O + o];
      y[r * O + o] = s;
    }
  return y;
}

const erf = (x: number) => {
  // Numerical Recipes' erfc approximation: relative error below 1.2e-7
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? y : -y;
};

/** The prefix MLP's activation in JS (the names AdapterHub's Activation_Function_Class takes). */
export function jsActivation(name: string): (x: number) => number {
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  switch (name) {
    case "tanh":
      return Math.tanh;
    case "relu":
      return (x) => Math.max(0, x);
    case "sigmoid":
      return sig;
    case "swish":
    case "silu":
      return (x) => x * sig(x);
    case "gelu":
    case "gelu_python":
    case "gelu_orig":
      return (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
    case "gelu_new":
    case "gelu_fast":
    case "gelu_pytorch_tanh":
    case "gelu_accurate":
      return (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    case "quick_gelu":
      return (x) => x * sig(1.702 * x);
    case "leakyrelu":
    case "leaky_relu":
      return (x) => (x >= 0 ? x : 0.01 * x);
    case "linear":
    case "identity":
      return (x) => x;
    case "relu6":
      return (x) => Math.min(6, Math.max(0, x));
    case "mish":
      return (x) => x * Math.tanh(Math.log1p(Math.exp(x)));
    default:
      throw new Error(`unsupported activation function "${name}"`);
  }
}

/** [rows, p] → [rows, P], zeros after p. */
function padLast(a: Float32Array, rows: number, p: number, P: number): Float32Array {
  if (p === P) return a;
  const out = new Float32Array(rows * P);
  for (let r = 0; r < rows; r++) out.set(a.subarray(r * p, (r + 1) * p), r * P);
  return out;
}

/** [rows, w] → [rows, W], zeros after w. */
const padRows = padLast;
