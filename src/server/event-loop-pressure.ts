// Load shedding on the HTTP thread's own lateness. Admission control
// (engine/admission.ts) bounds the work queued for the inference workers, but
// with a small model the HTTP thread itself is the bottleneck: parsing,
// validating, planning and answering each request costs it about as much as
// the encoder run costs a worker. Past that thread's capacity every callback
// waits behind a growing backlog, /healthz included. So while the event loop
// runs late, new inference requests are refused at once (503 overloaded with
// Retry-After), before their bodies are read: a refusal costs a fraction of
// an answer, the loop catches up, and the requests it does take are answered
// in time. Like fastify's under-pressure, with hysteresis so that shedding
// does not flap at the threshold.

export interface LoopClock {
  now(): number;
  every(ms: number, f: () => void): { stop(): void };
}

const realClock: LoopClock = {
  now: () => performance.now(),
  every(ms, f) {
    const t = setInterval(f, ms);
    t.unref();
    return { stop: () => clearInterval(t) };
  },
};

/** ticks in a row under half the limit before shedding stops */
const CALM_TICKS = 10;

export class EventLoopPressure {
  private lastTick: number;
  /** how late the last tick came, ms */
  private lag = 0;
  private shedding = false;
  /** ticks in a row that came late */
  private lateTicks = 0;
  /** ticks in a row well within the limit */
  private calmTicks = 0;
  private ticker: { stop(): void } | null = null;
  /** requests refused since start */
  shed = 0;

  constructor(
    /** refuse while the loop is later than this (ms); 0 turns shedding off */
    readonly maxDelayMs: number,
    /** never refuse while the server holds fewer requests than this */
    readonly minInFlight = 32,
    private readonly tickMs = 10,
    private readonly clock: LoopClock = realClock,
  ) {
    this.lastTick = clock.now();
  }

  start(): this {
    if (this.maxDelayMs > 0 && !this.ticker) {
      this.lastTick = this.clock.now();
      this.ticker = this.clock.every(this.tickMs, () => {
        const now = this.clock.now();
        this.lag = Math.max(0, now - this.lastTick - this.tickMs);
        this.lastTick = now;
        // On when two ticks in a row come late (one late tick is a long task, or a burst read at once); off only
        // after CALM_TICKS in a row well within the limit, so that an overload is not let back in every other turn.
        if (this.lag > this.maxDelayMs) {
          this.calmTicks = 0;
          if (++this.lateTicks >= 2) this.shedding = true;
        } else {
          this.lateTicks = 0;
          if (this.lag >= this.maxDelayMs / 2) this.calmTicks = 0;
          else if (++this.calmTicks >= CALM_TICKS) this.shedding = false;
        }
      });
    }
    return this;
  }

  stop(): void {
    this.ticker?.stop();
    this.ticker = null;
  }

  /** How late the loop's last tick came, ms. */
  delayMs(): number {
    return this.lag;
  }

  /**
   * null to go on; else why the request is refused and when to retry.
   * `inFlight`: requests the server holds now. A loop that is late while it
   * holds few is not overloaded but busy with one long task (e.g. building a
   * new composition's graph): refusing then would turn away a lone request.
   */
  check(inFlight: number): { detail: string; retryAfter: number } | null {
    if (!this.ticker || inFlight < this.minInFlight) return null;
    // Besides what the ticks saw, how long the current turn has run: at the
    // onset of an overload thousands of requests are read in one turn, before
    // any tick could see it. (So a burst of a few hundred requests at once is
    // partly refused too: measured, that keeps /healthz under 100 ms at 2×
    // overload, where waiting for the ticks let single turns run 0.2–1 s.)
    const turn = this.clock.now() - this.lastTick - this.tickMs;
    if (!this.shedding && turn <= this.maxDelayMs) return null;
    const delay = Math.max(this.lag, turn);
    this.shed++;
    return {
      detail: `the server is busier than it can answer in time (its event loop runs ${Math.round(delay)} ms late, limit ${this.maxDelayMs} ms: --max-event-loop-delay / POLYHEAD_MAX_EVENT_LOOP_DELAY)`,
      retryAfter: 1,
    };
  }
}
