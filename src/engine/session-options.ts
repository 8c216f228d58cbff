import type { InferenceSession } from "onnxruntime-node";

// The options every encoder/decoder session is created with, in one place so
// the benchmark (bench/ort-best.ts) measures polyhead's graphs exactly as the
// workers run them.

/**
 * `shared`: the graph's base weights lie in a file mapped by every session of
 * the model; prepacking would give each session its own packed copy, so it is
 * off there. `spin`: onnxruntime's threads spin-wait between operators (see
 * worker-pool.ts DEFAULT_SPIN).
 */
export function sessionOptions(device: "cpu" | "cuda", intraOpThreads: number, shared: boolean, spin = false): InferenceSession.SessionOptions {
  return {
    // "all" fuses what the graph leaves plain: Add + LayerNormalization into SkipLayerNormalization, the bias
    // Add before Gelu into BiasGelu, the attention scale into the Q·Kᵀ MatMul
    graphOptimizationLevel: "all",
    intraOpNumThreads: intraOpThreads,
    executionProviders: [device],
    extra: { session: { ...(shared ? { disable_prepacking: "1" } : {}), ...(spin ? {} : { "intra_op.allow_spinning": "0" }) } },
  };
}
