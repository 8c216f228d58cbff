import type { InferenceSession } from "onnxruntime-node";

// The options every encoder/decoder session is created with, in one place so
// the benchmark (bench/ort-best.ts) measures polyhead's graphs exactly as the
// workers run them.

/**
 * Where the graphs run. `cuda` needs onnxruntime's CUDA provider, which the npm package does not ship (its
 * install script downloads it: ONNXRUNTIME_NODE_INSTALL=cuda12). `webgpu` is in the npm package itself and
 * reaches the GPU through Dawn (Vulkan on Linux, so only libvulkan.so.1 and the GPU's driver are needed).
 */
export const DEVICES = ["cpu", "cuda", "webgpu"] as const;
export type Device = (typeof DEVICES)[number];
export const isDevice = (s: string): s is Device => (DEVICES as readonly string[]).includes(s);

export type Gpu = Exclude<Device, "cpu">;
export const isGpu = (d: Device | undefined): d is Gpu => d !== undefined && d !== "cpu";

/** Each GPU device's name in messages, and what it needs, for the error that stops the server. */
export const GPUS: Record<Gpu, { name: string; needs: string }> = {
  cuda: { name: "CUDA", needs: "onnxruntime's CUDA provider, installed with ONNXRUNTIME_NODE_INSTALL=cuda12 on a CUDA 12 host with cuDNN 9 (infra/Dockerfile.cuda)" },
  webgpu: { name: "WebGPU", needs: "a GPU with a Vulkan driver and the Vulkan loader (libvulkan.so.1, Debian package libvulkan1)" },
};

/**
 * `shared`: the graph's base weights lie in a file mapped by every session of
 * the model; prepacking would give each session its own packed copy, so it is
 * off there. `spin`: onnxruntime's threads spin-wait between operators (see
 * worker-pool.ts DEFAULT_SPIN).
 */
export function sessionOptions(device: Device, intraOpThreads: number, shared: boolean, spin = false): InferenceSession.SessionOptions {
  return {
    // "all" fuses what the graph leaves plain: Add + LayerNormalization into SkipLayerNormalization, the bias
    // Add before Gelu into BiasGelu, the attention scale into the Q·Kᵀ MatMul
    graphOptimizationLevel: "all",
    intraOpNumThreads: intraOpThreads,
    executionProviders: [device],
    extra: { session: { ...(shared ? { disable_prepacking: "1" } : {}), ...(spin ? {} : { "intra_op.allow_spinning": "0" }) } },
  };
}
