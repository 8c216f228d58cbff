import type { Catalog, LoadedAdapter, LoadedFusion, LoadedHead, LoadedModel } from "../store/catalog.ts";
import { buildFold } from "../graph/fold.ts";
import { toBranches, type Chain, type Composition } from "./composition.ts";
import { CancelledError, CompositionError, InvalidAdapterError } from "../core/errors.ts";
import { checkPairs, checkTexts } from "./inputs.ts";
import { Admission, type Ticket } from "./admission.ts";
import { predictCost } from "./cost.ts";
import { pace } from "./pace.ts";
import type { Encoded } from "../formats/tokenizer.ts";
import { buildFeeds, planJobs, type Job, type PlannedBranch, type Resolved } from "./plan.ts";
import { Batcher, DEFAULT_BATCH, type BatchOptions, type RunOutputs } from "./batcher.ts";
import { buildEncoder } from "../graph/encoder.ts";
import { buildHead, headInput, headKey, type HeadShape } from "../heads/graph.ts";
import { headType, resultType } from "../heads/index.ts";
import { fusionOutputName, type SlotSpec } from "../graph/spec.ts";
import { foldInputs, type FusionMember } from "../methods/fusion.ts";
import type { Feed, WorkerPool } from "./worker-pool.ts";
import { WeightFile } from "./weight-file.ts";
import type { Precision } from "../graph/quantize.ts";
import { halfMatMulWeights } from "../graph/half.ts";
import { LOCATION_NAMES, type Location } from "../families/index.ts";

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
  type: string;
  /** which inputs the outputs belong to (batch_split branches hold a subset) */
  rows: number[];
  outputs: Record<string, unknown>[];
}

export interface PredictOutput {
  model: string;
  results: TaskResult[];
}


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

/** Tokenizes a request's inputs: in a worker thread when the server has one (tokenizer-pool.ts), so the HTTP thread stays free. */
export type Tokenize = (model: LoadedModel, inputs: Input[], maxLength: number, language?: string) => Promise<Encoded>;

/** A task whose composition was checked and split into branches. */
interface CheckedTask {
  task: PredictInput["tasks"][number];
  raw: { chain: Chain | null; rows: number[] }[];
  path: string;
}

const tokenizeHere: Tokenize = async (model, inputs, maxLength, language) => model.tokenizer.encodeBatch(inputs, maxLength, language);

export class Engine {
  /** Called after every encoder run: given to the constructor (tests swap it to count runs). */
  onRun: EngineObservers["onRun"];

  readonly batcher: Batcher;

  constructor(
    readonly catalog: Catalog,
    private pool: WorkerPool,
    batch: BatchOptions = DEFAULT_BATCH,
    observers: EngineObservers = {},
    /**
     * true: graphs map one shared copy of the base weights (memory does not grow with composition shapes;
     * onnxruntime cannot prepack shared weights, ~7% slower on this CPU). false: each graph carries its own
     * prepacked copy (faster; memory grows with each shape, bounded by the pool's graph limits).
     */
    private shareWeights = true,
    /**
     * fp32 (exact, the default); int8: the base model's linear layers dynamically quantised (faster, approximate);
     * fp16: its MatMuls in half precision (a pass over the built graph, src/graph/half.ts; each graph then carries
     * its own weights)
     */
    readonly precision: Precision = "fp32",
    /** what one request may ask for and how much work a model holds at once */
    readonly admission = new Admission(),
    readonly tokenize: Tokenize = tokenizeHere,
  ) {
    this.onRun = observers.onRun;
    this.batcher = new Batcher((job) => this.runJob(job), batch);
  }

  /**
   * `signal` is the request's: when it aborts (the client has gone), jobs still
   * waiting for a batch are dropped and the request ends with CancelledError.
   */
  async predict(req: PredictInput, signal?: AbortSignal): Promise<PredictOutput> {
    checkTexts(req.inputs);
    const rows = req.inputs.map((_, i) => i);
    // The compositions are checked before anything is loaded.
    const tasks = req.tasks.map((task, t): CheckedTask => {
      const path = `tasks[${t}].adapters`;
      const raw: { chain: Chain | null; rows: number[] }[] = task.adapters === null ? [{ chain: null, rows }] : toBranches(task.adapters, rows, path);
      if (Array.isArray(task.head) && task.head.length !== raw.length) {
        throw new CompositionError(`tasks[${t}] has ${raw.length} branches but ${task.head.length} heads`, `tasks[${t}].head`);
      }
      return { task, raw, path };
    });
    // The request's rows take their place in the model's queue before anything is loaded or tokenized:
    // under overload the excess is refused here, at almost no cost.
    const ticket = this.admission.reserve(req.model, tasks.reduce((n, t) => n + t.raw.reduce((m, b) => m + b.rows.length, 0), 0));
    try {
      return await this.predictAdmitted(req, tasks, ticket, signal);
    } finally {
      // after every job of the request has settled: the queue counts work that is really still there
      ticket.release();
    }
  }

  private async predictAdmitted(req: PredictInput, tasks: CheckedTask[], ticket: Ticket, signal?: AbortSignal): Promise<PredictOutput> {
    const model = await this.catalog.model(req.model);
    if (model.family.seq2seq) throw new InvalidAdapterError("model", model.name, "is an encoder-decoder model: use /v1/generate or /v1/score");
    const enc = await this.tokenize(model, req.inputs, Math.min(req.options.maxLength, model.family.maxTokens(model.config)));
    CancelledError.throwIfAborted(signal);
    const branches: (PlannedBranch & { task: number; name: string; headName: string | null })[] = [];
    for (const [t, { task, raw, path }] of tasks.entries()) {
      // Hooks on the embeddings (invertible adapters) run once for the whole
      // input, before Parallel and BatchSplit divide it: AdapterHub takes them
      // from the composition's first adapter, for every branch.
      const embeddings = await this.embeddingsOf(task.adapters, model);
      for (const [k, b] of raw.entries()) {
        const chain = b.chain ? await this.resolve(b.chain, model, path) : null;
        const wanted = Array.isArray(task.head) ? task.head[k] : task.head;
        const head = wanted ? await this.catalog.findHead(wanted, model) : chain ? defaultHead(chain) : null;
        const label = task.name ?? (b.chain ? chainName(b.chain) : "base");
        branches.push({ task: t, rows: b.rows, chain, embeddings, head, name: raw.length > 1 && task.name ? `${label}[${k}]` : label, headName: head?.config.name ?? null });
      }
    }
    CancelledError.throwIfAborted(signal);

    checkPairs(branches, req.inputs);
    const H = model.config.hidden;
    // The whole request's work and answer size, known before any encoder run: refused here when over budget or when the queue is full.
    ticket.admit(predictCost(branches, enc, { hidden: H, ...req.options }));
    const results: TaskResult[] = branches.map((b) => ({ name: b.name, head: b.headName, type: resultType(b.head?.config ?? null), rows: b.rows, outputs: [] }));
    const settled = await Promise.allSettled(
      planJobs(model, branches, enc).map(async ({ job, branches: placed }) => {
        const run = await this.batcher.submit(job, signal);
        const hidden = run.last_hidden_state.data;
        const T = run.last_hidden_state.dims[1];
        for (const { branch: bi, offset } of placed) {
          const b = branches[bi];
          const n = b.rows.length;
          const slice = hidden.subarray(offset * T * H, (offset + n) * T * H);
          const logits = b.head ? await this.runHead(model, b.head, slice, n, T) : null;
          const perRow = logits ? logits.length / n : 0;
          const outputs: Record<string, unknown>[] = [];
          for (const [i, row] of b.rows.entries()) {
            await pace();
            const ctx = { enc, row, inputs: req.inputs, returnLogits: req.options.returnLogits };
            const out: Record<string, unknown> = b.head ? headType(b.head.config).output(b.head.config, logits!.subarray(i * perRow, (i + 1) * perRow), ctx) : {};
            // said, not silently: the answer is about the part that fit
            if (enc.truncated?.[row]) out.truncated = true;
            if (req.options.returnHiddenStates || !b.head) out.last_hidden_state = hiddenRows(hidden, offset + i, T, H, enc.length[row]);
            if (req.options.returnFusionAttention) {
              const fa = fusionAttention(job.spec.slots, run, offset + i, T, enc.length[row], job.rows[offset + i].fused);
              if (fa) out.fusion_attention = fa;
            }
            outputs.push(out);
          }
          results[bi].outputs = outputs;
        }
      }),
    );
    CancelledError.throwIfAborted(signal);
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    return { model: model.name, results };
  }

  /**
   * Loads a model and compiles the graphs of the given compositions by
   * running one short row through each, so the first real request does not
   * pay for compilation. Also proves the execution provider works (a CUDA
   * request on a machine without CUDA fails here, at start).
   */
  async warm(model: string, compositions: (Composition | null)[] = []): Promise<void> {
    const loaded = await this.catalog.model(model);
    // encoder-decoder graphs are built on their first request
    if (loaded.family.seq2seq) return;
    for (const adapters of compositions) {
      await this.predict({
        model,
        inputs: ["warm up"],
        tasks: [{ adapters }],
        options: { maxLength: 8, returnLogits: false, returnHiddenStates: false, returnFusionAttention: false },
      });
    }
  }

  /** The adapter whose embedding hooks apply to a whole task: its composition's first adapter, if it has any. */
  async embeddingsOf(adapters: Composition | null, model: LoadedModel): Promise<LoadedAdapter | null> {
    const first = adapters === null ? null : await this.catalog.adapter(firstName(adapters), model);
    return first && first.parts.some((p) => p.method.embeddings) ? first : null;
  }

  /** Replaces names by loaded adapters and fusions, checking what can be combined. */
  async resolve(c: Chain, model: LoadedModel, path: string): Promise<Resolved> {
    switch (c.t) {
      case "adapter":
        return { t: "adapter", adapter: await this.catalog.adapter(c.name, model) };
      case "stack": {
        const children = await Promise.all(c.children.map((x) => this.resolve(x, model, path)));
        // AdapterHub's prefix layer looks every stacked adapter up among its prefixes at each attention that has one, and fails on one without
        const adapters = children.flatMap(adaptersOf);
        const places = (a: LoadedAdapter) => a.parts.find((p) => p.method.name === "prefix")?.spec.places.join(",") ?? null;
        const prefixed = adapters.find((a) => places(a) !== null);
        const odd = prefixed && adapters.find((a) => places(a) !== places(prefixed));
        if (prefixed && odd) {
          const why = places(odd) === null ? "which has no prefix" : "whose prefixes sit at other attention layers";
          throw new CompositionError(`stack mixes prefix-tuned adapter "${prefixed.name}" with "${odd.name}", ${why}: AdapterHub 3.2.1 refuses such a stack`, path);
        }
        return { t: "stack", children };
      }
      case "average":
      case "fuse": {
        const children = await Promise.all(c.children.map((x) => this.resolve(x, model, path)));
        for (const a of children.flatMap(adaptersOf)) {
          const odd = a.parts.find((p) => !p.method.composable);
          if (odd) throw new CompositionError(`${odd.method.name} adapter "${a.name}" cannot be used inside ${c.t}: only bottleneck adapters act where ${c.t} combines`, path);
        }
        if (c.t === "average") return { t: "average", weights: c.weights, children };
        // AdapterHub names a fusion after each child's last adapter: Fuse(Stack(lang, a), b) is the fusion "a,b".
        const names = c.children.map(lastName);
        const fusion = c.fusion ? await this.catalog.fusion(c.fusion, model) : await this.catalog.findFusion(names, model);
        if (fusion.adapters.length === names.length && fusion.adapters.join(",") !== names.join(",")) {
          throw new InvalidAdapterError("fusion", fusion.name, `was trained on [${fusion.adapters.join(", ")}], not [${names.join(", ")}]`);
        }
        if (fusion.adapters.length !== children.length) {
          throw new InvalidAdapterError("fusion", fusion.name, `fuses ${fusion.adapters.length} adapters, the composition gives ${children.length}`);
        }
        checkFusedPlaces(fusion, children);
        return { t: "fuse", fusion, member: await this.fusionMember(fusion), children };
      }
    }
  }

  private members = new WeakMap<LoadedFusion, Promise<FusionMember>>();

  /**
   * A fusion as its slot's bank holds it: one object per loaded fusion, so
   * rows of different requests share a bank entry. With query and key,
   * score_i = (W_q x + b_q)·(W_k u_i + b_k) and W_kᵀ(W_q x + b_q) =
   * (W_q'·W_k)·x + b_q·W_k in row form: the two products fold into one matrix
   * per layer, computed once per fusion version on the worker.
   */
  fusionMember(f: LoadedFusion): Promise<FusionMember> {
    let p = this.members.get(f);
    if (!p) {
      p = (async () => {
        if (!(f.config.query && f.config.key)) return { weights: f.weights, folded: null };
        // Folded once per loaded fusion, whichever engine serves it first. The inputs are taken in this tick,
        // before any await, so an engine that starts while another folds still finds query and key.
        if (!f.folded) {
          const { places, H, a, b, c } = foldInputs(f.weights);
          const L = places.length;
          const key = "fold";
          const res = await this.pool.run({
            graphKey: key,
            model: this.pool.has(key) ? undefined : buildFold(),
            feeds: { a: { type: "float32", dims: [L, H, H], data: a }, b: { type: "float32", dims: [L, H, H], data: b }, c: { type: "float32", dims: [L, 1, H], data: c } },
            noArena: true,
          });
          const w = res.outputs.w.data;
          const bias = res.outputs.bias.data;
          f.folded ??= new Map(places.map((place, i) => [place, { w: { shape: [H, H], data: w.subarray(i * H * H, (i + 1) * H * H) }, b: { shape: [H], data: bias.subarray(i * H, (i + 1) * H) } }]));
          // inference reads only the fold: a bert-base fusion's query and key are 56 MB
          for (const place of f.weights.values()) place.query = place.key = null;
        }
        return { weights: f.weights, folded: f.folded };
      })();
      this.members.set(f, p);
      p.catch(() => this.members.delete(f));
    }
    return p;
  }

  private encoderInputs = new Map<string, Set<string>>();
  private weightFiles = new WeakMap<LoadedModel, WeightFile>();

  /** The file every graph of this model (this version of it) keeps its base weights in; null when each graph carries its own (shareWeights false). */
  weightFile(model: LoadedModel): WeightFile | null {
    // fp16 halves the weights of the built graph (src/graph/half.ts), which needs them inside it
    if (!this.shareWeights || this.precision === "fp16") return null;
    let f = this.weightFiles.get(model);
    if (!f) this.weightFiles.set(model, (f = new WeightFile()));
    return f;
  }

  /** Encoder graphs built so far (one per composition shape). */
  get compiledGraphs(): number {
    return this.encoderInputs.size;
  }

  /** One encoder run on the worker; the graph is built the first time its key is seen. */
  private async runJob(job: Job): Promise<RunOutputs> {
    const started = performance.now();
    const { feeds, seqLen, uniform } = buildFeeds(job);
    // A batch where every row uses the same adapters runs a variant without per-row gathers.
    const key = `${job.key}|${uniform ? "uniform" : "banked"}|${this.precision}`;
    let graph: Uint8Array | string | undefined;
    if (!this.encoderInputs.has(key) || !this.pool.has(key)) {
      const weights = this.weightFile(job.model);
      const built = buildEncoder(job.model.family, job.model.config, job.model.weights, { ...job.spec, uniform }, weights ?? undefined, this.precision);
      graph = weights ? weights.graph(key, built.bytes) : this.precision === "fp16" ? halfMatMulWeights(built.bytes) : built.bytes;
      this.encoderInputs.set(key, built.inputs);
    }
    const wanted = this.encoderInputs.get(key)!;
    const used = Object.fromEntries(Object.entries(feeds).filter(([k]) => wanted.has(k)));
    const res = await this.pool.run({ graphKey: key, model: graph, feeds: used });
    const tokens = job.rows.reduce((n, r) => n + r.ids.length, 0);
    this.onRun?.({ rows: job.rows.length, seqLen, tokens, ms: performance.now() - started });
    return res.outputs;
  }

  private async runHead(model: LoadedModel, head: LoadedHead, hidden: Float32Array, n: number, T: number): Promise<Float32Array> {
    const c = head.config;
    const shape: HeadShape = { read: headType(c).read, pooler: c.usePooler, layers: head.weights.layers.length, act: c.activation };
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
    const res = await this.pool.run({ graphKey: key, model: this.pool.has(key) ? undefined : buildHead(shape), feeds, cpu: true });
    return res.outputs.logits.data;
  }
}

function adaptersOf(r: Resolved): LoadedAdapter[] {
  return r.t === "adapter" ? [r.adapter] : r.children.flatMap(adaptersOf);
}

/** Where a chain's bottleneck adapters act ("<layer>.<location>"). */
function locations(r: Resolved): Set<string> {
  if (r.t === "adapter") return new Set(r.adapter.parts.filter((p) => p.method.name === "bottleneck").flatMap((p) => p.spec.places));
  return new Set(r.children.flatMap((c) => [...locations(c)]));
}

const describePlaces = (s: Set<string>) => [...s].sort().map((p) => p.replace(/\.(mh|cross|out)$/, (_, l: string) => ` ${LOCATION_NAMES[l as Location]}`)).join(", ") || "none";

/** AdapterFusion needs every fused adapter, and its own weights, at the same places (same leave_out and locations). */
function checkFusedPlaces(fusion: LoadedFusion, children: Resolved[]) {
  const sets = children.map(locations);
  const names = children.map((c) => (c.t === "adapter" ? `"${c.adapter.name}"` : `child ${children.indexOf(c) + 1}`));
  const key = (s: Set<string>) => [...s].sort().join(",");
  const odd = sets.findIndex((s) => key(s) !== key(sets[0]));
  if (odd > 0) {
    throw new InvalidAdapterError("fusion", fusion.name, `its adapters act at different places (their leave_out or mh_adapter/output_adapter differ): ${names[0]} at ${describePlaces(sets[0])}; ${names[odd]} at ${describePlaces(sets[odd])}`);
  }
  const missing = [...sets[0]].filter((p) => !fusion.weights.has(p));
  if (missing.length) throw new InvalidAdapterError("fusion", fusion.name, `has no weights at ${describePlaces(new Set(missing))}, where the fused adapters act`);
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

export function chainName(c: Chain): string {
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

/** [real tokens][hidden] for one row of a [N, T, H] output. */
function hiddenRows(data: Float32Array, n: number, T: number, H: number, real: number): number[][] {
  return Array.from({ length: real }, (_, t) => Array.from(data.subarray((n * T + t) * H, (n * T + t + 1) * H)));
}

/** The last adapter of a chain: AdapterCompositionBlock.last(). */
function lastName(c: Chain): string {
  return c.t === "adapter" ? c.name : lastName(c.children[c.children.length - 1]);
}

/** The first adapter of a composition, as AdapterHub's first() finds it (through every block, Parallel included). */
function firstName(c: Composition): string {
  if (typeof c === "string") return c;
  const children = "stack" in c ? c.stack : "fuse" in c ? c.fuse : "parallel" in c ? c.parallel : "batch_split" in c ? c.batch_split : c.average;
  return firstName(children[0]);
}

/** {layer: {location: [real tokens][adapters]}} for one row, from the graph's fusion outputs. */
export function fusionAttention(slots: SlotSpec[], run: Record<string, { dims: number[]; data: Float32Array }>, n: number, T: number, real: number, fused: Record<number, number>) {
  const out: Record<string, Record<string, number[][]>> = {};
  slots.forEach((s, i) => {
    if (s.kind !== "fusion") return;
    for (const place of s.places) {
      const o = run[fusionOutputName(i, place)];
      if (!o) continue;
      const F = o.dims[2];
      const used = fused[i] ?? F; // padded (masked) slots are left out
      const [layer, loc] = place.split(".");
      (out[layer] ??= {})[LOCATION_NAMES[loc as Location]] = Array.from({ length: real }, (_, t) => Array.from(o.data.subarray((n * T + t) * F, (n * T + t) * F + used)));
    }
  });
  return Object.keys(out).length ? out : null;
}
