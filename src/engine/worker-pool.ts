import { statSync } from "node:fs";
import os from "node:os";
import type { Worker } from "node:worker_threads";
import { tsWorker } from "./ts-worker.ts";
import { DEFAULT_HOT, HotGraphs, type HotPolicy } from "./hot-graphs.ts";
import { isGpu, type Device } from "./session-options.ts";

export type FeedData = Float32Array | BigInt64Array | Int32Array | Uint8Array;
export interface Feed {
  type: "float32" | "int64" | "int32" | "bool";
  dims: number[];
  data: FeedData;
  /**
   * The data is the caller's (never detached) and is the same whenever this key is fed (loaded weights): a
   * worker keeps it after the first run that sends it, and later runs on that worker only name it.
   */
  constant?: string;
}
/** A feed as sent: data, data to keep under a key, or only the key of data the worker kept. */
export type WireFeed = { type: Feed["type"]; dims: number[]; data: FeedData; keep?: string } | { type: Feed["type"]; dims: number[]; ref: string };

export interface RunRequest {
  graphKey: string;
  /** ONNX bytes, or the path of a graph file (whose external weights lie beside it); needed only when the worker may not have this graph yet (see WorkerPool.has). */
  model?: Uint8Array | string;
  feeds: Record<string, Feed>;
  outputs?: string[];
  /**
   * Feed and model buffers are moved to the worker, not copied, so they are detached (length 0) here once
   * run() returns. Pass false for buffers the caller keeps using (cached weights); they are then copied.
   * Views into a larger buffer are always copied, never detached.
   */
  transfer?: boolean;
  /**
   * A run that continues a state kept on the worker (a decoding loop): the
   * state's tensors are fed along with `feeds` (which win), and after the run
   * the outputs named in `keep` become the state's feeds (output → feed name)
   * instead of coming back. Runs of one state go to the worker holding it;
   * releaseState() frees it.
   */
  state?: { id: string; keep?: Record<string, string> };
  /**
   * A graph run seldom and big (the fusion fold): its session keeps no memory
   * arena, which would otherwise hold its largest run's tensors for good.
   */
  noArena?: boolean;
  /**
   * A small graph (a head) runs on the CPU whatever the pool's device: on a GPU every run costs a fixed ~10 ms
   * of launches and copies (WebGPU on an H100, measured: README "GPU"), far more than a head's work.
   */
  cpu?: boolean;
}
export interface RunResult {
  outputs: Record<string, { dims: number[]; data: Float32Array }>;
  /** run by the graph's prepacked session (hot-graphs.ts) */
  hot?: boolean;
}

export interface WorkerSettings { intraOpThreads: number; device: Device; packInputs: boolean; spin: boolean; nice: number; /** Int32[1], set to 1 when the pool closes */ stop: SharedArrayBuffer }
export interface WorkerRequest { id: number; graphKey: string; model?: Uint8Array | string; feeds: Record<string, WireFeed>; outputs?: string[]; state?: { id: string; keep?: Record<string, string> }; noArena?: boolean; cpu?: boolean }
export type WorkerMessage = WorkerRequest | { close: true } | { release: string } | { releaseState: string } | { promote: string } | { demote: string } | { dropConstants: string[] };
export type WorkerResponse =
  | { id: number; ok: true; loaded: true; outputs: RunResult["outputs"]; hot?: boolean }
  | { id: number; ok: false; loaded: boolean; error: string };
/** A hot graph's prepacked session could not be built (the graph keeps its shared one). */
export interface HotFailed { hotFailed: string; error: string }

interface Pending { resolve: (r: RunResult) => void; reject: (e: Error) => void; graphKey: string }
/** A compiled graph a worker holds: its size, the runs on it not yet answered (a graph with runs is never released), and whether it maps shared weights (only those can be promoted, see hot-graphs.ts). */
interface Held { bytes: number; running: number; shared: boolean }
/** graphs in least-recently-used order (a Map keeps insertion order; use re-inserts) */
/** constants: the constant feeds a worker keeps (key → bytes), least recently used first */
interface Slot { worker: Worker; graphs: Map<string, Held>; hot: HotGraphs; constants: Map<string, number>; pending: Map<number, Pending>; crashes: number; dead?: boolean }

export interface GraphStats {
  /** compiled graphs held, over all workers */
  graphs: number;
  /** their ONNX sizes */
  bytes: number;
  /** graphs released to stay within the limits */
  evictions: number;
  /** graphs that also hold a prepacked session (hot-graphs.ts) */
  hot: number;
  /** graphs made hot since start */
  promotions: number;
}

export interface PoolOptions {
  threads?: number;
  intraOpThreads?: number;
  device?: Device;
  /**
   * Feed each graph's float inputs packed into one (src/graph/pack-inputs.ts): on a GPU each input is a copy of
   * its own with a fixed cost. Default: on for a GPU, off on the CPU (where it would only add a copy).
   */
  packInputs?: boolean;
  /** compiled graphs a worker keeps; the least recently used go first (default 32) */
  maxGraphs?: number;
  /** bytes of compiled graphs (their ONNX sizes) a worker keeps (default 8 GiB) */
  maxGraphBytes?: number;
  /** onnxruntime's threads spin-wait for work between operators (default false: see DEFAULT_SPIN) */
  spin?: boolean;
  /** Linux: the nice value of the workers and their onnxruntime threads (default 10: see DEFAULT_WORKER_NICE) */
  nice?: number;
  /** graphs of shared weights that get a prepacked session of their own once busy, per worker (default 2; none on CUDA: see hot-graphs.ts) */
  hotGraphs?: number;
  /** the rest of the hot-graph policy (tests) */
  hot?: Partial<Omit<HotPolicy, "slots">>;
  /** bytes of constant feeds (Feed.constant) a worker keeps; the least recently used go first (default 512 MiB) */
  constantBytes?: number;
}

/**
 * Spinning threads answer the next operator a little sooner (1–3% on bert-base
 * alone) but hold their cores while they wait: under load they take the CPU
 * the HTTP thread needs, and a tiny model served at 3× the rate without them.
 */
export const DEFAULT_SPIN = false;
/**
 * Inference runs below the HTTP thread's priority, so that under load parsing,
 * refusals, /healthz and answers go first; the encoder still gets every cycle
 * nobody else wants.
 */
export const DEFAULT_WORKER_NICE = 10;

const WORKER_URL = new URL("./session-worker.ts", import.meta.url);

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly settings: WorkerSettings;
  private nextId = 0;
  private closed = false;
  private fatal: Error | undefined;
  private readonly maxGraphs: number;
  private readonly maxGraphBytes: number;
  private evictions = 0;
  private promotions = 0;
  /** told when a hot graph's prepacked session cannot be built (the server logs it) */
  onHotFailure?: (graphKey: string, error: string) => void;
  private readonly hotPolicy: HotPolicy;
  private readonly constantBytes: number;
  /** which worker holds each kept state */
  private states = new Map<string, Slot>();

  constructor(opts: PoolOptions = {}) {
    this.maxGraphs = Math.max(1, opts.maxGraphs ?? 32);
    this.maxGraphBytes = opts.maxGraphBytes ?? 8 * 1024 ** 3;
    const threads = Math.max(1, opts.threads ?? 1);
    this.constantBytes = opts.constantBytes ?? 512 * 1024 ** 2;
    // prepacking is the CPU's MatMul layout: on a GPU a second session would only hold a second copy
    this.hotPolicy = { ...DEFAULT_HOT, ...opts.hot, slots: isGpu(opts.device) ? 0 : Math.max(0, opts.hotGraphs ?? DEFAULT_HOT.slots) };
    this.settings = {
      // workers share the cores; each session's own thread pool should not oversubscribe them
      intraOpThreads: opts.intraOpThreads ?? Math.max(1, Math.floor(os.availableParallelism() / threads)),
      device: opts.device ?? "cpu",
      packInputs: opts.packInputs ?? isGpu(opts.device),
      spin: opts.spin ?? DEFAULT_SPIN,
      nice: opts.nice ?? DEFAULT_WORKER_NICE,
      stop: new SharedArrayBuffer(4),
    };
    for (let i = 0; i < threads; i++) {
      const slot = { graphs: new Map<string, Held>(), hot: new HotGraphs(this.hotPolicy), constants: new Map<string, number>(), pending: new Map<number, Pending>(), crashes: 0 } as Slot;
      this.spawn(slot);
      this.slots.push(slot);
    }
  }

  stats(): GraphStats {
    let graphs = 0;
    let bytes = 0;
    let hot = 0;
    for (const s of this.slots) {
      for (const g of s.graphs.values()) (graphs++, (bytes += g.bytes));
      hot += s.hot.size;
    }
    return { graphs, bytes, evictions: this.evictions, hot, promotions: this.promotions };
  }

  /** Whether a worker already compiled this graph, so run() may be called without model bytes (for a state: the worker holding it). */
  has(graphKey: string, stateId?: string): boolean {
    const held = stateId === undefined ? undefined : this.states.get(stateId);
    return held ? held.graphs.has(graphKey) : this.slots.some((s) => s.graphs.has(graphKey));
  }

  /** Frees a state kept on a worker (see RunRequest.state). */
  releaseState(id: string): void {
    const slot = this.states.get(id);
    this.states.delete(id);
    if (slot && !slot.dead && !this.closed) slot.worker.postMessage({ releaseState: id } satisfies WorkerMessage);
  }

  run(req: RunRequest): Promise<RunResult> {
    if (this.closed || this.fatal) return Promise.reject(this.fatal ?? new Error("worker pool is closed"));
    const invalid = validate(req);
    if (invalid) return Promise.reject(new Error(`run on graph "${req.graphKey}": ${invalid}`));
    const slot = (req.state && this.states.get(req.state.id)) || this.pick(req);
    if (req.state) this.states.set(req.state.id, slot);
    const model = slot.graphs.has(req.graphKey) ? undefined : req.model;
    const transfer = new Set<ArrayBuffer>();
    const take = <T extends FeedData>(a: T): T => {
      if (a.buffer instanceof SharedArrayBuffer) return a;
      // structured clone would copy the whole underlying buffer of a partial view, so copy just the view
      const own = a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && req.transfer !== false ? a : (a.slice() as T);
      // Node silently drops a message whose transfer list holds a detached buffer: never list empty ones
      if (own.byteLength > 0) transfer.add(own.buffer as ArrayBuffer);
      return own;
    };
    const feeds: Record<string, WireFeed> = {};
    const kept = new Set<string>();
    const added: string[] = [];
    for (const [name, f] of Object.entries(req.feeds)) {
      if (!f.constant) {
        feeds[name] = { type: f.type, dims: f.dims, data: take(f.data) };
        continue;
      }
      const key = `${f.constant}|${f.dims.join(",")}`;
      kept.add(key);
      const bytes = slot.constants.get(key);
      slot.constants.delete(key);
      slot.constants.set(key, bytes ?? f.data.byteLength);
      if (bytes !== undefined) {
        feeds[name] = { type: f.type, dims: f.dims, ref: key };
        continue;
      }
      // the caller keeps the data: a copy goes, the first time only
      const data = f.data.slice();
      if (data.byteLength > 0) transfer.add(data.buffer as ArrayBuffer);
      feeds[name] = { type: f.type, dims: f.dims, data, keep: key };
      added.push(key);
    }
    const msg: WorkerRequest = { id: this.nextId++, graphKey: req.graphKey, feeds, model: model && (typeof model === "string" ? model : take(model)), outputs: req.outputs, state: req.state, noArena: req.noArena, cpu: req.cpu };
    if (!msg.model) delete msg.model;
    if (!msg.outputs) delete msg.outputs;
    if (!msg.state) delete msg.state;
    return new Promise<RunResult>((resolve, reject) => {
      try {
        slot.worker.postMessage(msg satisfies WorkerMessage, [...transfer]);
      } catch (e) {
        for (const key of added) slot.constants.delete(key);
        return reject(new Error(`cannot send run request for graph "${req.graphKey}": ${(e as Error).message}`));
      }
      // after the run in the worker's queue, which may still read what is dropped
      this.dropConstants(slot, kept);
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(msg.id, { resolve, reject, graphKey: req.graphKey });
      // optimistic, so concurrent callers skip building bytes; most recently used goes last
      const held = slot.graphs.get(req.graphKey) ?? { bytes: typeof msg.model === "string" ? statSync(msg.model).size : (msg.model?.byteLength ?? 0), running: 0, shared: typeof msg.model === "string" };
      slot.graphs.delete(req.graphKey);
      slot.graphs.set(req.graphKey, { ...held, running: held.running + 1 });
      if (msg.model) this.evict(slot, req.graphKey);
      // after the run in the worker's queue: the session is built once this run is answered
      if (held.shared) this.heat(slot, req.graphKey);
    });
  }

  /** Keeps a worker's constants within constantBytes, least recently used first, sparing the ones just fed. */
  private dropConstants(slot: Slot, spare: Set<string>): void {
    let bytes = 0;
    for (const b of slot.constants.values()) bytes += b;
    const drop: string[] = [];
    for (const [key, b] of slot.constants) {
      if (bytes <= this.constantBytes) break;
      if (spare.has(key)) continue;
      drop.push(key);
      bytes -= b;
    }
    if (!drop.length) return;
    for (const key of drop) slot.constants.delete(key);
    slot.worker.postMessage({ dropConstants: drop } satisfies WorkerMessage);
  }

  private heat(slot: Slot, key: string): void {
    const change = slot.hot.ran(key);
    if (change.demote) slot.worker.postMessage({ demote: change.demote } satisfies WorkerMessage);
    if (change.promote) {
      this.promotions++;
      slot.worker.postMessage({ promote: change.promote } satisfies WorkerMessage);
    }
  }

  /**
   * Keeps a worker within its graph limits: releases least recently used
   * graphs that no run is waiting on. Callers check has() and call run() in
   * one synchronous step, so a graph cannot go between the two.
   */
  private evict(slot: Slot, keep: string): void {
    let bytes = 0;
    for (const g of slot.graphs.values()) bytes += g.bytes;
    for (const [key, g] of slot.graphs) {
      if (slot.graphs.size <= this.maxGraphs && bytes <= this.maxGraphBytes) break;
      if (key === keep || g.running > 0) continue;
      slot.graphs.delete(key);
      slot.hot.forget(key);
      bytes -= g.bytes;
      this.evictions++;
      slot.worker.postMessage({ release: key } satisfies WorkerMessage);
    }
  }

  /**
   * Rejects pending runs and lets each worker exit on its own. Worker.terminate() during a forward pass
   * aborts the whole process (the binding throws a Napi::Error into a dying environment), so the workers
   * finish the run they are in, skip queued ones (shared stop flag) and exit.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(new Int32Array(this.settings.stop), 0, 1);
    await Promise.all(this.slots.map(async (slot) => {
      this.failAll(slot, new Error("worker pool closed"));
      if (slot.dead) return;
      const exited = new Promise((resolve) => slot.worker.once("exit", resolve));
      slot.worker.ref(); // keep the process alive until the worker has really gone
      slot.worker.postMessage({ close: true } satisfies WorkerMessage);
      await exited;
    }));
  }

  /** Least busy worker that can run the request: one holding the graph, or any when bytes come along. */
  private pick(req: RunRequest): Slot {
    const holders = this.slots.filter((s) => s.graphs.has(req.graphKey));
    const candidates = req.model ? this.slots : holders.length ? holders : this.slots;
    return candidates.reduce((best, s) =>
      s.pending.size < best.pending.size || (s.pending.size === best.pending.size && s.graphs.has(req.graphKey) && !best.graphs.has(req.graphKey)) ? s : best);
  }

  private spawn(slot: Slot): void {
    const worker = tsWorker(WORKER_URL, { workerData: this.settings });
    worker.unref(); // an idle pool must not keep the process alive; ref'd while requests are pending
    slot.worker = worker;
    slot.graphs.clear();
    slot.hot = new HotGraphs(this.hotPolicy);
    slot.constants = new Map();
    worker.on("message", (res: WorkerResponse | HotFailed) => {
      if ("hotFailed" in res) {
        slot.hot.failed(res.hotFailed);
        this.onHotFailure?.(res.hotFailed, res.error);
        return;
      }
      const p = slot.pending.get(res.id);
      if (!p) return;
      slot.crashes = 0;
      slot.pending.delete(res.id);
      if (slot.pending.size === 0) worker.unref();
      const held = slot.graphs.get(p.graphKey);
      if (held) held.running = Math.max(0, held.running - 1);
      if (!res.loaded) {
        slot.graphs.delete(p.graphKey);
        slot.hot.forget(p.graphKey);
      }
      if (res.ok) p.resolve(res.hot ? { outputs: res.outputs, hot: true } : { outputs: res.outputs });
      else p.reject(new Error(res.error));
    });
    const crashed = (why: string) => {
      if (slot.worker !== worker || this.closed) return;
      this.failAll(slot, new Error(`session worker crashed (${why}); its pending runs were dropped`));
      // a worker that keeps dying before answering anything (broken install) is not restarted forever
      if (++slot.crashes < 3) return this.spawn(slot);
      this.fatal = new Error(`session worker keeps crashing (${why}); worker pool disabled`);
      slot.dead = true;
    };
    worker.on("error", (e) => crashed(e.message));
    worker.on("exit", (code) => crashed(`exit code ${code}`));
  }

  private failAll(slot: Slot, err: Error): void {
    for (const p of slot.pending.values()) p.reject(err);
    for (const g of slot.graphs.values()) g.running = 0;
    slot.pending.clear();
    slot.worker.unref();
  }
}

const DETACHED_HINT = "(buffers passed to an earlier run() are detached unless it had transfer: false)";

function validate(req: RunRequest): string | undefined {
  if (req.model instanceof Uint8Array && req.model.byteLength === 0) return `model bytes are empty ${DETACHED_HINT}`;
  for (const [name, f] of Object.entries(req.feeds)) {
    const n = f.dims.reduce((a, b) => a * b, 1);
    if (f.data.length !== n) return `feed "${name}" has ${f.data.length} elements but dims [${f.dims}] need ${n} ${f.data.length === 0 ? DETACHED_HINT : ""}`.trimEnd();
  }
  return undefined;
}
