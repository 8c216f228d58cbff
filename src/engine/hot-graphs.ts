// Which compiled graphs also get a prepacked session.
//
// With shared weights every graph of a model maps one copy of the base weights
// (memory does not grow with composition shapes), but onnxruntime cannot
// prepack weights it does not own: its MatMuls then pack their weights on every
// run, ~10% of a bert-base pass on this CPU. The graphs that run most get a
// second session, built from the same file with prepacking on: one more copy
// of the weights per hot graph, and at most `slots` of them per worker.

export interface HotPolicy {
  /** hot graphs a worker keeps (0: none) */
  slots: number;
  /** runs (decayed, see halfLifeMs) after which a graph is worth its own copy */
  after: number;
  /** a run counts half after this long, so yesterday's traffic does not hold a slot */
  halfLifeMs: number;
}

export const DEFAULT_HOT_GRAPHS = 2;
export const DEFAULT_HOT: HotPolicy = { slots: DEFAULT_HOT_GRAPHS, after: 8, halfLifeMs: 60_000 };

/** What a run changes: a graph to promote, and the hot graph it takes the slot of. */
export interface HotChange {
  promote?: string;
  demote?: string;
}

export class HotGraphs {
  private readonly scores = new Map<string, { score: number; at: number }>();
  private readonly hot = new Set<string>();
  /** graphs whose prepacked session could not be built: not tried again */
  private readonly refused = new Set<string>();
  promotions = 0;

  constructor(private readonly policy: HotPolicy = DEFAULT_HOT) {}

  get size(): number {
    return this.hot.size;
  }

  has(key: string): boolean {
    return this.hot.has(key);
  }

  /** Counts one run of `key`. */
  ran(key: string, now = Date.now()): HotChange {
    const score = this.score(key, now) + 1;
    this.scores.set(key, { score, at: now });
    if (this.policy.slots <= 0 || this.hot.has(key) || this.refused.has(key) || score < this.policy.after) return {};
    if (this.hot.size < this.policy.slots) return this.promote(key);
    // Only a clearly busier graph takes a slot: two graphs about as busy would otherwise swap on every
    // few runs, and each swap builds a session.
    let coldest: string | undefined;
    let low = Infinity;
    for (const h of this.hot) {
      const s = this.score(h, now);
      if (s < low) (low = s), (coldest = h);
    }
    if (coldest === undefined || score <= 2 * low) return {};
    this.hot.delete(coldest);
    return { ...this.promote(key), demote: coldest };
  }

  /** The graph was released: it holds no slot and its count starts again. */
  forget(key: string): void {
    this.hot.delete(key);
    this.scores.delete(key);
    this.refused.delete(key);
  }

  /** Its prepacked session could not be built (memory): the slot is free again, and this graph stays shared. */
  failed(key: string): void {
    this.hot.delete(key);
    this.refused.add(key);
  }

  private promote(key: string): HotChange {
    this.hot.add(key);
    this.promotions++;
    return { promote: key };
  }

  private score(key: string, now: number): number {
    const s = this.scores.get(key);
    return s ? s.score * 0.5 ** (Math.max(0, now - s.at) / this.policy.halfLifeMs) : 0;
  }
}
