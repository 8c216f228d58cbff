import { z } from "zod";
import { ACTIVATIONS, activation, add, layerNorm, linear, mul } from "../graph/ops.ts";
import type { Value } from "../graph/onnx-builder.ts";
import { biasOf, linearOf, need, normOf, type Linear, type Norm } from "../formats/linear.ts";
import { LOCATIONS, LOCATION_NAMES, type Location } from "../families/index.ts";
import { phmLinearOf, type PhmOptions } from "./phm.ts";
import { gateGraph, readGate, type TokenMean } from "./gate.ts";
import { placeKey, sortedPlaces, under, type AdapterMethod, type ParamFn, type PartSpec } from "./method.ts";

// Bottleneck adapters (Houlsby, Pfeiffer, Bapna & Firat, parallel adapters,
// Compacter's PHM projections, UniPELT's gated adapter):
// down-projection, activation, up-projection at AdapterHub's two locations
// per layer, with the library's residual and LayerNorm options. The graph
// functions mirror AdapterHub's Adapter.pre_forward / forward / post_forward;
// graph/composition.ts calls them for stacks, fusions and averages.

export interface BottleneckConfig {
  mhAdapter: boolean;
  outputAdapter: boolean;
  /** after a decoder's cross-attention */
  crossAdapter: boolean;
  reductionFactor: number | Record<string, number>;
  nonLinearity: string;
  originalLnBefore: boolean;
  originalLnAfter: boolean;
  residualBeforeLn: boolean;
  adapterResidualBeforeLn: boolean;
  lnBefore: boolean;
  lnAfter: boolean;
  scaling: number | "learned";
  isParallel: boolean;
  leaveOut: number[];
  /** UniPELT's learned gate on the adapter's output */
  gated: boolean;
  /** Compacter: the projections are PHM layers */
  phm: PhmOptions | null;
}

export interface BottleneckPlace {
  down: Linear;
  up: Linear;
  normBefore: Norm | null;
  normAfter: Norm | null;
  scaling: number;
  gate: Linear | null;
}

export type BottleneckWeights = Map<string, BottleneckPlace>;

/** What of a bottleneck changes the graph. */
export interface BottleneckShape {
  lnBefore: boolean;
  lnAfter: boolean;
  originalLnBefore: boolean;
  originalLnAfter: boolean;
  residualBeforeLn: boolean;
  adapterResidualBeforeLn: boolean;
  isParallel: boolean;
  act: string;
  gated: boolean;
}

export const Activation = z.string().refine((s) => ACTIVATIONS.includes(s.toLowerCase()), {
  message: `unsupported activation (supported: ${ACTIVATIONS.join(", ")})`,
});

const bool = z.boolean();

const Schema = z.strictObject({
  architecture: z.literal("bottleneck").optional(),
  mh_adapter: bool,
  output_adapter: bool,
  reduction_factor: z.union([z.number().positive(), z.record(z.string(), z.number().positive())]),
  non_linearity: Activation,
  original_ln_before: bool.default(false),
  original_ln_after: bool.default(true),
  residual_before_ln: z.union([z.boolean(), z.literal("post_add")]).default(true),
  adapter_residual_before_ln: bool.default(false),
  ln_before: bool.default(false),
  ln_after: bool.default(false),
  scaling: z.union([z.number(), z.literal("learned")]).default(1.0),
  is_parallel: bool.default(false),
  leave_out: z.array(z.number().int().nonnegative()).default([]),
  // read by the invertible method
  inv_adapter: z.unknown().optional(),
  inv_adapter_reduction_factor: z.unknown().optional(),
  cross_adapter: bool.default(false),
  use_gating: bool.default(false),
  phm_layer: bool.default(false),
  // where a PHM layer's factors are: shared ones are not saved by AdapterHub 3.2.1 (see phm.ts)
  shared_phm_rule: bool.default(true),
  shared_W_phm: bool.default(false),
});

const wanted = (c: BottleneckConfig, loc: Location) => (loc === "mh" ? c.mhAdapter : loc === "cross" ? c.crossAdapter : c.outputAdapter);

export const bottleneck: AdapterMethod<BottleneckConfig, BottleneckWeights> = {
  name: "bottleneck",
  composable: true,

  parse(config) {
    if ((config.architecture ?? "bottleneck") !== "bottleneck") return null;
    if (config.residual_before_ln === "post_add") throw new Error(`residual_before_ln "post_add" is not supported`);
    const c = Schema.parse(config);
    // AdapterHub would build no module at all: serving it would silently answer as the bare model.
    if (!c.mh_adapter && !c.output_adapter) throw new Error("mh_adapter and output_adapter are both false: the adapter would have no bottleneck anywhere (set at least one to true)");
    return {
      mhAdapter: c.mh_adapter,
      outputAdapter: c.output_adapter,
      crossAdapter: c.cross_adapter,
      reductionFactor: c.reduction_factor,
      nonLinearity: c.non_linearity.toLowerCase(),
      originalLnBefore: c.original_ln_before,
      originalLnAfter: c.original_ln_after,
      residualBeforeLn: c.residual_before_ln === true,
      adapterResidualBeforeLn: c.adapter_residual_before_ln,
      lnBefore: c.ln_before,
      lnAfter: c.ln_after,
      scaling: c.scaling,
      isParallel: c.is_parallel,
      leaveOut: c.leave_out,
      gated: c.use_gating,
      phm: c.phm_layer ? { sharedPhmRule: c.shared_phm_rule, sharedWPhm: c.shared_W_phm } : null,
    };
  },

  read({ family, model, name, keys }, c) {
    const hidden = model.hidden;
    const places: BottleneckWeights = new Map();
    for (let l = 0; l < model.layers; l++) {
      if (c.leaveOut.includes(l)) continue;
      for (const loc of LOCATIONS) {
        const at = family.adapterModule(l, loc, model);
        if (!wanted(c, loc) || at === null) continue;
        const module = `${at}.adapters.${name}`;
        const what = `adapter "${name}" layer ${l} ${LOCATION_NAMES[loc]}`;
        const w = under(keys, module);
        if (w.size === 0) throw new Error(`${what}: no weights (expected keys like ${module}.adapter_down...)`);
        // With ln_before the down projection is index 1 of the Sequential (index 0 is the LayerNorm).
        const downAt = `adapter_down.${c.lnBefore ? 1 : 0}`;
        const down = c.phm ? phmLinearOf(w, downAt, what, hidden, null, c.phm) : linearOf(w, downAt, what, hidden, null);
        const up = c.phm ? phmLinearOf(w, "adapter_up", what, down.w.shape[1], hidden, c.phm) : linearOf(w, "adapter_up", what, down.w.shape[1], hidden);
        const gate = c.gated ? readGate(keys, `${module}.gate`, what, hidden, 1) : null;
        const normBefore = c.lnBefore ? normOf(w, w.has("adapter_norm_before.weight") ? "adapter_norm_before" : "adapter_down.0", what, hidden) : null;
        const normAfter = c.lnAfter ? normOf(w, "adapter_norm_after", what, hidden) : null;
        let scaling: number;
        if (c.scaling === "learned") {
          const s = need(w, "scaling", what);
          if (s.data.length !== 1) throw new Error(`${what}: learned scaling must hold one number`);
          scaling = s.data[0];
        } else scaling = c.scaling;
        places.set(placeKey(l, loc), { down, up, normBefore, normAfter, scaling, gate });
      }
    }
    return places;
  },

  spec(c, w) {
    const places = sortedPlaces(w.keys());
    const shape: BottleneckShape = {
      lnBefore: c.lnBefore,
      lnAfter: c.lnAfter,
      originalLnBefore: c.originalLnBefore,
      originalLnAfter: c.originalLnAfter,
      residualBeforeLn: c.residualBeforeLn,
      adapterResidualBeforeLn: c.adapterResidualBeforeLn,
      isParallel: c.isParallel,
      act: c.nonLinearity,
      gated: c.gated,
    };
    return { method: "bottleneck", places, dims: places.map((p) => w.get(p)!.down.w.shape[1]), shape: { ...shape } };
  },

  feeds(spec, bank, put) {
    const shape = spec.shape as unknown as BottleneckShape;
    for (const place of spec.places) {
      const ps = bank.map((m) => m.weights.get(place)!);
      const [H, r] = ps[0].down.w.shape;
      put(place, "down_w", ps.map((p) => p.down.w.data), [H, r]);
      put(place, "down_b", ps.map((p) => biasOf(p.down)), [r]);
      // scaling folded in: s·(W d + b) = (sW) d + sb, one elementwise pass less per location
      const scaled = (x: Float32Array, s: number) => (s === 1 ? x : x.map((v) => v * s));
      put(place, "up_w", ps.map((p) => scaled(p.up.w.data, p.scaling)), [r, H]);
      put(place, "up_b", ps.map((p) => scaled(biasOf(p.up), p.scaling)), [H]);
      if (shape.lnBefore) {
        put(place, "nb_g", ps.map((p) => p.normBefore!.gamma.data), [H]);
        put(place, "nb_b", ps.map((p) => p.normBefore!.beta.data), [H]);
      }
      if (shape.gated) {
        put(place, "gate_w", ps.map((p) => p.gate!.w.data), [H, 1]);
        put(place, "gate_b", ps.map((p) => biasOf(p.gate!)), [1]);
      }
      if (shape.lnAfter) {
        put(place, "na_g", ps.map((p) => p.normAfter!.gamma.data), [H]);
        put(place, "na_b", ps.map((p) => p.normAfter!.beta.data), [H]);
      }
    }
  },
};

// ---- graph: AdapterHub's Adapter.pre_forward / forward / post_forward ------

/** What the skeleton knows at one adapter location. */
export interface LocationContext {
  place: string;
  /** the block's input (the residual of "LayerNorm(h + x)") */
  x: Value;
  /** the block's own LayerNorm */
  ln: (v: Value) => Value;
  hidden: number;
  /** the mean over a row's positions that gates take */
  mean: TokenMean;
}

export interface FlowState {
  hidden: Value;
  residual: Value;
  /** the last adapter's up-projection (what a fusion fuses) */
  up: Value | null;
  /** slot of the last bottleneck applied; its post_forward closes the location */
  last: number | null;
}

export const shapeOf = (spec: PartSpec) => spec.shape as unknown as BottleneckShape;

/** Adapter.pre_forward: (hidden, query, residual). */
export function preForward(s: BottleneckShape, hidden: Value, ctx: LocationContext, queryBeforeLn = false) {
  if (s.isParallel) return { hidden: ctx.x, query: ctx.x, residual: ctx.x };
  const z = s.originalLnBefore ? ctx.ln(add(hidden, ctx.x)) : hidden;
  return { hidden: z, query: queryBeforeLn ? hidden : z, residual: s.residualBeforeLn ? hidden : z };
}

/** An adapter's own LayerNorm (torch's default eps); per-row gamma and beta are applied after normalising. */
function norm(p: ParamFn, place: string, which: "nb" | "na", v: Value, H: number): Value {
  const g = v.g;
  const unit = layerNorm(v, g.constF(new Array(H).fill(1)), g.constF(new Array(H).fill(0)), 1e-5);
  return add(mul(unit, p(place, `${which}_g`, ["hidden"])), p(place, `${which}_b`, ["hidden"]));
}

/** Adapter.forward: the bottleneck, its scaling (folded into W_up), its own residual and LayerNorm. */
export function forward(s: BottleneckShape, p: ParamFn, slot: number, st: FlowState, ctx: LocationContext): FlowState {
  const { place, hidden: H } = ctx;
  let d = st.hidden;
  if (s.lnBefore) d = norm(p, place, "nb", d, H);
  d = activation(linear(d, p(place, "down_w", ["hidden", "r"]), p(place, "down_b", ["r"])), s.act);
  const up = linear(d, p(place, "up_w", ["r", "hidden"]), p(place, "up_b", ["hidden"]));
  // the gate reads the adapter's input; a fusion fuses the ungated up-projection, as the library returns it
  let out = s.gated ? mul(up, gateGraph(st.hidden, p(place, "gate_w", ["hidden", 1]), p(place, "gate_b", [1]), ctx.mean)) : up;
  if (s.isParallel) {
    if (s.lnAfter) out = norm(p, place, "na", out, H);
  } else {
    if (s.adapterResidualBeforeLn) out = add(out, st.residual);
    if (s.lnAfter) out = norm(p, place, "na", out, H);
    if (!s.adapterResidualBeforeLn) out = add(out, st.residual);
  }
  return { hidden: out, residual: st.residual, up, last: slot };
}

/** Adapter.post_forward: the block's own residual and LayerNorm, as configured. */
export function postForward(s: BottleneckShape, hidden: Value, h0: Value, ctx: LocationContext): Value {
  if (s.isParallel) hidden = add(hidden, h0);
  return s.originalLnAfter ? ctx.ln(add(hidden, ctx.x)) : hidden;
}
