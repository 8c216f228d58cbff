import { readFileSync } from "node:fs";
import type { Tensor } from "../core/tensor.ts";

// Dynamic int8 quantisation of the base model's linear layers (--precision
// int8): each weight is quantised once per model, symmetrically and per
// output column (one scale per column keeps the error of each output at its
// own weights' scale); the activations are quantised by onnxruntime at run
// time (DynamicQuantizeMatMul: uint8, per tensor).

/** How a graph computes the base model's linear layers (fp16: src/graph/half.ts, a pass over an fp32 graph). */
export type Precision = "fp32" | "int8" | "fp16";
export const PRECISIONS: readonly Precision[] = ["fp32", "int8", "fp16"];
export const isPrecision = (s: string): s is Precision => (PRECISIONS as readonly string[]).includes(s);

export interface QuantizedLinear {
  /** [in, out], ready for MatMul */
  q: Int8Array;
  /** [out]: column j of the weight is q[:, j] · scale[j] */
  scale: Float32Array;
}

/**
 * x86 CPUs without VNNI multiply uint8 by int8 with an instruction that adds
 * pairs of products into a saturating int16 (255·127·2 > 32767): onnxruntime's
 * own quantiser offers "reduce_range" for them, 7-bit weights, which cannot
 * saturate. Decided once per process from the CPU's flags.
 */
export function weightBits(): 7 | 8 {
  return (cpuBits ??= cpuWeightBits());
}
let cpuBits: 7 | 8 | undefined;

function cpuWeightBits(): 7 | 8 {
  if (process.arch !== "x64") return 8;
  try {
    return /\b(avx512_vnni|avx_vnni|amx_int8)\b/.test(readFileSync("/proc/cpuinfo", "utf8")) ? 8 : 7;
  } catch {
    // no /proc (macOS, Windows): cannot tell, so the weights that cannot saturate
    return 7;
  }
}

/** One scale per output column of torch's [out, in] weight: its largest |w| maps to the largest code. Kept once per weight tensor and width. */
export function columnScales(w: Tensor, bits: 7 | 8): Float32Array {
  let byBits = scales.get(w);
  if (!byBits) scales.set(w, (byBits = new Map()));
  let scale = byBits.get(bits);
  if (!scale) {
    if (w.shape.length !== 2) throw new Error(`expected a matrix, got shape [${w.shape}]`);
    const [out, inp] = w.shape;
    const qmax = bits === 8 ? 127 : 63;
    scale = new Float32Array(out);
    for (let j = 0; j < out; j++) {
      let m = 0;
      for (let i = j * inp; i < (j + 1) * inp; i++) m = Math.max(m, Math.abs(w.data[i]));
      scale[j] = m > 0 ? m / qmax : 1;
    }
    byBits.set(bits, scale);
  }
  return scale;
}
// only the scales are kept: the int8 weights go to the model's weight file (or into each graph) once
const scales = new WeakMap<Tensor, Map<number, Float32Array>>();

/** torch's [out, in] weight as int8 [in, out] and one scale per output column (symmetric: zero point 0). */
export function quantizeColumns(w: Tensor, bits: 7 | 8 = 8): QuantizedLinear {
  const scale = columnScales(w, bits);
  const [out, inp] = w.shape;
  const qmax = bits === 8 ? 127 : 63;
  const q = new Int8Array(inp * out);
  for (let j = 0; j < out; j++) {
    const s = scale[j];
    for (let i = 0; i < inp; i++) q[i * out + j] = Math.max(-qmax, Math.min(qmax, Math.round(w.data[j * inp + i] / s)));
  }
  return { q, scale };
}
