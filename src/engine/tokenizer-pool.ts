import type { Worker } from "node:worker_threads";
import type { Encoded, TextTokenizer, TokenizerSource } from "../formats/tokenizer.ts";
import { tsWorker } from "./ts-worker.ts";

// Tokenizing off the HTTP thread: one worker thread holds a copy of each
// model's tokenizer (made from the same tokenizer.json, sent with its first
// request) and answers encodeBatch. Under load the HTTP thread then only
// parses bodies and writes answers, so /healthz and cheap refusals stay fast.

export interface TokenizeRequest {
  id: number;
  /** the pool's id of the tokenizer (one per loaded model version) */
  tokenizer: number;
  /** sent with the first request for this tokenizer, and again when the worker has let it go */
  source?: TokenizerSource;
  inputs: (string | [string, string])[];
  maxLength: number;
  language?: string;
}

export type TokenizeResponse = { id: number; encoded: Encoded } | { id: number; missing: true } | { id: number; error: string };

interface Pending {
  req: TokenizeRequest;
  tok: TextTokenizer;
  resolve: (e: Encoded) => void;
  reject: (e: Error) => void;
}

export class TokenizerPool {
  private worker!: Worker;
  private pending = new Map<number, Pending>();
  private ids = new WeakMap<TextTokenizer, number>();
  /** tokenizers whose source the current worker was sent */
  private sent = new Set<number>();
  private nextId = 0;
  private nextTokenizer = 0;
  private closed = false;
  private crashes = 0;

  constructor() {
    this.spawn();
  }

  encode(tok: TextTokenizer, inputs: (string | [string, string])[], maxLength: number, language?: string): Promise<Encoded> {
    if (this.closed) return Promise.reject(new Error("tokenizer pool is closed"));
    let t = this.ids.get(tok);
    if (t === undefined) this.ids.set(tok, (t = this.nextTokenizer++));
    const req: TokenizeRequest = { id: this.nextId++, tokenizer: t, inputs, maxLength, ...(language ? { language } : {}) };
    return new Promise((resolve, reject) => this.send({ req, tok, resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error("tokenizer pool closed"));
    await this.worker.terminate();
  }

  /** Requests of this turn of the event loop, sent together: under load one message carries many. */
  private outbox: TokenizeRequest[] = [];

  private send(p: Pending, withSource = !this.sent.has(p.req.tokenizer)): void {
    const req = withSource ? { ...p.req, source: p.tok.source } : p.req;
    this.sent.add(p.req.tokenizer);
    if (this.pending.size === 0) this.worker.ref();
    this.pending.set(p.req.id, p);
    if (this.outbox.push(req) === 1) {
      setImmediate(() => {
        const batch = this.outbox;
        this.outbox = [];
        if (!this.closed) this.worker.postMessage(batch);
      });
    }
  }

  private spawn(): void {
    const worker = tsWorker(new URL("./tokenizer-worker.ts", import.meta.url));
    worker.unref(); // an idle pool must not keep the process alive; ref'd while requests are pending
    this.worker = worker;
    this.sent.clear();
    worker.on("message", (batch: TokenizeResponse[]) => {
      for (const res of batch) {
        const p = this.pending.get(res.id);
        if (!p) continue;
        this.crashes = 0;
        this.pending.delete(res.id);
        if ("missing" in res) this.send(p, true);
        else if ("error" in res) p.reject(new Error(res.error));
        else p.resolve(res.encoded);
      }
      if (this.pending.size === 0) worker.unref();
    });
    const crashed = (why: string) => {
      if (this.worker !== worker || this.closed) return;
      this.failAll(new Error(`tokenizer worker crashed (${why})`));
      // a worker that keeps dying before answering anything (a broken install) is not restarted forever
      if (++this.crashes < 3) this.spawn();
      else this.closed = true;
    };
    worker.on("error", (e) => crashed(e.message));
    worker.on("exit", (code) => crashed(`exit code ${code}`));
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.worker.unref();
  }
}
