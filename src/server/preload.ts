import type pino from "pino";
import type { Readiness } from "../api/routes/ops.ts";

/**
 * Loads the base models in the background so that the first request does not
 * pay for it, and tells /readyz when they are in. A failed load (store down,
 * files missing) is logged and retried with backoff; the server keeps
 * answering meanwhile and /readyz says what is missing.
 */
export class Preloader {
  private loaded = new Set<string>();
  private pending = new Set<string>();
  private failed = new Map<string, string>();
  private listed = false;
  private stopped = false;
  private timers = new Set<NodeJS.Timeout>();

  constructor(
    /** loads a model and compiles its warm-up graphs */
    private warm: (model: string) => Promise<void>,
    private listModels: () => Promise<string[]>,
    private models: string[] | undefined,
    private log: pino.Logger,
  ) {}

  start(): void {
    void this.list(0);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
  }

  state(): Readiness {
    return {
      ready: this.listed && this.pending.size === 0,
      models: [...this.loaded].sort(),
      pending: [...this.pending].sort(),
      failed: Object.fromEntries(this.failed),
    };
  }

  private later(attempt: number, f: () => void) {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) f();
    }, Math.min(30_000, 500 * 2 ** attempt));
    t.unref();
    this.timers.add(t);
  }

  private async list(attempt: number) {
    let names: string[];
    try {
      names = this.models ?? (await this.listModels());
    } catch (e) {
      this.failed.set("models/", (e as Error).message);
      this.log.warn({ err: (e as Error).message }, "cannot list models; retrying");
      this.later(attempt + 1, () => void this.list(attempt + 1));
      return;
    }
    this.failed.delete("models/");
    for (const n of names) this.pending.add(n);
    this.listed = true;
    for (const n of names) void this.load(n, 0);
  }

  private async load(name: string, attempt: number) {
    const started = performance.now();
    try {
      await this.warm(name);
      if (this.stopped) return;
      this.pending.delete(name);
      this.failed.delete(name);
      this.loaded.add(name);
      this.log.info({ model: name, ms: Math.round(performance.now() - started) }, "model loaded");
    } catch (e) {
      if (this.stopped) return;
      this.failed.set(name, (e as Error).message);
      this.log.warn({ model: name, err: (e as Error).message }, "model load failed; retrying");
      this.later(attempt + 1, () => void this.load(name, attempt + 1));
    }
  }
}
