import * as ort from "onnxruntime-node";
import { GraphBuilder, type Value } from "../../src/graph/onnx-builder.ts";
import type { AdapterMethod, ParamFn, PartSpec, Put } from "../../src/methods/method.ts";
import type { TokenMean } from "../../src/methods/gate.ts";

// Runs one method's graph hook alone: a tiny ONNX graph over float inputs,
// with the part's weights fed as the engine feeds a one-adapter run.

export interface Arr {
  dims: number[];
  data: Float32Array;
}

/** The feeds of one adapter's part, keyed "<place>.<param>", without the bank dimension. */
export function partFeeds(method: AdapterMethod<any, any>, spec: PartSpec, part: { config: unknown; weights: unknown }): Record<string, Arr> {
  const out: Record<string, Arr> = {};
  const put: Put = (place, param, parts, shape) => (out[`${place}.${param}`] = { dims: shape, data: parts[0] });
  method.feeds(spec, [part], put);
  return out;
}

export async function runHook(inputs: Record<string, Arr>, params: Record<string, Arr>, build: (v: Record<string, Value>, p: ParamFn) => Value): Promise<Arr> {
  const g = new GraphBuilder();
  const v = Object.fromEntries(Object.entries(inputs).map(([k, a]) => [k, g.input(k, "float32", a.dims)]));
  const p: ParamFn = (place, param, dims) => {
    const name = `${place}.${param}`;
    if (!params[name]) throw new Error(`the hook asked for ${name}, which the method did not feed`);
    return g.input(name, "float32", params[name].dims);
  };
  g.output(build(v, p), "hook_out");
  const session = await ort.InferenceSession.create(g.encode());
  const feeds: Record<string, ort.Tensor> = {};
  for (const [k, a] of Object.entries({ ...inputs, ...params })) if (g.inputNames.has(k)) feeds[k] = new ort.Tensor("float32", a.data, a.dims);
  const out = (await session.run(feeds)).hook_out;
  return { dims: [...out.dims], data: out.data as Float32Array };
}

/** A gate's mean over every position of the input (a run whose rows all fill the padded length). */
export const allTokens: TokenMean = (v) => v.g.op("ReduceMean", [v], { axes: [1], keepdims: 1 });

/** Seeded uniform numbers in [-1, 1). */
export function random(n: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** x·W + b over the last axis, W as [in, out]. */
export function linearJs(x: Float32Array, rows: number, w: { shape: number[]; data: Float32Array }, b: Float32Array | null): Float32Array {
  const [I, O] = w.shape;
  const y = new Float32Array(rows * O);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < O; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < I; i++) s += x[r * I + i] * w.data[i * O + o];
      y[r * O + o] = s;
    }
  return y;
}
