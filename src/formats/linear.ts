import type { Tensor } from "../core/tensor.ts";

// Linear layers and LayerNorms as the methods and heads read them from state
// dicts: weights transposed to [in, out] once, so graphs use MatMul as is.

export interface Linear {
  /** [in, out] */
  w: Tensor;
  b: Tensor | null;
}
export interface Norm {
  gamma: Tensor;
  beta: Tensor;
}

/** A state dict's part: keys relative to some module path. */
export type Params = Map<string, Tensor>;

export function transpose2d(t: Tensor): Tensor {
  if (t.shape.length !== 2) throw new Error(`expected a matrix, got shape [${t.shape}]`);
  const [r, c] = t.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return { shape: [c, r], data: out };
}

export function need(params: Params, key: string, what: string): Tensor {
  const t = params.get(key);
  if (!t) throw new Error(`${what}: missing weight "${key}"`);
  return t;
}

export function checkShape(t: Tensor, shape: number[], what: string) {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${what}: shape [${t.shape}] does not fit the model, expected [${shape}]`);
  }
}

/** torch's Linear at `base` (weight [out, in], optional bias), checked against the expected sizes. */
export function linearOf(params: Params, base: string, what: string, inDim: number | null, outDim: number | null, bias = true): Linear {
  const key = (leaf: string) => (base ? `${base}.${leaf}` : leaf);
  const w = need(params, key("weight"), what);
  if (w.shape.length !== 2) throw new Error(`${what}: ${key("weight")} must be a matrix`);
  if (inDim !== null && w.shape[1] !== inDim) throw new Error(`${what}: ${key("weight")} has input size ${w.shape[1]}, expected ${inDim}`);
  if (outDim !== null && w.shape[0] !== outDim) throw new Error(`${what}: ${key("weight")} has output size ${w.shape[0]}, expected ${outDim}`);
  const b = bias ? params.get(key("bias")) ?? null : null;
  if (b) checkShape(b, [w.shape[0]], `${what} ${key("bias")}`);
  // The bias is copied like the weight: a view would keep the whole file's buffer alive for a few floats.
  return { w: transpose2d(w), b: b ? { shape: b.shape, data: b.data.slice() } : null };
}

export function normOf(params: Params, base: string, what: string, width: number): Norm {
  const gamma = need(params, `${base}.weight`, what);
  const beta = need(params, `${base}.bias`, what);
  checkShape(gamma, [width], what);
  checkShape(beta, [width], what);
  return { gamma, beta };
}

/** The bias as a vector, zeros when the layer has none. */
export const biasOf = (l: Linear): Float32Array => l.b?.data ?? new Float32Array(l.w.shape[1]);
