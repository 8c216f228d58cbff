import { checkShape, need, type Linear, type Params } from "../formats/linear.ts";
import type { Tensor } from "../core/tensor.ts";

// Compacter's PHM layers (parameterized hypercomplex multiplication, Karimi
// Mahabadi et al.), as AdapterHub 3.2.1's PHMLayer computes them:
//   W = Σ_i rule_i ⊗ W_i,  y = x·W + b,
// rule_i [n, n] (or rule_left_i · rule_right_i), W_i [in/n, out/n] (or
// W_left_i · W_right_i, of rank phm_rank). The sum of Kronecker products is a
// plain [in, out] matrix: it is built once, when the adapter is read, and the
// adapter is then served as a bottleneck adapter with those matrices (so a
// Compacter shares its compiled graph with same-shaped bottleneck adapters).

/** The options of a bottleneck config that say where a PHM layer's factors are. */
export interface PhmOptions {
  sharedPhmRule: boolean;
  sharedWPhm: boolean;
}

/** A PHM layer saved under `base` (adapter_down.0, adapter_up), as a dense Linear [in, out]. */
export function phmLinearOf(w: Params, base: string, what: string, inDim: number | null, outDim: number | null, o: PhmOptions): Linear {
  const at = (leaf: string) => `${base}.${leaf}`;
  const rule = w.has(at("phm_rule"))
    ? need(w, at("phm_rule"), what)
    : w.has(at("phm_rule_left"))
      ? bmm(need(w, at("phm_rule_left"), what), need(w, at("phm_rule_right"), what), `${what} ${at("phm_rule_left")}`)
      : null;
  if (!rule) {
    if (o.sharedPhmRule) {
      throw new Error(
        `${what}: shared_phm_rule is set, and the shared PHM rule is not in the file: AdapterHub 3.2.1 does not save it (its shared parameters are re-initialised at load), so this adapter cannot be reproduced; only Compacters trained with shared_phm_rule false can be served`,
      );
    }
    throw new Error(`${what}: missing weight "${at("phm_rule")}"`);
  }
  const W = w.has(at("W")) ? need(w, at("W"), what) : w.has(at("W_left")) ? bmm(need(w, at("W_left"), what), need(w, at("W_right"), what), `${what} ${at("W_left")}`) : null;
  if (!W) {
    if (o.sharedWPhm) throw new Error(`${what}: shared_W_phm is set, and the shared PHM weights are not in the file: AdapterHub 3.2.1 does not save them, so this adapter cannot be reproduced`);
    throw new Error(`${what}: missing weight "${at("W")}" (or W_left / W_right)`);
  }
  const n = rule.shape[0];
  checkShape(rule, [n, n, n], `${what} PHM rule`);
  if (W.shape.length !== 3 || W.shape[0] !== n) throw new Error(`${what}: PHM weights have shape [${W.shape}], expected [${n}, in/${n}, out/${n}]`);
  const [, a, b] = W.shape;
  const I = n * a;
  const O = n * b;
  if (inDim !== null && I !== inDim) throw new Error(`${what}: PHM layer has input size ${I}, expected ${inDim}`);
  if (outDim !== null && O !== outDim) throw new Error(`${what}: PHM layer has output size ${O}, expected ${outDim}`);
  const out = new Float32Array(I * O);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < n; p++)
      for (let q = 0; q < n; q++) {
        const c = rule.data[(i * n + p) * n + q];
        if (c === 0) continue;
        for (let r = 0; r < a; r++)
          for (let s = 0; s < b; s++) out[(p * a + r) * O + q * b + s] += c * W.data[(i * a + r) * b + s];
      }
  const bias = w.get(at("b")) ?? null;
  if (bias) checkShape(bias, [O], `${what} ${at("b")}`);
  return { w: { shape: [I, O], data: out }, b: bias };
}

/** Batched matrix product [k, m, r] · [k, r, n] → [k, m, n] (torch.bmm). */
function bmm(x: Tensor, y: Tensor, what: string): Tensor {
  const [k, m, r] = x.shape;
  if (x.shape.length !== 3 || y.shape.length !== 3 || y.shape[0] !== k || y.shape[1] !== r) throw new Error(`${what}: factors of shapes [${x.shape}] and [${y.shape}] do not multiply`);
  const n = y.shape[2];
  const out = new Float32Array(k * m * n);
  for (let i = 0; i < k; i++)
    for (let u = 0; u < m; u++)
      for (let v = 0; v < n; v++) {
        let s = 0;
        for (let j = 0; j < r; j++) s += x.data[(i * m + u) * r + j] * y.data[(i * r + j) * n + v];
        out[(i * m + u) * n + v] = s;
      }
  return { shape: [k, m, n], data: out };
}
