import { GraphBuilder } from "../graph/onnx-builder.ts";
import { activation, gather, linear } from "../graph/ops.ts";

// Prediction heads as their own small graphs over the encoder's output, so the
// encoder graph depends only on the adapter composition. Head weights are
// inputs: one compiled head graph serves every head of the same shape.

export interface HeadShape {
  /** "first" reads the first token, "tokens" every token */
  read: "first" | "tokens";
  pooler: boolean;
  layers: number;
  act: string;
}

export const headKey = (model: string, s: HeadShape) => `${model}|head|${s.read}|${s.pooler}|${s.layers}|${s.act}`;
export const headInput = { w: (i: number) => `w${i}`, b: (i: number) => `b${i}` };

export function buildHead(s: HeadShape): Uint8Array {
  const g = new GraphBuilder();
  const hidden = g.input("hidden", "float32", ["batch", "seq", "width"]);
  let x = s.read === "first" ? gather(hidden, g.constI(0), 1) : hidden;
  if (s.pooler) {
    const w = g.input("pooler_w", "float32", ["width", "width"]);
    const b = g.input("pooler_b", "float32", ["width"]);
    x = g.op("Tanh", [linear(x, w, b)]);
  }
  for (let i = 0; i < s.layers; i++) {
    const w = g.input(headInput.w(i), "float32", [`in${i}`, `out${i}`]);
    const b = g.input(headInput.b(i), "float32", [`out${i}`]);
    x = linear(x, w, b);
    if (i < s.layers - 1) x = activation(x, s.act);
  }
  g.output(x, "logits");
  return g.encode();
}
