import type { Catalog, LoadedFusion, LoadedHead, LoadedModel } from "../store/catalog.ts";
import { transpose2d } from "../formats/adapter-weights.ts";
import { buildFold } from "../graph/fold.ts";
import { toBranches, type Chain, type Composition } from "./composition.ts";
import { CompositionError, InvalidAdapterError } from "../core/errors.ts";
import { buildFeeds, planJobs, type Job, type PlannedBranch, type Resolved } from "./plan.ts";
import { Batcher, DEFAULT_BATCH, type BatchOptions, type RunOutputs } from "./batcher.ts";
import { buildEncoder } from "../graph/encoder.ts";
import { buildHead, headInput, headKey, type HeadShape } from "../graph/head.ts";
import { fusionOutputName } from "../graph/spec.ts";
import { hiddenRows, resultType, rowOutput, type ResultType } from "./outputs.ts";
import type { Feed, WorkerPool } from "./worker-pool.ts";

// The request path below the HTTP layer: resolve names, tokenize, plan, run
// the encoder graphs, run the heads, shape the answer.

export type Input = string | [string, string];

export interface PredictInput {
  model: string;
  inputs: Input[];
  tasks: { name?: string; adapters: Composition | null; head?: string | string[] }[];
  options: { maxLength: number; returnLogits: boolean; returnHiddenStates: boolean; returnFusionAttention: boolean };
}

export interface TaskResult {
  name: string;
  head: string | null;
  type: ResultType;
  /** which inputs the outputs belong to (batch_split branches hold a subset) */
  rows: number[];
  outputs: Record<string, unknown>[];
}

export interface PredictOutput {
  model: string;
  results: TaskResult[];
}

const LOCATION_NAME: Record<string, string> = { mh: "mh_adapter", out: "output_adapter" };

/** What the engine reports after each encoder run (for metrics). */
export interface RunInfo {
  rows: number;
  /** padded sequence length of the run */
  seqLen: number;
  /** real (non-padding) tokens in the run */
  tokens: number;
  ms: number;
}

export interface EngineObservers {
  /** Called after every encoder run (for metrics). */
  onRun?: (info: RunInfo) => void;
}

export class Engine {
  /** Called after every encoder run: given to the constructor (tests swap it to count runs). */
  onRun: EngineObservers["onRun"];

  readonly batcher: Batcher;

  constructor(
    readonly catalog: Catalog,
    private pool: WorkerPool,
    batch: BatchOptions = DEFAULT_BATCH,
    observers: EngineObservers = {},
  ) {
    this.onRun = observers.onRun;
    this.batcher = new Batcher((job) => this.runJob(job), batch);
  }

  async predict(req: PredictInput): Promise<PredictOutput> {
    const model = await this.catalog.model(req.model);
    const rows = req.inputs.map((_, i) => i);
    const branches: (PlannedBranch & { task: number; name: string; headName: string | null })[] = [];
    for (const [t, task] of req.tasks.entries()) {
      const path = `tasks[${t}].adapters`;
      const raw: { chain: Chain | null; rows: number[] }[] = task.adapters === null ? [{ chain: null, rows }] : toBranches(task.adapters, rows, path);
      if (Array.isArray(task.head) && task.head.length !== raw.length) {
        throw new CompositionError(`tasks[${t}] has ${raw.length} branches but ${task.head.length} heads`, `tasks[${t}].head`);
      }
      for (const [k, b] of raw.entries()) {
        const chain = b.chain ? await this.resolve(b.chain, model, path) : null;
        const wanted = Array.isArray(task.head) ? task.head[k] : task.head;
        const head = wanted ? await this.catalog.findHead(wanted, model) : chain ? defaultHead(chain) : null;
        const label = task.name ?? (b.chain ? chainName(b.chain) : "base");
        branches.push({ task: t, rows: b.rows, chain, head, name: raw.length > 1 && task.name ? `${label}[${k}]` : label, headName: head?.config.name ?? null });
      }
    }

    const maxPositions = model.config.maxPositions - (model.config.family === "roberta" ? model.config.padTokenId + 1 : 0);
    const enc = model.tokenizer.encodeBatch(req.inputs, Math.min(req.options.maxLength, maxPositions));
    const H = model.config.hidden;
    const results: TaskResult[] = branches.map((b) => ({ name: b.name, head: b.headName, type: resultType(b.head?.config ?? null), rows: b.rows, outputs: [] }));

    await Promise.all(
      planJobs(model, branches, enc).map(async ({ job, branches: placed }) => {
        const run = await this.batcher.submit(job);
        const hidden = run.last_hidden_state.data;
        const T = run.last_hidden_state.dims[1];
        for (const { branch: bi, offset } of placed) {
          const b = branches[bi];
          const n = b.rows.length;
          const slice = hidden.subarray(offset * T * H, (offset + n) * T * H);
          const logits = b.head ? await this.runHead(model, b.head, slice, n, T) : null;
          const perRow = logits ? logits.length / n : 0;
          results[bi].outputs = b.rows.map((row, i) => {
            const ctx = { enc, row, inputs: req.inputs, returnLogits: req.options.returnLogits };
            const out: Record<string, unknown> = b.head ? rowOutput(b.head.config, logits!.subarray(i * perRow, (i + 1) * perRow), T, ctx) : {};
            if (req.options.returnHiddenStates || !b.head) out.last_hidden_state = hiddenRows(hidden, offset + i, T, H, enc.length[row]);
            if (req.options.returnFusionAttention) {
              const fa = fusionAttention(job.spec.slots, run, offset + i, T, enc.length[row], job.rows[offset + i].fused);
              if (fa) out.fusion_attention = fa;
            }
            return out;
          });
        }
      }),
    );
    return { model: model.name, results };
  }

  /**
   * Loads a model and compiles the graphs of the given compositions by
   * running one short row through each, so the first real request does not
   * pay for compilation. Also proves the execution provider works (a CUDA
   * request on a machine without CUDA fails here, at start).
   */
  async warm(model: string, compositions: (Composition | null)[] = []): Promise<void> {
    await this.catalog.model(model);
    for (const adapters of compositions) {
      await this.predict({
        model,
        inputs: ["warm up"],
        tasks: [{ adapters }],
        options: { maxLength: 8, returnLogits: false, returnHiddenStates: false, returnFusionAttention: false },
      });
    }
  }

  /** Replaces names by loaded adapters and fusions, checking what can be combined. */
  private async resolve(c: Chain, model: LoadedModel, path: string): Promise<Resolved> {
    switch (c.t) {
      case "adapter":
        return { t: "adapter", adapter: await this.catalog.adapter(c.name, model) };
      case "stack":
        return { t: "stack", children: await Promise.all(c.children.map((x) => this.resolve(x, model, path))) };
      case "average":
      case "fuse": {
        const children = await Promise.all(c.children.map((x) => this.resolve(x, model, path)));
        const lora = children.flatMap(adaptersOf).find((a) => a.config.kind === "lora");
        if (lora) throw new CompositionError(`LoRA adapter "${lora.name}" cannot be used inside ${c.t}`, path);
        if (c.t === "average") return { t: "average", weights: c.weights, children };
        const names = c.children.map((x) => (x.t === "adapter" ? x.name : null));
        let fusion;
        if (c.fusion) fusion = await this.catalog.fusion(c.fusion, model);
        else if (names.every((n) => n !== null)) fusion = await this.catalog.findFusion(names as string[], model);
        else throw new CompositionError(`a fuse of stacks needs its fusion named with "fusion"`, path);
        if (names.every((n) => n !== null) && fusion.adapters.length === names.length && fusion.adapters.join(",") !== names.join(",")) {
          throw new InvalidAdapterError("fusion", fusion.name, `was trained on [${fusion.adapters.join(", ")}], not [${names.join(", ")}]`);
        }
        if (fusion.adapters.length !== children.length) {
          throw new InvalidAdapterError("fusion", fusion.name, `fuses ${fusion.adapters.length} adapters, the composition gives ${children.length}`);
        }
        if (fusion.config.query && fusion.config.key) await this.fold(fusion);
        return { t: "fuse", fusion, children };
      }
    }
  }

  private folding = new WeakMap<LoadedFusion, Promise<void>>();

  /**
   * score_i = (W_q x + b_q)·(W_k u_i + b_k): W_kᵀ(W_q x + b_q) = (W_q'·W_k)·x + b_q·W_k
   * in row form, so the query and key products fold into one matrix per
   * layer, computed once per fusion version on the worker.
   */
  private fold(f: LoadedFusion): Promise<void> {
    let p = this.folding.get(f);
    if (!p) {
      p = (async () => {
        const places = [...f.weights.places.entries()];
        const H = places[0][1].query!.w.shape[0];
        const L = places.length;
        const a = new Float32Array(L * H * H);
        const b = new Float32Array(L * H * H);
        const c = new Float32Array(L * H);
        places.forEach(([, w], i) => {
          a.set(w.query!.w.data, i * H * H); // W_q' [in, out]
          b.set(transpose2d(w.key!.w).data, i * H * H); // W_k [out, in]
          c.set(w.query!.b?.data ?? new Float32Array(H), i * H);
        });
        const key = "fold";
        const res = await this.pool.run({
          graphKey: key,
          model: this.pool.has(key) ? undefined : buildFold(),
          feeds: { a: { type: "float32", dims: [L, H, H], data: a }, b: { type: "float32", dims: [L, H, H], data: b }, c: { type: "float32", dims: [L, 1, H], data: c } },
        });
        const w = res.outputs.w.data;
        const bias = res.outputs.bias.data;
        f.folded = new Map(places.map(([place], i) => [place, { w: { shape: [H, H], data: w.slice(i * H * H, (i + 1) * H * H) }, b: { shape: [H], data: bias.slice(i * H, (i + 1) * H) } }]));
      })();
      this.folding.set(f, p);
      p.catch(() => this.folding.delete(f));
    }
    return p;
  }

  private encoderInputs = new Map<string, Set<string>>();

  /** Encoder graphs built so far (one per composition shape). */
  get compiledGraphs(): number {
    return this.encoderInputs.size;
  }

  /** One encoder run on the worker; the graph is built the first time its key is seen. */
  private async runJob(job: Job): Promise<RunOutputs> {
    const started = performance.now();
    const { feeds, seqLen, uniform } = buildFeeds(job);
    // A batch where every row uses the same adapters runs a variant without per-row gathers.
    const key = `${job.key}|${uniform ? "uniform" : "banked"}`;
    let bytes: Uint8Array | undefined;
    if (!this.encoderInputs.has(key) || !this.pool.has(key)) {
      const built = buildEncoder(job.model.config, job.model.weights, { ...job.spec, uniform });
      bytes = built.bytes;
      this.encoderInputs.set(key, built.inputs);
    }
    const wanted = this.encoderInputs.get(key)!;
    const used = Object.fromEntries(Object.entries(feeds).filter(([k]) => wanted.has(k)));
    const res = await this.pool.run({ graphKey: key, model: bytes, feeds: used });
    const tokens = job.rows.reduce((n, r) => n + r.ids.length, 0);
    this.onRun?.({ rows: job.rows.length, seqLen, tokens, ms: performance.now() - started });
    return res.outputs;
  }

  private async runHead(model: LoadedModel, head: LoadedHead, hidden: Float32Array, n: number, T: number): Promise<Float32Array> {
    const c = head.config;
    const shape: HeadShape = { read: c.headType === "tagging" || c.headType === "question_answering" ? "tokens" : "first", pooler: c.usePooler, layers: head.weights.layers.length, act: c.activation };
    const key = headKey(model.name, shape);
    const H = model.config.hidden;
    const feeds: Record<string, Feed> = { hidden: { type: "float32", dims: [n, T, H], data: hidden.slice() } };
    head.weights.layers.forEach((l, i) => {
      feeds[headInput.w(i)] = { type: "float32", dims: l.w.shape, data: l.w.data.slice() };
      feeds[headInput.b(i)] = { type: "float32", dims: [l.w.shape[1]], data: l.b ? l.b.data.slice() : new Float32Array(l.w.shape[1]) };
    });
    if (c.usePooler) {
      if (!model.pooler) throw new InvalidAdapterError("head", c.name, `uses the pooler, but model "${model.name}" has no pooler weights`);
      feeds.pooler_w = { type: "float32", dims: model.pooler.w.shape, data: model.pooler.w.data.slice() };
      feeds.pooler_b = { type: "float32", dims: model.pooler.b.shape, data: model.pooler.b.data.slice() };
    }
    const res = await this.pool.run({ graphKey: key, model: this.pool.has(key) ? undefined : buildHead(shape), feeds });
    return res.outputs.logits.data;
  }
}

function adaptersOf(r: Resolved): Extract<Resolved, { t: "adapter" }>["adapter"][] {
  return r.t === "adapter" ? [r.adapter] : r.children.flatMap(adaptersOf);
}

/** The adapter's own head, the fusion's for fuse, the last one's for stack and average. */
function defaultHead(r: Resolved): LoadedHead | null {
  switch (r.t) {
    case "adapter":
      return r.adapter.head;
    case "fuse":
      return r.fusion.head;
    default:
      return r.children.length ? defaultHead(r.children[r.children.length - 1]) : null;
  }
}

function chainName(c: Chain): string {
  switch (c.t) {
    case "adapter":
      return c.name;
    case "stack":
      return c.children.length === 1 ? chainName(c.children[0]) : `stack(${c.children.map(chainName).join(",")})`;
    case "fuse":
      return `fuse(${c.children.map(chainName).join(",")})`;
    case "average":
      return `average(${c.children.map(chainName).join(",")})`;
  }
}

/** {layer: {location: [real tokens][adapters]}} for one row, from the graph's fusion outputs. */
function fusionAttention(slots: { kind: string; places?: string[] }[], run: Record<string, { dims: number[]; data: Float32Array }>, n: number, T: number, real: number, fused: Record<number, number>) {
  const out: Record<string, Record<string, number[][]>> = {};
  slots.forEach((s, i) => {
    if (s.kind !== "fusion") return;
    for (const place of s.places ?? []) {
      const o = run[fusionOutputName(i, place)];
      if (!o) continue;
      const F = o.dims[2];
      const used = fused[i] ?? F; // padded (masked) slots are left out
      const [layer, loc] = place.split(".");
      (out[layer] ??= {})[LOCATION_NAME[loc]] = Array.from({ length: real }, (_, t) => Array.from(o.data.subarray((n * T + t) * F, (n * T + t) * F + used)));
    }
  });
  return Object.keys(out).length ? out : null;
}
