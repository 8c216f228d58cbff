import { MS, type Value } from "./onnx-builder.ts";

// Thin helpers over ONNX ops so graph code reads like the equations in
// ADAPTER-MATH.md.

export const add = (a: Value, b: Value) => a.g.op("Add", [a, b]);
export const sub = (a: Value, b: Value) => a.g.op("Sub", [a, b]);
export const mul = (a: Value, b: Value) => a.g.op("Mul", [a, b]);
export const div = (a: Value, b: Value) => a.g.op("Div", [a, b]);
export const matmul = (a: Value, b: Value) => a.g.op("MatMul", [a, b]);
export const gather = (data: Value, idx: Value, axis = 0) => data.g.op("Gather", [data, idx], { axis });
export const softmax = (x: Value, axis = -1) => x.g.op("Softmax", [x], { axis });
export const transpose = (x: Value, perm: number[]) => x.g.op("Transpose", [x], { perm });
export const reshape = (x: Value, shape: number[]) => x.g.op("Reshape", [x, x.g.constI(shape)]);
export const unsqueeze = (x: Value, axes: number[]) => x.g.op("Unsqueeze", [x, x.g.constI(axes)]);
export const squeeze = (x: Value, axes: number[]) => x.g.op("Squeeze", [x, x.g.constI(axes)]);
export const concat = (xs: Value[], axis: number) => xs[0].g.op("Concat", xs, { axis });
export const reduceSum = (x: Value, axes: number[], keepdims = 0) => x.g.op("ReduceSum", [x, x.g.constI(axes)], { keepdims });
export const scale = (x: Value, s: number) => (s === 1 ? x : mul(x, x.g.constF(s)));

/** x·W + b where W is stored [in, out] (already transposed from torch's [out, in]). */
export function linear(x: Value, w: Value, b: Value | null): Value {
  const y = matmul(x, w);
  return b ? add(y, b) : y;
}

export function layerNorm(x: Value, gamma: Value, beta: Value, eps: number): Value {
  return x.g.op("LayerNormalization", [x, gamma, beta], { axis: -1, epsilon: eps });
}

/**
 * Activation functions by the names transformers' get_activation (and
 * AdapterHub's Activation_Function_Class) accept.
 */
export function activation(x: Value, name: string): Value {
  const g = x.g;
  switch (name.toLowerCase()) {
    case "relu":
      return g.op("Relu", [x]);
    case "tanh":
      return g.op("Tanh", [x]);
    case "sigmoid":
      return g.op("Sigmoid", [x]);
    case "swish":
    case "silu":
      return mul(x, g.op("Sigmoid", [x]));
    case "gelu":
    case "gelu_python":
    case "gelu_orig":
      // exact erf GELU, as torch.nn.functional.gelu: onnxruntime's own op, one pass over the tensor where
      // Erf and its four Mul/Add took five (ONNX's Gelu needs opset 20); a bias Add before it fuses into
      // BiasGelu
      return g.op("Gelu", [x], {}, undefined, MS);
    case "gelu_new":
    case "gelu_fast":
    case "gelu_pytorch_tanh":
    case "gelu_accurate": {
      const inner = mul(add(x, mul(g.constF(0.044715), mul(x, mul(x, x)))), g.constF(Math.sqrt(2 / Math.PI)));
      return mul(mul(x, g.constF(0.5)), add(g.op("Tanh", [inner]), g.constF(1)));
    }
    case "quick_gelu":
      return mul(x, g.op("Sigmoid", [mul(x, g.constF(1.702))]));
    case "leakyrelu":
    case "leaky_relu":
      return g.op("LeakyRelu", [x], { alpha: 0.01 });
    case "linear":
    case "identity":
      return x;
    case "relu6":
      return g.op("Clip", [x, g.constF(0), g.constF(6)]);
    case "mish":
      return mul(x, g.op("Tanh", [g.op("Softplus", [x])]));
    default:
      throw new Error(`unsupported activation function "${name}"`);
  }
}

export const ACTIVATIONS = [
  "relu", "tanh", "sigmoid", "swish", "silu", "gelu", "gelu_python", "gelu_orig", "gelu_new", "gelu_fast",
  "gelu_pytorch_tanh", "gelu_accurate", "quick_gelu", "leakyrelu", "leaky_relu", "linear", "identity", "relu6", "mish",
];

/** T5's LayerNorm: x / √(mean(x²) + eps) · γ (no mean subtracted, no bias). */
export function rmsNorm(x: Value, gamma: Value, eps: number): Value {
  const g = x.g;
  const variance = g.op("ReduceMean", [mul(x, x)], { axes: [-1], keepdims: 1 });
  return mul(div(x, g.op("Sqrt", [add(variance, g.constF(eps))])), gamma);
}
