import type { GraphBuilder, Value } from "./onnx-builder.ts";
import { add, div, gather, mul, reduceSum, scale, unsqueeze } from "./ops.ts";
import { GATE_MASK, inputName, fusionOutputName, lastSlot, firstSlot, type BlockSpec, type GraphSpec, type SlotSpec } from "./spec.ts";
import { methodByName, type PartSpec } from "../methods/index.ts";
import { forward, postForward, preForward, shapeOf, type FlowState, type LocationContext } from "../methods/bottleneck.ts";
import { fuseGraph } from "../methods/fusion.ts";
import type { ParamFn } from "../methods/method.ts";
import { prefixGraph, type PrefixKV } from "../methods/prefix.ts";
import type { TokenMean } from "../methods/gate.ts";

// The adapter composition of one graph: AdapterHub's blocks (Stack, Fuse,
// Average) over the slots of the spec, called by the encoder skeleton at
// each of its hook points. Weights are graph inputs; each row gathers its
// own entry of each slot's bank (or, in a uniform run, all rows share one).

export class CompositionGraph {
  private cache = new Map<string, Value>();
  private idx = new Map<number, Value>();
  /** fusion attentions by output name; a layer run several times (ALBERT) keeps its last run's, as AdapterHub's cache does */
  private probs = new Map<string, Value>();

  /** `gateMask`: the input naming the positions gates average over (a translation model's decoder has its own) */
  constructor(private g: GraphBuilder, private spec: GraphSpec, private hidden: number, private gateMask = GATE_MASK) {}

  /** Adds the fusion attention outputs to the graph; returns their names. */
  finish(): string[] {
    for (const [name, v] of this.probs) this.g.output(v, name);
    return [...this.probs.keys()];
  }

  private rowIndex(slot: number): Value {
    let v = this.idx.get(slot);
    if (!v) {
      v = this.g.input(inputName.idx(slot), "int64", ["batch"]);
      this.idx.set(slot, v);
    }
    return v;
  }

  /**
   * The weights of one slot's part: bank input [A, ...dims] gathered to
   * [N, ...]; vectors come back as [N, 1, d] so they broadcast over tokens.
   */
  params(slot: number, method: string): ParamFn {
    return (place, param, dims) => {
      const name = inputName.param(slot, method, place, param);
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
    };
  }

  private parts(slot: number): PartSpec[] {
    const s = this.spec.slots[slot];
    return s.kind === "adapter" ? s.parts : [];
  }

  private bottleneckOf(slot: number): PartSpec | undefined {
    return this.parts(slot).find((p) => p.method === "bottleneck");
  }

  /**
   * The mean over each row's positions that gates take (AdapterHub averages
   * over its whole padded batch): the gate mask input [N, T] marks them.
   */
  readonly mean: TokenMean = (v) => {
    const m = unsqueeze(this.g.input(this.gateMask, "float32", ["batch", "seq"]), [2]);
    return div(reduceSum(mul(v, m), [1], 1), reduceSum(m, [1], 1));
  };

  /** Gives a value fed without its bank dimension (uniform runs) the batch dimension of `like`. */
  private rows(like: Value): (v: Value) => Value {
    if (!this.spec.uniform) return (v) => v;
    return (v) => {
      const n = this.g.op("Shape", [like], { start: 0, end: 1 });
      return this.g.op("Expand", [v, this.g.op("Concat", [n, this.g.constI([1, 1, 1])], { axis: 0 })]);
    };
  }

  /**
   * The prefixes of the attention at `place` whose input is x: every adapter
   * slot's prefix-tuning part, in composition order (the engine refuses
   * prefixes inside fuse and average, as AdapterHub does).
   */
  prefixes(place: string, x: Value): PrefixKV[] {
    const out: PrefixKV[] = [];
    this.spec.slots.forEach((s, i) => {
      if (s.kind !== "adapter" || i === this.spec.embeddings) return;
      for (const part of s.parts) {
        if (part.method === "prefix" && part.places.includes(place)) out.push(prefixGraph(part, place, this.params(i, "prefix"), x, this.mean, this.rows(x)));
      }
    });
    return out;
  }

  /** The embeddings' output: the hooks of the composition's first adapter (AdapterHub's active_setup.first()). */
  embeddings(x: Value): Value {
    const first = this.spec.embeddings;
    if (first === null) return x;
    for (const part of this.parts(first)) {
      const m = methodByName(part.method);
      if (m.embeddings) x = m.embeddings(x, part, this.params(first, part.method));
    }
    return x;
  }

  /** The inverse of the embeddings' hooks, in reverse order: a translation model's decoder output before the LM head (AdapterHub's invertible_adapters_forward(rev=True)). */
  embeddingsInverse(x: Value): Value {
    const first = this.spec.embeddings;
    if (first === null) return x;
    for (const part of [...this.parts(first)].reverse()) {
      const m = methodByName(part.method);
      if (m.embeddingsInverse) x = m.embeddingsInverse(x, part, this.params(first, part.method));
    }
    return x;
  }

  /** A linear layer's output: every part of every slot that hooks linear layers, in slot order. `mean`: the gates' mean, when x is not the token sequence. */
  linear(y: Value, x: Value, place: string, mean: TokenMean = this.mean): Value {
    this.spec.slots.forEach((s, i) => {
      if (s.kind !== "adapter") return;
      for (const part of s.parts) {
        const m = methodByName(part.method);
        if (m.linear && part.places.includes(place)) y = m.linear(y, x, place, part, this.params(i, part.method), mean);
      }
    });
    return y;
  }

  private present(b: BlockSpec, place: string): boolean {
    if (b.t === "adapter") return this.bottleneckOf(b.slot)?.places.includes(place) ?? false;
    return b.children.some((c) => this.present(c, place));
  }

  /** One adapter location: returns what replaces the block's LayerNorm(h + x). */
  location(h: Value, x: Value, ln: (v: Value) => Value, place: string): Value {
    const block = this.spec.block;
    if (!block || !this.present(block, place)) return ln(add(h, x));
    const ctx: LocationContext = { place, x, ln, hidden: this.hidden, mean: this.mean };
    // A bare adapter name is a Stack of one, as AdapterHub parses it.
    const top: BlockSpec = block.t === "adapter" ? { t: "stack", children: [block] } : block;
    const st = this.block(top, { hidden: h, residual: x, up: null, last: null }, ctx);
    if (st.last === null) return ln(add(h, x));
    return postForward(this.shape(st.last), st.hidden, h, ctx);
  }

  private shape(slot: number) {
    const b = this.bottleneckOf(slot);
    if (!b) throw new Error("internal: not a bottleneck slot");
    return shapeOf(b);
  }

  private single(slot: number, st: FlowState, ctx: LocationContext): FlowState {
    return forward(this.shape(slot), this.params(slot, "bottleneck"), slot, st, ctx);
  }

  private block(b: BlockSpec, st: FlowState, ctx: LocationContext): FlowState {
    switch (b.t) {
      case "adapter":
        return this.present(b, ctx.place) ? this.single(b.slot, st, ctx) : st;
      case "stack":
        for (const child of b.children) {
          if (child.t === "adapter") {
            if (!this.present(child, ctx.place)) continue;
            const pre = preForward(this.shape(child.slot), st.hidden, ctx);
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

  private fuse(b: Extract<BlockSpec, { t: "fuse" }>, st: FlowState, ctx: LocationContext): FlowState {
    const present = b.children.filter((c) => this.present(c, ctx.place));
    if (present.length === 0) return st;
    // The engine checks fused adapters' places before planning; these are its invariants.
    if (present.length !== b.children.length) throw new Error(`internal: at ${ctx.place} only some of the fused adapters are present`);
    const spec = this.spec.slots[b.slot] as Extract<SlotSpec, { kind: "fusion" }>;
    if (!spec.places.includes(ctx.place)) throw new Error(`internal: fusion has no weights at ${ctx.place}`);
    const last = lastSlot(b)!;
    const pre = preForward(this.shape(last), st.hidden, ctx, spec.shape.queryBeforeLn);
    const inner: FlowState = { hidden: pre.hidden, residual: pre.residual, up: null, last: null };
    const ups = b.children.map((c) => {
      const out = this.block(c, inner, ctx);
      if (!out.up) throw new Error("internal: fused child produced no adapter output");
      return out.up;
    });
    const mask = b.masked ? this.g.input(inputName.fusionMask(b.slot), "float32", ["batch", b.children.length]) : null;
    const { out, probs } = fuseGraph(spec.shape, this.params(b.slot, "fusion"), ctx.place, ups, pre.query, pre.residual, mask);
    this.probs.set(fusionOutputName(b.slot, ctx.place), probs);
    return { hidden: out, residual: pre.residual, up: st.up, last };
  }

  private average(b: Extract<BlockSpec, { t: "average" }>, st: FlowState, ctx: LocationContext): FlowState {
    const first = firstSlot(b);
    if (first === null || !b.children.some((c) => this.present(c, ctx.place))) return st;
    const pre = preForward(this.shape(first), st.hidden, ctx);
    const inner: FlowState = { ...st, hidden: pre.hidden, residual: pre.residual };
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
        const term = o.hidden.g.op("Mul", [o.hidden, wi]);
        sum = sum ? add(sum, term) : term;
      });
      hidden = scale(sum!, 1 / outs.length);
    }
    const last = [...outs].reverse().find((o) => o.last !== null)?.last ?? null;
    return { hidden, residual: outs[0].residual, up: outs[outs.length - 1].up, last };
  }
}
