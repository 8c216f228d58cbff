import { GraphBuilder, type Value } from "./onnx-builder.ts";
import { activation, add, concat, gather, layerNorm, linear, matmul, mul, reduceSum, reshape, scale, softmax, squeeze, sub, transpose, unsqueeze } from "./ops.ts";
import { inputName, fusionOutputName, lastSlot, firstSlot, type BlockSpec, type GraphSpec, type SlotSpec } from "./spec.ts";
import type { ModelConfig } from "../formats/model-config.ts";
import type { BaseWeights } from "../formats/model-weights.ts";
import { transpose2d, type Location } from "../formats/adapter-weights.ts";

// Builds the encoder (BERT / RoBERTa / XLM-R) as an ONNX graph, with the
// adapter composition of `spec` hooked in where AdapterHub applies it: after
// the attention output dense and after the FFN output dense, each time in
// place of the block's "LayerNorm(h + x)". The composition code mirrors
// AdapterHub's pre_forward / forward / post_forward and its composition
// blocks, so the order of residuals and LayerNorms is the library's.

const MASK_NEG = -1e30;

export interface EncoderGraph {
  bytes: Uint8Array;
  /** the graph's input names: feeds must match them exactly */
  inputs: Set<string>;
  outputs: string[];
}

export function buildEncoder(config: ModelConfig, weights: BaseWeights, spec: GraphSpec): EncoderGraph {
  const g = new GraphBuilder();
  const H = config.hidden;
  const outputs: string[] = ["last_hidden_state"];

  const inits = new Map<string, Value>();
  const W = (name: string) => inits.get(name) ?? inits.set(name, g.init(name, weights.get(name).shape, weights.get(name).data)).get(name)!;
  const WT = (name: string) => {
    let v = inits.get(`${name}.T`);
    if (!v) {
      const t = transpose2d(weights.get(name));
      v = g.init(`${name}.T`, t.shape, t.data);
      inits.set(`${name}.T`, v);
    }
    return v;
  };
  const baseLn = (prefix: string) => (x: Value) => layerNorm(x, W(`${prefix}.weight`), W(`${prefix}.bias`), config.eps);

  const inputIds = g.input("input_ids", "int64", ["batch", "seq"]);
  const typeIds = g.input("token_type_ids", "int64", ["batch", "seq"]);
  const posIds = g.input("position_ids", "int64", ["batch", "seq"]);
  const mask = g.input("attention_mask", "int64", ["batch", "seq"]);

  let x = add(
    add(gather(W("embeddings.word_embeddings.weight"), inputIds), gather(W("embeddings.position_embeddings.weight"), posIds)),
    gather(W("embeddings.token_type_embeddings.weight"), typeIds),
  );
  x = baseLn("embeddings.LayerNorm")(x);

  // [N, 1, 1, T]: 0 for real tokens, a large negative number for padding.
  const maskF = unsqueeze(g.op("Cast", [mask], { to: 1 }), [1, 2]);
  const maskBias = mul(sub(g.constF(1), maskF), g.constF(MASK_NEG));

  const rows = new RowWeights(g, spec, H);
  const nh = config.heads;
  const dh = H / nh;

  for (let l = 0; l < config.layers; l++) {
    const p = `encoder.layer.${l}`;
    const lin = (name: string, input: Value, target: string | null) => {
      const y = linear(input, WT(`${p}.${name}.weight`), W(`${p}.${name}.bias`));
      return target ? rows.lora(y, input, l, target) : y;
    };
    const heads = (v: Value) => transpose(reshape(v, [0, 0, nh, dh]), [0, 2, 1, 3]);
    const q = heads(lin("attention.self.query", x, "q"));
    const k = transpose(reshape(lin("attention.self.key", x, "k"), [0, 0, nh, dh]), [0, 2, 3, 1]);
    const v = heads(lin("attention.self.value", x, "v"));
    const scores = add(scale(matmul(q, k), 1 / Math.sqrt(dh)), maskBias);
    const ctx = reshape(transpose(matmul(softmax(scores), v), [0, 2, 1, 3]), [0, 0, H]);
    const attnOut = lin("attention.output.dense", ctx, null);
    const a = rows.location(attnOut, x, baseLn(`${p}.attention.output.LayerNorm`), l, "mh", outputs);

    const inter = activation(lin("intermediate.dense", a, "inter"), config.activation);
    const out = lin("output.dense", inter, "out");
    x = rows.location(out, a, baseLn(`${p}.output.LayerNorm`), l, "out", outputs);
  }
  g.output(x, "last_hidden_state");
  return { bytes: g.encode(), inputs: new Set(g.inputNames), outputs };
}

interface State {
  hidden: Value;
  residual: Value;
  up: Value | null;
  /** slot of the last bottleneck adapter applied; its post_forward closes the location */
  last: number | null;
}

/** Per-row adapter weights: banks are graph inputs, each row gathers its own entry. */
class RowWeights {
  private cache = new Map<string, Value>();
  private idx = new Map<number, Value>();
  constructor(private g: GraphBuilder, private spec: GraphSpec, private hidden: number) {}

  private rowIndex(slot: number): Value {
    let v = this.idx.get(slot);
    if (!v) {
      v = this.g.input(inputName.idx(slot), "int64", ["batch"]);
      this.idx.set(slot, v);
    }
    return v;
  }

  /**
   * The weight `param` of this slot at `place`, one per row: bank input
   * [A, ...dims] gathered to [N, ...]; vectors come back as [N, 1, d] so they
   * broadcast over tokens.
   */
  param(slot: number, place: string, param: string, dims: (number | string)[]): Value {
    const name = inputName.param(slot, place, param);
    let v = this.cache.get(name);
    if (!v) {
      // Symbolic dims get names of their own: onnxruntime takes equal names for
      // equal sizes, and bottleneck sizes differ between places.
      const named = ["bank", ...dims].map((d, i) => (d === "hidden" ? this.hidden : typeof d === "string" ? `${name}:${i}` : d));
      if (this.spec.uniform) {
        // Every row uses the same weights: one plain matrix, which broadcasts
        // over the rows and keeps MatMul a single GEMM.
        v = this.g.input(name, "float32", named.slice(1));
      } else {
        v = gather(this.g.input(name, "float32", named), this.rowIndex(slot));
        if (dims.length === 1) v = unsqueeze(v, [1]);
        if (dims.length === 0) v = unsqueeze(v, [1, 2]);
      }
      this.cache.set(name, v);
    }
    return v;
  }

  private slot(s: number): SlotSpec {
    return this.spec.slots[s];
  }

  /** LoRA / (IA)^3 on one linear layer: every LoRA slot of the composition that targets it, in order. */
  lora(y: Value, input: Value, layer: number, target: string): Value {
    this.spec.slots.forEach((s, i) => {
      const place = `${layer}.${target}`;
      if (s.kind !== "lora" || !s.places.includes(place)) return;
      const sc = this.param(i, place, "scale", []);
      if (s.mode === "add") {
        const a = this.param(i, place, "a", ["in", "r"]);
        const b = this.param(i, place, "b", ["r", "out"]);
        y = add(y, mul(matmul(matmul(input, a), b), sc));
      } else {
        y = mul(y, mul(this.param(i, place, "b", ["out"]), sc));
      }
    });
    return y;
  }

  private present(b: BlockSpec, place: string): boolean {
    if (b.t === "adapter") {
      const s = this.slot(b.slot);
      return s.kind === "bottleneck" && s.places.includes(place);
    }
    return b.children.some((c) => this.present(c, place));
  }

  /** One adapter location: returns what replaces LayerNorm(h + x). */
  location(h: Value, x: Value, ln: (v: Value) => Value, layer: number, loc: Location, outputs: string[]): Value {
    const place = `${layer}.${loc}`;
    const block = this.spec.block;
    if (!block || !this.present(block, place)) return ln(add(h, x));
    const ctx: Ctx = { place, x, ln, outputs };
    // A bare adapter name is a Stack of one, as AdapterHub parses it.
    const top: BlockSpec = block.t === "adapter" ? { t: "stack", children: [block] } : block;
    const st = this.block(top, { hidden: h, residual: x, up: null, last: null }, ctx);
    if (st.last === null) return ln(add(h, x));
    return this.postForward(st.last, st.hidden, h, ctx);
  }

  private shape(slot: number) {
    const s = this.slot(slot);
    if (s.kind !== "bottleneck") throw new Error("internal: not a bottleneck slot");
    return s.shape;
  }

  /** An adapter's own LayerNorm (torch's default eps); per-row gamma and beta are applied after normalising. */
  private norm(slot: number, place: string, which: "nb" | "na", v: Value): Value {
    const g = this.g;
    const ones = g.constF(new Array(this.hidden).fill(1));
    const zeros = g.constF(new Array(this.hidden).fill(0));
    const unit = layerNorm(v, ones, zeros, 1e-5);
    return add(mul(unit, this.param(slot, place, `${which}_g`, ["hidden"])), this.param(slot, place, `${which}_b`, ["hidden"]));
  }

  /** AdapterHub's Adapter.pre_forward: (hidden, query, residual). */
  private preForward(slot: number, hidden: Value, ctx: Ctx, queryBeforeLn = false) {
    const c = this.shape(slot);
    if (c.isParallel) return { hidden: ctx.x, query: ctx.x, residual: ctx.x };
    const beforeLn = hidden;
    const z = c.originalLnBefore ? ctx.ln(add(hidden, ctx.x)) : hidden;
    return { hidden: z, query: queryBeforeLn ? beforeLn : z, residual: c.residualBeforeLn ? beforeLn : z };
  }

  /** AdapterHub's Adapter.forward: the bottleneck, its scaling, its own residual and LayerNorm. */
  private single(slot: number, st: State, ctx: Ctx): State {
    const c = this.shape(slot);
    const { place } = ctx;
    let d = st.hidden;
    if (c.lnBefore) d = this.norm(slot, place, "nb", d);
    d = activation(linear(d, this.param(slot, place, "down_w", ["hidden", "r"]), this.param(slot, place, "down_b", ["r"])), c.act);
    // The adapter's scaling is folded into W_up and b_up by the planner: s·(W d + b) = (sW) d + sb.
    const up = linear(d, this.param(slot, place, "up_w", ["r", "hidden"]), this.param(slot, place, "up_b", ["hidden"]));
    let out = up;
    if (c.isParallel) {
      if (c.lnAfter) out = this.norm(slot, place, "na", out);
    } else {
      if (c.adapterResidualBeforeLn) out = add(out, st.residual);
      if (c.lnAfter) out = this.norm(slot, place, "na", out);
      if (!c.adapterResidualBeforeLn) out = add(out, st.residual);
    }
    return { hidden: out, residual: st.residual, up, last: slot };
  }

  private postForward(slot: number, hidden: Value, h0: Value, ctx: Ctx): Value {
    const c = this.shape(slot);
    if (c.isParallel) hidden = add(hidden, h0);
    return c.originalLnAfter ? ctx.ln(add(hidden, ctx.x)) : hidden;
  }

  private block(b: BlockSpec, st: State, ctx: Ctx): State {
    switch (b.t) {
      case "adapter":
        return this.present(b, ctx.place) ? this.single(b.slot, st, ctx) : st;
      case "stack":
        for (const child of b.children) {
          if (child.t === "adapter") {
            if (!this.present(child, ctx.place)) continue;
            const pre = this.preForward(child.slot, st.hidden, ctx);
            st = this.single(child.slot, { ...st, hidden: pre.hidden, residual: pre.residual }, ctx);
          } else st = this.block(child, st, ctx);
        }
        return st;
      case "fuse":
        return this.fuse(b, st, ctx);
      case "average":
        return this.average(b, st, ctx);
    }
  }

  private fuse(b: Extract<BlockSpec, { t: "fuse" }>, st: State, ctx: Ctx): State {
    const present = b.children.filter((c) => this.present(c, ctx.place));
    if (present.length === 0) return st;
    if (present.length !== b.children.length) {
      throw new Error(`fusion: at ${ctx.place} only some of the fused adapters are present (their leave_out or locations differ)`);
    }
    const spec = this.slot(b.slot);
    if (spec.kind !== "fusion") throw new Error("internal: fuse without fusion slot");
    if (!spec.places.includes(ctx.place)) throw new Error(`fusion has no weights for layer ${ctx.place}`);
    const f = spec.shape;
    const last = lastSlot(b)!;
    const pre = this.preForward(last, st.hidden, ctx, f.queryBeforeLn);
    const inner: State = { hidden: pre.hidden, residual: pre.residual, up: null, last: null };
    const ups = b.children.map((c) => {
      const out = this.block(c, inner, ctx);
      if (!out.up) throw new Error("internal: fused child produced no adapter output");
      return unsqueeze(out.up, [2]);
    });
    let U = concat(ups, 2); // [N, T, F, H]
    if (f.residualBefore) U = add(U, unsqueeze(pre.residual, [2]));
    const P = ctx.place;
    // score_i = q·(W_k u_i + b_k) = (W_kᵀ q)·u_i + q·b_k; the last term is the
    // same for every adapter, so the softmax ignores it (DESIGN.md). With both
    // query and key, W_kᵀ(W_q x + b_q) is one folded linear map (Engine.fold).
    const q = pre.query;
    const qk =
      f.query && f.key ? linear(q, this.param(b.slot, P, "qk_w", ["hidden", "hidden"]), this.param(b.slot, P, "qk_b", ["hidden"]))
      : f.query ? linear(q, this.param(b.slot, P, "q_w", ["hidden", "hidden"]), this.param(b.slot, P, "q_b", ["hidden"]))
      : f.key ? matmul(q, this.param(b.slot, P, "k_w", ["hidden", "hidden"]))
      : q;
    let scores = reduceSum(mul(U, unsqueeze(qk, [2])), [3]); // [N, T, F]
    if (f.temperature !== 1) scores = scale(scores, 1 / f.temperature);
    if (b.masked) scores = add(scores, unsqueeze(this.g.input(inputName.fusionMask(b.slot), "float32", ["batch", b.children.length]), [1]));
    const probs = softmax(scores);
    const name = fusionOutputName(b.slot, P);
    this.g.output(probs, name);
    ctx.outputs.push(name);
    // Σ p_i W_v u_i = W_v Σ p_i u_i: one product instead of one per adapter.
    let c = squeeze(matmul(unsqueeze(probs, [2]), U), [2]);
    if (f.value) c = matmul(c, this.param(b.slot, P, "v_w", ["hidden", "hidden"]));
    if (!f.residualBefore) c = add(c, pre.residual);
    return { hidden: c, residual: pre.residual, up: st.up, last };
  }

  private average(b: Extract<BlockSpec, { t: "average" }>, st: State, ctx: Ctx): State {
    const first = firstSlot(b);
    if (first === null || !b.children.some((c) => this.present(c, ctx.place))) return st;
    const pre = this.preForward(first, st.hidden, ctx);
    const inner: State = { ...st, hidden: pre.hidden, residual: pre.residual };
    // Children absent at this location are skipped, as AdapterHub skips them.
    const present = b.children.map((c, i) => ({ c, i })).filter(({ c }) => this.present(c, ctx.place));
    const outs = present.map(({ c }) => this.block(c, inner, ctx));
    const n = b.children.length;
    let hidden: Value;
    if (present.length === 1 && n > 1) {
      // The library stacks the one output and broadcasts it against all n
      // weights: mean_i(w_i · h) = h · Σw / n = h / n (weights sum to 1).
      hidden = scale(outs[0].hidden, 1 / n);
    } else {
      // AdapterHub (adapters >= 1.0) computes mean_i(w_i * h_i): the weighted
      // sum divided by the number of children. Served as the library does it.
      const w = this.g.input(inputName.average(b.id), "float32", ["batch", n]);
      let sum: Value | null = null;
      outs.forEach((o, k) => {
        const wi = unsqueeze(gather(w, this.g.constI(present[k].i), 1), [1, 2]);
        const term = mul(o.hidden, wi);
        sum = sum ? add(sum, term) : term;
      });
      hidden = scale(sum!, 1 / outs.length);
    }
    const last = [...outs].reverse().find((o) => o.last !== null)?.last ?? null;
    return { hidden, residual: outs[0].residual, up: outs[outs.length - 1].up, last };
  }
}

interface Ctx {
  place: string;
  x: Value;
  ln: (v: Value) => Value;
  outputs: string[];
}
