import { OverBudgetError, OverloadedError } from "../core/errors.ts";

// Admission control: what one request may ask for, and how much work a model
// holds at once. A request reserves its encoder rows (inputs × branches,
// known from its compositions alone) before anything is loaded or tokenized;
// once its inputs are tokenized, its tokens and the size of its answer are
// known, still before any encoder run. Over a per-request budget it is
// refused for good (413); beyond what the model's queue holds it is refused
// for now (503 with Retry-After), so that under overload the excess gets a
// fast answer that costs the server almost nothing, instead of a place in a
// queue that outlives the client's patience.

export interface AdmissionLimits {
  /** encoder rows of one model admitted and not yet answered */
  maxQueuedRows: number;
  /** real tokens over those rows */
  maxQueuedTokens: number;
  /** encoder tokens (rows × real tokens, over every branch) one request may run */
  maxRequestTokens: number;
  /** bytes of JSON one answer may hold (estimated before the work is done) */
  maxResponseBytes: number;
  /**
   * How long the work a model holds may take to drain, at its measured
   * throughput (tokens per second over the last seconds): the wait a new
   * request would have. Bounds latency under overload whatever the model's
   * speed; the row and token limits bound memory.
   */
  maxQueueMs: number;
}

export const DEFAULT_ADMISSION: AdmissionLimits = {
  maxQueuedRows: 1024,
  maxQueuedTokens: 65_536,
  maxRequestTokens: 131_072,
  maxResponseBytes: 32 * 1024 ** 2,
  maxQueueMs: 5000,
};

/** Where each limit is set, for the texts of refusals. */
export const ADMISSION_SETTINGS: Record<keyof AdmissionLimits, string> = {
  maxQueuedRows: "--max-queued-rows / POLYHEAD_MAX_QUEUED_ROWS",
  maxQueuedTokens: "--max-queued-tokens / POLYHEAD_MAX_QUEUED_TOKENS",
  maxRequestTokens: "--max-request-tokens / POLYHEAD_MAX_REQUEST_TOKENS",
  maxResponseBytes: "--max-response-bytes / POLYHEAD_MAX_RESPONSE_BYTES",
  maxQueueMs: "--max-queue-ms / POLYHEAD_MAX_QUEUE_MS",
};

/** The work one request asks for. */
export interface Cost {
  /** encoder rows: inputs × the branches that read them */
  rows: number;
  /** real tokens over those rows (decoding: plus the tokens it may generate) */
  tokens: number;
  /** estimated bytes of the JSON answer */
  responseBytes: number;
  /** what the request asks for, in words, for a refusal's text (e.g. "64 inputs × 18 branches") */
  shape: string;
}

/** A request's place in its model's queue: admit() once its cost is known, release() when its work is over (answered, failed or cancelled). */
export interface Ticket {
  /** Checks the request's tokens and answer size: throws OverBudgetError (never fits) or OverloadedError (not now), releasing the ticket. */
  admit(cost: Cost): void;
  release(): void;
}

interface Queue {
  rows: number;
  tokens: number;
  /** rows reserved whose tokens are not known yet (being loaded or tokenized) */
  pendingRows: number;
  /** decayed counters of finished rows, tokens and busy milliseconds: the model's recent throughput */
  doneRows: number;
  doneTokens: number;
  busyMs: number;
  at: number;
}

/** Counters decay with this time constant: throughput reflects the last ten seconds or so. */
const DECAY_MS = 10_000;
/** Tokens done (over the last seconds) before the measured throughput is trusted. */
const MIN_SAMPLE_TOKENS = 4096;

export class Admission {
  private queues = new Map<string, Queue>();

  constructor(
    readonly limits: AdmissionLimits = DEFAULT_ADMISSION,
    private now: () => number = () => performance.now(),
  ) {}

  /**
   * Reserves a request's encoder rows on `model`, before any loading or
   * tokenizing, or throws OverloadedError when the queue is full. A request
   * alone is always let through (it is held to the per-request budget), so
   * no setting starves it.
   */
  reserve(model: string, rows: number): Ticket {
    const l = this.limits;
    const q = this.queue(model);
    const alone = q.rows === 0;
    if (!alone && (q.rows + rows > l.maxQueuedRows || q.tokens >= l.maxQueuedTokens || this.drainMs(q, 0) > l.maxQueueMs)) throw this.overloaded(model, q);
    this.tick(q);
    q.rows += rows;
    q.pendingRows += rows;
    let pending = true;
    const known = () => {
      if (pending) q.pendingRows -= rows;
      pending = false;
    };
    let tokens = 0;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.tick(q);
      q.rows -= rows;
      q.tokens -= tokens;
      if (!pending) {
        q.doneRows += rows;
        q.doneTokens += tokens;
      }
      known();
    };
    return {
      admit: (cost) => {
        known();
        const refuse = (e: Error) => {
          release();
          return e;
        };
        if (cost.tokens > l.maxRequestTokens) {
          throw refuse(new OverBudgetError(`this request would run ${fmt(cost.tokens)} encoder tokens (${cost.shape}), over the budget of ${fmt(l.maxRequestTokens)} per request (${ADMISSION_SETTINGS.maxRequestTokens}): send fewer inputs or branches, or a smaller max_length`));
        }
        if (cost.responseBytes > l.maxResponseBytes) {
          throw refuse(new OverBudgetError(`the answer to this request would hold about ${mib(cost.responseBytes)} of JSON (${cost.shape}), over the budget of ${mib(l.maxResponseBytes)} (${ADMISSION_SETTINGS.maxResponseBytes}): ask for fewer inputs or outputs (return_hidden_states, return_logits, return_fusion_attention)`));
        }
        if (!alone && (q.tokens + cost.tokens > l.maxQueuedTokens || this.drainMs(q, cost.tokens) > l.maxQueueMs)) throw refuse(this.overloaded(model, q));
        this.tick(q);
        q.tokens += cost.tokens - tokens;
        tokens = cost.tokens;
      },
      release,
    };
  }

  /** What a model holds now (for tests and metrics). */
  queued(model: string): { rows: number; tokens: number } {
    const q = this.queues.get(model);
    return { rows: q?.rows ?? 0, tokens: q?.tokens ?? 0 };
  }

  /** Seconds until the model's queue has drained, from its recent throughput: 1 to 60. */
  retryAfter(model: string): number {
    const q = this.queues.get(model);
    const ms = q ? this.drainMs(q, 0) : 0;
    return Math.min(60, Math.max(1, Math.ceil(ms / 1000)));
  }

  /**
   * How long the queue's work, and `more` tokens, take at the measured throughput (0 until enough is
   * measured). Rows still being tokenized count at the measured tokens per row: under overload many
   * requests wait for the tokenizer, and they are work ahead too.
   */
  private drainMs(q: Queue, more: number): number {
    this.tick(q);
    // A model's first requests wait for its loading and graph compiles: a throughput measured over a
    // few of them is far too low, and would refuse work the server can do.
    if (q.doneTokens < MIN_SAMPLE_TOKENS || q.busyMs <= 0 || q.doneRows <= 0) return 0;
    const ahead = q.tokens + (q.pendingRows * q.doneTokens) / q.doneRows + more;
    return (ahead * q.busyMs) / q.doneTokens;
  }

  private overloaded(model: string, q: Queue): OverloadedError {
    const wait = Math.round(this.drainMs(q, 0));
    return new OverloadedError(
      model,
      `model "${model}" has ${fmt(q.rows)} rows (${fmt(q.tokens)} tokens${wait ? `, about ${fmt(wait)} ms of work` : ""}) queued; its limits (${ADMISSION_SETTINGS.maxQueuedRows}, ${ADMISSION_SETTINGS.maxQueuedTokens}, ${ADMISSION_SETTINGS.maxQueueMs}) are reached`,
      this.retryAfter(model),
    );
  }

  private queue(model: string): Queue {
    let q = this.queues.get(model);
    if (!q) this.queues.set(model, (q = { rows: 0, tokens: 0, pendingRows: 0, doneRows: 0, doneTokens: 0, busyMs: 0, at: this.now() }));
    return q;
  }

  /** Advances a queue's clock: busy time accrues while it holds work; both counters decay. */
  private tick(q: Queue): void {
    const now = this.now();
    const dt = Math.max(0, now - q.at);
    q.at = now;
    const keep = Math.exp(-dt / DECAY_MS);
    q.doneTokens *= keep;
    q.doneRows *= keep;
    q.busyMs = q.busyMs * keep + (q.rows > 0 ? dt : 0);
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const mib = (b: number) => `${(b / 1024 ** 2).toFixed(b < 10 * 1024 ** 2 ? 1 : 0)} MiB`;
