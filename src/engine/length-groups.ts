// Cutting a batch's rows into runs of similar lengths. A run is padded to its
// longest row, so one run of lengths 8..128 does mostly padding: about twice
// the work of its real tokens. Many small runs pad little but each pays a
// fixed price (a session run, thread hand-offs, GEMMs too thin for the CPU's
// kernels). Given the rows sorted by length, the cheapest cut into contiguous
// groups is a small dynamic programme.

export interface GroupLimits {
  /** rows per run */
  maxRows: number;
  /** padded tokens per run (rows × longest row) */
  maxTokens: number;
  /**
   * The fixed price of one run, in padded tokens. Measured on bert-base,
   * 2 cores, shared (not prepacked) weights: a run costs ~80 ms plus ~0.95 ms
   * per token (1×8: 87 ms, 1×64: 138 ms, 8×128: 976 ms), since every run
   * streams all the weights through the cache. Both terms grow with the
   * model's size, so the price in tokens hardly depends on the model.
   */
  runCostTokens: number;
}

export const DEFAULT_GROUP_LIMITS: GroupLimits = { maxRows: 32, maxTokens: 8192, runCostTokens: 80 };

/**
 * Cuts lengths sorted ascending into contiguous groups minimising
 * Σ (rows × longest) + runCostTokens × groups within the row and token
 * budgets. Returns the end index (exclusive) of each group.
 */
export function cutByLength(sorted: readonly number[], limits: GroupLimits): number[] {
  const n = sorted.length;
  if (n === 0) return [];
  for (let i = 1; i < n; i++) if (sorted[i] < sorted[i - 1]) throw new Error("cutByLength: lengths must be sorted ascending");
  // best[i]: cheapest cost of the first i rows; from[i]: where its last group starts
  const best = new Float64Array(n + 1).fill(Infinity);
  const from = new Int32Array(n + 1);
  best[0] = 0;
  for (let end = 1; end <= n; end++) {
    const longest = Math.max(1, sorted[end - 1]);
    // a group [start, end) is padded to sorted[end - 1]; widen it backwards while the budgets allow
    for (let start = end - 1; start >= 0; start--) {
      const rows = end - start;
      if (rows > 1 && (rows > limits.maxRows || rows * longest > limits.maxTokens)) break;
      const cost = best[start] + rows * longest + limits.runCostTokens;
      if (cost < best[end]) {
        best[end] = cost;
        from[end] = start;
      }
    }
  }
  const ends: number[] = [];
  for (let end = n; end > 0; end = from[end]) ends.push(end);
  return ends.reverse();
}
