import { GraphBuilder } from "./onnx-builder.ts";
import { matmul } from "./ops.ts";

// A tiny graph that multiplies stacks of matrices: weight products computed
// once (per fusion version) on the inference worker instead of in JavaScript.
//   w = a · b   [L, H, H]      bias = c · b   [L, 1, H]
export function buildFold(): Uint8Array {
  const g = new GraphBuilder();
  const a = g.input("a", "float32", ["layers", "h1", "h2"]);
  const b = g.input("b", "float32", ["layers", "h2", "h3"]);
  const c = g.input("c", "float32", ["layers", 1, "h2"]);
  g.output(matmul(a, b), "w");
  g.output(matmul(c, b), "bias");
  return g.encode();
}
