import { runLength, type Job, type RowJob } from "./plan.ts";
import type { RunResult } from "./worker-pool.ts";
import { cutByLength, DEFAULT_GROUP_LIMITS } from "./length-groups.ts";

// Dynamic batching: jobs of concurrent requests that share a compiled graph
// are joined into one run. A batch closes when it reaches its row or token
// budget, or when its first job has waited `maxWaitMs`. Rows are sorted by
// length and cut into runs of similar lengths where that saves more padding
// than the extra runs cost (length-groups.ts).
// Results go back to each job in its own row order; when a joined run fails,
// its jobs are retried one by one, so one job's failure never fails its
// neighbours. A job still waiting in its queue is dropped when its signal
// aborts (the client has gone); one already running finishes.

export interface BatchOptions {
  /** rows per run */
  maxRows: number;
  /** padded tokens per run (rows × longest row) */
  maxTokens: number;
  /** how long the first job of a batch waits for company */
  maxWaitMs: number;
  /**
   * Batches run at once (the inference workers). While they are all busy, a
   * due batch keeps collecting jobs instead of queueing at the worker: under
   * load, batches grow at no cost in latency.
   */
  concurrency?: number;
  /** the fixed price of one run in padded tokens, which decides how finely rows are cut by length (length-groups.ts) */
  runCostTokens?: number;
}

export const DEFAULT_BATCH: BatchOptions = { maxRows: 32, maxTokens: 8192, maxWaitMs: 2, concurrency: 1 };

/** Outputs of one run, as the worker pool returns them: every output is [rows, seq, ...]. */
export type RunOutputs = RunResult["outputs"];

/** Runs one job (already cut to budget) and returns its outputs. */
export type RunJob = (job: Job) => Promise<RunOutputs>;

interface Waiting {
  job: Job;
  resolve: (o: RunOutputs) => void;
  reject: (e: unknown) => void;
}

export class Batcher {
  private queues = new Map<string, { items: Waiting[]; rows: number; timer: NodeJS.Timeout | null; due: boolean }>();
  private inFlight = 0;

  constructor(
    private run: RunJob,
    private opts: BatchOptions = DEFAULT_BATCH,
  ) {}

  submit(job: Job, signal?: AbortSignal): Promise<RunOutputs> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let q = this.queues.get(job.key);
      if (!q) {
        q = { items: [], rows: 0, timer: null, due: false };
        this.queues.set(job.key, q);
      }
      const item: Waiting = { job, resolve, reject };
      if (signal) {
        const drop = () => this.drop(job.key, item, signal.reason);
        signal.addEventListener("abort", drop, { once: true });
        item.resolve = (o) => (signal.removeEventListener("abort", drop), resolve(o));
        item.reject = (e) => (signal.removeEventListener("abort", drop), reject(e));
      }
      q.items.push(item);
      q.rows += job.rows.length;
      if (q.rows >= this.opts.maxRows) this.flush(job.key);
      else if (!q.timer && !q.due) q.timer = setTimeout(() => this.due(job.key), this.opts.maxWaitMs);
    });
  }

  /** Takes a job out of its queue if it is still there (not yet running) and rejects it. */
  private drop(key: string, item: Waiting, reason: unknown) {
    const q = this.queues.get(key);
    const at = q ? q.items.indexOf(item) : -1;
    if (!q || at < 0) return;
    q.items.splice(at, 1);
    q.rows -= item.job.rows.length;
    if (!q.items.length) {
      if (q.timer) clearTimeout(q.timer);
      this.queues.delete(key);
    }
    item.reject(reason);
  }

  /** The first job waited long enough: run now, or as soon as a worker is free. */
  private due(key: string) {
    const q = this.queues.get(key);
    if (!q) return;
    q.timer = null;
    q.due = true;
    if (this.inFlight < (this.opts.concurrency ?? 1)) this.flush(key);
  }

  private flush(key: string) {
    const q = this.queues.get(key);
    if (!q) return;
    this.queues.delete(key);
    if (q.timer) clearTimeout(q.timer);
    this.inFlight++;
    void this.execute(q.items).finally(() => {
      this.inFlight--;
      // the oldest due batch goes next
      for (const [k, w] of this.queues) {
        if (w.due) {
          this.flush(k);
          break;
        }
      }
    });
  }

  private async execute(items: Waiting[]) {
    // Every row, tagged with its job and place, sorted by length into runs.
    const rows = items.flatMap((w, j) => w.job.rows.map((row, r) => ({ row, j, r })));
    const spec = items[0].job.spec;
    const length = (row: RowJob) => runLength(spec, row);
    rows.sort((a, b) => length(a.row) - length(b.row));
    const runs: (typeof rows)[] = [];
    let start = 0;
    for (const end of cutByLength(rows.map((x) => length(x.row)), { ...DEFAULT_GROUP_LIMITS, ...this.opts })) {
      runs.push(rows.slice(start, end));
      start = end;
    }

    const base = items[0].job;
    let results: RunOutputs[];
    try {
      results = await Promise.all(runs.map((r) => this.run({ ...base, rows: r.map((x) => x.row) })));
    } catch {
      if (items.length === 1) {
        // alone, the job's own error is the answer
        await this.run(base).then(items[0].resolve, items[0].reject);
        return;
      }
      // A joined run failed: run each job alone, so only the faulty one fails.
      await Promise.all(items.map((w) => this.run(w.job).then(w.resolve, w.reject)));
      return;
    }
    // Reassemble each job's rows, padded to the longest sequence among its runs.
    items.forEach((w, j) => {
      const mine = runs.flatMap((run, k) => run.map((x, i) => ({ x, k, i })).filter(({ x }) => x.j === j));
      mine.sort((a, b) => a.x.r - b.x.r);
      const out: RunOutputs = {};
      for (const name of Object.keys(results[0])) {
        const T = Math.max(...mine.map(({ k }) => results[k][name].dims[1]));
        const inner = results[0][name].dims.slice(2);
        const width = inner.reduce((a, b) => a * b, 1);
        const data = new Float32Array(mine.length * T * width);
        mine.forEach(({ k, i }, row) => {
          const src = results[k][name];
          const t = src.dims[1];
          data.set(src.data.subarray(i * t * width, (i + 1) * t * width), row * T * width);
        });
        out[name] = { dims: [mine.length, T, ...inner], data };
      }
      w.resolve(out);
    });
  }
}
