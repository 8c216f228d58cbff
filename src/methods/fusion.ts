import { z } from "zod";
import { SavedConfig, trainedOn } from "../formats/saved-config.ts";
import { add, linear, matmul, mul, reduceSum, scale, softmax, squeeze, unsqueeze, concat } from "../graph/ops.ts";
import type { Value } from "../graph/onnx-builder.ts";
import { biasOf, linearOf, transpose2d, type Linear } from "../formats/linear.ts";
import type { Tensor } from "../core/tensor.ts";
import { LOCATIONS, type Family, type ModelConfig } from "../families/index.ts";
import { placeKey, sortedPlaces, under, type ParamFn, type Put } from "./method.ts";

// AdapterFusion (Pfeiffer et al. 2021): at each adapter location, attention
// over the fused adapters' outputs with learned query, key and value maps.
// Read from adapter_fusion_config.json + the fusion weight file; the graph
// function is called by graph/composition.ts with the fused adapters' outputs.

export interface FusionConfig {
  name: string;
  query: boolean;
  key: boolean;
  value: boolean;
  queryBeforeLn: boolean;
  residualBefore: boolean;
  temperature: boolean;
  valueBeforeSoftmax: boolean;
  hiddenSize: number | null;
  modelType: string | null;
  modelName: string | null;
}

export interface FusionPlace {
  query: Linear | null;
  key: Linear | null;
  value: Linear | null;
}
export type FusionWeights = Map<string, FusionPlace>;

/** Per place, W_q·W_k and b_q·W_k as one linear map (computed once per fusion, see the engine). */
export type FoldedQK = Map<string, { w: Tensor; b: Tensor }>;

export interface FusionShape {
  query: boolean;
  key: boolean;
  value: boolean;
  queryBeforeLn: boolean;
  residualBefore: boolean;
  /** 1, or 50 for fusions trained with `temperature` (a freshly loaded model's value) */
  temperature: number;
}

const bool = z.boolean();
const Schema = z.strictObject({
  key: bool,
  query: bool,
  value: bool,
  query_before_ln: bool.default(false),
  residual_before: bool.default(false),
  temperature: bool.default(false),
  value_before_softmax: bool.default(true),
});

/** Options of a fusion config that change nothing at inference time. */
const TRAINING_ONLY = new Set(["dropout", "dropout_prob", "regularization", "value_initialized", "dtype"]);

export function parseFusionConfig(json: unknown): FusionConfig {
  const env = SavedConfig.parse(json);
  const rest = Object.fromEntries(Object.entries(env.config).filter(([k]) => !TRAINING_ONLY.has(k)));
  const c = Schema.parse(rest);
  return {
    name: env.name,
    query: c.query,
    key: c.key,
    value: c.value,
    queryBeforeLn: c.query_before_ln,
    residualBefore: c.residual_before,
    temperature: c.temperature,
    valueBeforeSoftmax: c.value_before_softmax,
    ...trainedOn(env),
  };
}

export function readFusionWeights(keys: Map<string, Tensor>, c: FusionConfig, family: Family, model: ModelConfig): FusionWeights {
  const H = model.hidden;
  const places: FusionWeights = new Map();
  for (let l = 0; l < model.layers; l++) {
    for (const loc of LOCATIONS) {
      const at = family.adapterModule(l, loc, model);
      if (at === null) continue;
      const w = under(keys, `${at}.adapter_fusion_layer.${c.name}`);
      if (w.size === 0) continue;
      const what = `fusion "${c.name}" layer ${l} ${loc}`;
      places.set(placeKey(l, loc), {
        query: c.query ? linearOf(w, "query", what, H, H) : null,
        key: c.key ? linearOf(w, "key", what, H, H) : null,
        value: c.value ? linearOf(w, "value", what, H, H, false) : null,
      });
    }
  }
  if (places.size === 0) throw new Error(`fusion "${c.name}": no weights found for it in the file`);
  return places;
}

export function fusionShape(c: FusionConfig): FusionShape {
  return { query: c.query, key: c.key, value: c.value, queryBeforeLn: c.queryBeforeLn, residualBefore: c.residualBefore, temperature: c.temperature ? 50 : 1 };
}

export const fusionPlaces = (w: FusionWeights) => sortedPlaces(w.keys());

/** What a fusion slot's bank holds per member. */
export interface FusionMember {
  weights: FusionWeights;
  /** set when the fusion has both query and key */
  folded: FoldedQK | null;
}

export function fusionFeeds(shape: FusionShape, places: string[], bank: FusionMember[], put: Put) {
  for (const place of places) {
    const ps = bank.map((f) => f.weights.get(place)!);
    // a folded fusion no longer holds its query and key
    const H = (bank[0].folded?.get(place) ?? ps[0].query ?? ps[0].key ?? ps[0].value)!.w.shape[0];
    if (shape.query && shape.key) {
      const folded = bank.map((f) => {
        const x = f.folded?.get(place);
        if (!x) throw new Error("internal: a fusion with query and key was not folded");
        return x;
      });
      put(place, "qk_w", folded.map((x) => x.w.data), [H, H]);
      put(place, "qk_b", folded.map((x) => x.b.data), [H]);
    } else if (shape.query) {
      put(place, "q_w", ps.map((p) => p.query!.w.data), [H, H]);
      put(place, "q_b", ps.map((p) => biasOf(p.query!)), [H]);
    } else if (shape.key) {
      // The graph uses W_k in torch's [out, in] layout: (W_kᵀ q) is q·W_k.
      put(place, "k_w", ps.map((p) => transpose2d(p.key!.w).data), [H, H]);
    }
    if (shape.value) put(place, "v_w", ps.map((p) => p.value!.w.data), [H, H]);
  }
}

/**
 * The fusion at one place: the fused adapters' up-projections `ups`
 * ([N, T, H] each), the query and residual from the last adapter's
 * pre_forward; returns the fused output and the softmax weights [N, T, F].
 */
export function fuseGraph(
  f: FusionShape,
  p: ParamFn,
  place: string,
  ups: Value[],
  query: Value,
  residual: Value,
  mask: Value | null,
): { out: Value; probs: Value } {
  let U = concat(ups.map((u) => unsqueeze(u, [2])), 2); // [N, T, F, H]
  if (f.residualBefore) U = add(U, unsqueeze(residual, [2]));
  // score_i = q·(W_k u_i + b_k) = (W_kᵀ q)·u_i + q·b_k; the last term is the
  // same for every adapter, so the softmax ignores it. With both query and
  // key, W_kᵀ(W_q x + b_q) is one folded linear map.
  const qk =
    f.query && f.key ? linear(query, p(place, "qk_w", ["hidden", "hidden"]), p(place, "qk_b", ["hidden"]))
    : f.query ? linear(query, p(place, "q_w", ["hidden", "hidden"]), p(place, "q_b", ["hidden"]))
    : f.key ? matmul(query, p(place, "k_w", ["hidden", "hidden"]))
    : query;
  let scores = reduceSum(mul(U, unsqueeze(qk, [2])), [3]); // [N, T, F]
  if (f.temperature !== 1) scores = scale(scores, 1 / f.temperature);
  if (mask) scores = add(scores, unsqueeze(mask, [1]));
  const probs = softmax(scores);
  // Σ p_i W_v u_i = W_v Σ p_i u_i: one product instead of one per adapter.
  let out = squeeze(matmul(unsqueeze(probs, [2]), U), [2]);
  if (f.value) out = matmul(out, p(place, "v_w", ["hidden", "hidden"]));
  if (!f.residualBefore) out = add(out, residual);
  return { out, probs };
}

/** Inputs of the fold graph (w = a·b, bias = c·b per layer) for a fusion with query and key. */
export function foldInputs(w: FusionWeights): { places: string[]; H: number; a: Float32Array; b: Float32Array; c: Float32Array } {
  const places = [...w.keys()];
  const H = w.get(places[0])!.query!.w.shape[0];
  const a = new Float32Array(places.length * H * H);
  const b = new Float32Array(places.length * H * H);
  const c = new Float32Array(places.length * H);
  places.forEach((place, i) => {
    const x = w.get(place)!;
    a.set(x.query!.w.data, i * H * H); // W_q' [in, out]
    b.set(transpose2d(x.key!.w).data, i * H * H); // W_k [out, in]
    c.set(biasOf(x.query!), i * H);
  });
  return { places, H, a, b, c };
}
