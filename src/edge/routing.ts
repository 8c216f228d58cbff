import type { Composition } from "../engine/composition.ts";

// Adapter affinity: requests for the same adapter set go to the same backend,
// where those adapters are already fetched and their weight banks warm.
// Rendezvous (highest-random-weight) hashing ranks the backends for a key;
// adding or removing one backend moves only the keys it wins or loses.

/** Every adapter and fusion name a composition names. */
export function compositionNames(c: Composition | null | undefined, out: Set<string> = new Set()): Set<string> {
  if (c == null) return out;
  if (typeof c === "string") {
    out.add(c);
    return out;
  }
  if ("fuse" in c && c.fusion) out.add(c.fusion);
  for (const v of Object.values(c)) {
    if (Array.isArray(v)) for (const child of v) if (typeof child !== "number") compositionNames(child as Composition, out);
  }
  return out;
}

/** The affinity key of a request: model plus its sorted adapter set. */
export function affinityKey(model: string, names: Iterable<string>): string {
  return `${model}|${[...new Set(names)].sort().join(",")}`;
}

/** 53-bit string hash (cyrb53): fast, synchronous, well mixed. */
export function hash53(s: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Backend ids ranked for `key`, best first (rendezvous hashing). */
export function rank(key: string, ids: readonly string[]): string[] {
  return ids
    .map((id) => ({ id, w: hash53(`${key}\n${id}`) }))
    .sort((a, b) => b.w - a.w || (a.id < b.id ? -1 : 1))
    .map((x) => x.id);
}

/** Backends that failed lately, per isolate: skipped until their cool-down ends. */
export class DownMarks {
  private until = new Map<string, number>();

  constructor(private now: () => number = Date.now) {}

  markDown(id: string, cooldownMs: number): void {
    this.until.set(id, this.now() + cooldownMs);
  }

  markUp(id: string): void {
    this.until.delete(id);
  }

  /** "up": use it; "down": skip it; "probe": cool-down over, check its health first. */
  state(id: string): "up" | "down" | "probe" {
    const t = this.until.get(id);
    if (t === undefined) return "up";
    return this.now() < t ? "down" : "probe";
  }

  clear(): void {
    this.until.clear();
  }
}
