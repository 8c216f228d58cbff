import type { Value } from "./onnx-builder.ts";
import { add, concat, gather, reduceSum, reshape, sub, transpose, unsqueeze } from "./ops.ts";

// T5's relative position bias: each attention score gets a learned bias per head, looked up by the bucket of
// the distance key − query (exact buckets for small distances, logarithmic ones up to max_distance, one bucket
// beyond). The bucket of every distance in [−maxDistance, maxDistance] is computed here once, with the
// library's float32 arithmetic, and the graph looks distances up in that table; larger distances are clipped
// to it, where the bucket no longer changes.

/** transformers' T5Attention._relative_position_bucket for one distance (memory − query), in float32 as torch computes it. */
export function relativeBucket(distance: number, bidirectional: boolean, buckets: number, maxDistance: number): number {
  const f = Math.fround;
  let bucket = 0;
  let n = buckets;
  let d = distance;
  if (bidirectional) {
    n = Math.floor(n / 2);
    if (d > 0) bucket += n;
    d = Math.abs(d);
  } else d = -Math.min(d, 0);
  const exact = Math.floor(n / 2);
  if (d < exact) return bucket + d;
  // torch: log(float32(d) / exact) / float32(log(maxDistance / exact)) * (n − exact), each step in float32, then truncated
  const large = exact + Math.trunc(f(f(f(Math.log(f(d / exact))) / f(Math.log(maxDistance / exact))) * (n - exact)));
  return bucket + Math.min(large, n - 1);
}

/** Buckets of the distances −reach … reach. */
export function bucketTable(bidirectional: boolean, buckets: number, maxDistance: number, reach = maxDistance + 1): number[] {
  return Array.from({ length: 2 * reach + 1 }, (_, i) => relativeBucket(i - reach, bidirectional, buckets, maxDistance));
}

/**
 * The bias [N, heads, S, K] of queries at positions `queries` [N, S] over keys at positions `keys` [N or 1, K],
 * from the table `weights` [buckets, heads].
 */
export function relativePositionBias(weights: Value, queries: Value, keys: Value, bidirectional: boolean, buckets: number, maxDistance: number): Value {
  const g = weights.g;
  const reach = maxDistance + 1;
  const distance = sub(unsqueeze(keys, [1]), unsqueeze(queries, [2]));
  const clipped = g.op("Max", [g.op("Min", [distance, g.constI(reach)]), g.constI(-reach)]);
  const bucket = gather(g.constI(bucketTable(bidirectional, buckets, maxDistance, reach)), g.op("Add", [clipped, g.constI(reach)]));
  return transpose(gather(weights, bucket), [0, 3, 1, 2]);
}

/**
 * Prefix tuning on T5: AdapterHub computes the bias over key_length = prefix + keys, as if the prefix slots were
 * the first memory positions (0 … P − 1) and the sequence's own keys came after them (P + j). In a bank the
 * shorter prefixes are padded with masked slots (`prefixMask` [N, 1, 1, slots], 0 for a real slot), which take
 * no position: each row's real slots count 0, 1, … and its keys `keys` [N or 1, T] shift by its own prefix
 * length. Returns the memory positions [N, slots + T].
 */
export function prefixedKeyPositions(prefixMask: Value, keys: Value): Value {
  const g = prefixMask.g;
  const real = g.op("Cast", [g.op("Equal", [reshape(prefixMask, [0, -1]), g.constF(0)])], { to: 7 }); // int64
  const slots = g.op("CumSum", [real, g.constI(1)], { exclusive: 1 });
  const shifted = add(keys, reduceSum(real, [1], 1));
  return concat([slots, shifted], 1);
}
