// Per-key limits: requests per second (a token bucket whose burst is the
// rate) and requests in flight. Runtime-neutral, in memory, per server.

export interface KeyLimit {
  /** requests per second; burst = rps (at least 1) */
  rps?: number;
  /** requests of this key answered at once */
  concurrency?: number;
}

interface State {
  tokens: number;
  at: number;
  inFlight: number;
}

export type Admission = { ok: true; release: () => void } | { ok: false; retryAfter: number; why: string };

export class Limiter {
  private states = new Map<string, State>();

  constructor(private now: () => number = () => performance.now()) {}

  /** Admits one request of `id`, or says how many seconds (≥ 1) to wait. */
  admit(id: string, limit: KeyLimit): Admission {
    const now = this.now();
    let s = this.states.get(id);
    const burst = Math.max(1, limit.rps ?? 0);
    if (!s) this.states.set(id, (s = { tokens: burst, at: now, inFlight: 0 }));
    if (limit.rps !== undefined) {
      s.tokens = Math.min(burst, s.tokens + ((now - s.at) / 1000) * limit.rps);
      s.at = now;
      if (s.tokens < 1) {
        return { ok: false, retryAfter: Math.max(1, Math.ceil((1 - s.tokens) / limit.rps)), why: `more than ${limit.rps} requests per second` };
      }
    }
    if (limit.concurrency !== undefined && s.inFlight >= limit.concurrency) {
      return { ok: false, retryAfter: 1, why: `more than ${limit.concurrency} requests at once` };
    }
    if (limit.rps !== undefined) s.tokens -= 1;
    s.inFlight++;
    const state = s;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (!released) state.inFlight--;
        released = true;
      },
    };
  }
}
