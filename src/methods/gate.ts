import { linear } from "../graph/ops.ts";
import type { Value } from "../graph/onnx-builder.ts";
import { linearOf, type Linear } from "../formats/linear.ts";
import type { StateDict } from "../core/tensor.ts";
import { under } from "./method.ts";

// The learned gates of UniPELT (Mao et al.), as AdapterHub 3.2.1 computes
// them for LoRA, prefix tuning and bottleneck adapters alike:
// g = mean over the sequence of sigmoid(W_g x + b_g), one number per row (two
// for a prefix without shared_gating). The mean runs over every position of
// the padded batch the library was given, padding included, so polyhead
// averages over the positions of the row's own request (see TokenMean).

/** [N, T, k] → [N, 1, k]: the mean over the positions AdapterHub's batch had for this row. */
export type TokenMean = (v: Value) => Value;

/** The plain mean over axis 1, for inputs that are not the token sequence (DeBERTa's relative embeddings). */
export const meanOfAllRows: TokenMean = (v) => v.g.op("ReduceMean", [v], { axes: [1], keepdims: 1 });

/** The gate Linear(in, outs) at `module` (stored [in, outs]). */
export function readGate(keys: StateDict, module: string, what: string, inDim: number | null, outs: number): Linear {
  const w = under(keys, module);
  if (!w.has("weight")) throw new Error(`${what}: use_gating is set but the file has no gate (expected ${module}.weight)`);
  return linearOf(w, "", what, inDim, outs);
}

/** g(x): [N, 1, outs]. */
export function gateGraph(x: Value, weight: Value, bias: Value, mean: TokenMean): Value {
  return mean(x.g.op("Sigmoid", [linear(x, weight, bias)]));
}
