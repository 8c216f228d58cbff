import { buildHead, headInput, headKey } from "../heads/graph.ts";
import type { WorkerPool } from "./worker-pool.ts";

/**
 * Runs one tiny graph (a one-layer head over a 1×1×2 input) on the pool's device: rejects with the pool's error
 * (which names what the device needs) when the device is unusable. The server runs it before it listens, the GPU
 * benchmark before it measures.
 */
export async function probeDevice(pool: WorkerPool): Promise<void> {
  const shape = { read: "first", pooler: false, layers: 1, act: "tanh" } as const;
  const f32 = (...dims: number[]) => ({ type: "float32" as const, dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) });
  await pool.run({ graphKey: `probe|${headKey("probe", shape)}`, model: buildHead(shape), feeds: { hidden: f32(1, 1, 2), [headInput.w(0)]: f32(2, 2), [headInput.b(0)]: f32(2) } });
}
