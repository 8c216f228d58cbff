/** A cache's counters, as /metrics exports them. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** bytes held in memory */
  bytes: number;
  entries: number;
}
