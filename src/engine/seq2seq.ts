import type { Catalog, LoadedModel } from "../store/catalog.ts";
import { checkTexts } from "./inputs.ts";
import { CancelledError, CompositionError, InvalidAdapterError } from "../core/errors.ts";
import { seq2seqCost } from "./cost.ts";
import { toBranches, type Chain, type Composition } from "./composition.ts";
import { buildFeeds, planJobs, type Job, type PlannedBranch } from "./plan.ts";
import { chainName, fusionAttention, type Engine } from "./engine.ts";
import { decode, type DecodeOptions } from "./decode.ts";
import { buildSeq2SeqDecoder, buildSeq2SeqEncoder, decoderIO } from "../graph/seq2seq.ts";
import type { Encoded } from "../formats/tokenizer.ts";
import type { Feed, WorkerPool } from "./worker-pool.ts";
import { hasGates, isPerRowInput } from "../graph/spec.ts";

// Translation: encoder-decoder models with adapters in both stacks. The
// encoder graph runs once per job; generation is the decoding loop
// (decode.ts) over the decoder graph with a KV cache kept here, one row per
// beam; scoring runs the decoder once over the shifted targets. Rows of one
// job may use different adapters: each decoder row gathers its source row's
// bank entries, as encoder rows do.

export interface Seq2SeqTask {
  name?: string;
  adapters: Composition | null;
}

export interface GenerateOptions {
  maxNewTokens?: number;
  numBeams?: number;
  lengthPenalty?: number;
  numReturnSequences?: number;
  srcLang?: string;
  tgtLang?: string;
  /** attach the fusion's attention over its adapters to each row's best output: source tokens (encoder layers) and generated tokens (decoder layers) */
  returnFusionAttention?: boolean;
}

export interface GenerateInput {
  model: string;
  inputs: string[];
  tasks: Seq2SeqTask[];
  options: GenerateOptions;
  /** called with each new token of each row as it is chosen (greedy; beam search reports its final tokens at the end) */
  onToken?: (e: { task: string; row: number; token_id: number }) => void;
}

export interface ScoreInput {
  model: string;
  inputs: string[];
  targets: string[];
  tasks: Seq2SeqTask[];
  options: { srcLang?: string; tgtLang?: string; returnFusionAttention?: boolean };
}

/** {layer: {location: [tokens][adapters]}}: encoder layers over the source tokens, decoder layers (numbered after the encoder's) over the target tokens */
export type FusionAttention = Record<string, Record<string, number[][]>>;

export interface Generated {
  text: string;
  token_ids: number[];
  /** the vocabulary's string of each of token_ids */
  tokens?: string[];
  sequence_score?: number;
  fusion_attention?: FusionAttention;
  /** the source was cut to the model's maximum length */
  truncated?: true;
}

export interface Scored {
  token_ids: number[];
  token_logprobs: number[];
  logprob: number;
  fusion_attention?: FusionAttention;
  /** the source or the target was cut to the model's maximum length */
  truncated?: true;
}

export interface Seq2SeqResult<T> {
  name: string;
  /** which inputs the outputs belong to, in order */
  rows: number[];
  /** one per row (for generation: the row's numReturnSequences outputs, best first) */
  outputs: T[];
}

const NEG = -1e9;
const MAX_SOURCE_TOKENS = 1024;

export class Translator {
  constructor(
    private catalog: Catalog,
    private engine: Engine,
    private pool: WorkerPool,
  ) {}

  /** `signal` is the request's: when the client has gone, decoding stops at its next step (CancelledError). */
  async generate(req: GenerateInput, signal?: AbortSignal): Promise<{ model: string; results: Seq2SeqResult<Generated[]>[] }> {
    checkTexts(req.inputs);
    const checked = this.check(req.tasks, req.inputs.length);
    const ticket = this.reserve(req.model, checked);
    try {
      const model = await this.seq2seqModel(req.model);
      const enc = await this.encodeSources(model, req.inputs, req.options.srcLang);
      const opts = this.decodeOptions(model, req.options);
      const plans = await this.plan(model, checked);
      CancelledError.throwIfAborted(signal);
      ticket.admit(seq2seqCost(plans.flatMap((p) => p.branches.map((b) => b.rows)), enc, {
        maxNewTokens: opts.maxNewTokens, numBeams: opts.numBeams, numReturnSequences: opts.numReturnSequences, returnFusionAttention: req.options.returnFusionAttention === true, layers: model.config.layers,
      }));
      return await this.generatePlanned(req, model, enc, opts, plans, signal);
    } finally {
      ticket.release();
    }
  }

  /** The request's rows take their place in the model's queue before anything is loaded or tokenized (admission.ts). */
  private reserve(model: string, checked: ReturnType<Translator["check"]>) {
    return this.engine.admission.reserve(model, checked.reduce((n, t) => n + t.raw.reduce((m, b) => m + b.rows.length, 0), 0));
  }

  private async generatePlanned(req: GenerateInput, model: LoadedModel, enc: Encoded, opts: DecodeOptions, plans: Awaited<ReturnType<Translator["plan"]>>, signal: AbortSignal | undefined) {
    const results: Seq2SeqResult<Generated[]>[] = [];
    for (const { branches, names } of plans) {
      for (const { job, branches: placed } of planJobs(model, branches, enc)) {
        // job row → (task, input row), for streamed tokens
        const where = placed.flatMap(({ branch }) => branches[branch].rows.map((row) => ({ task: names[branch], row })));
        const emit = req.onToken && ((jobRow: number, token: number) => req.onToken!({ ...where[jobRow], token_id: token }));
        const out = await this.generateJob(model, job, opts, emit, signal);
        // The attention a fusion gave while generating is what a teacher-forced pass over the chosen tokens gives.
        const attention = req.options.returnFusionAttention && job.spec.slots.some((sl) => sl.kind === "fusion")
          ? (await this.scoreJob(model, job, out.sequences.map((seqs) => seqs[0]), 0, true)).map((x) => x.fusion_attention)
          : null;
        for (const { branch, offset } of placed) {
          const b = branches[branch];
          results.push({
            name: names[branch],
            rows: b.rows,
            outputs: b.rows.map((row, i) =>
              out.sequences[offset + i].map((ids, k) => ({
                text: model.tokenizer.decode(ids),
                token_ids: ids,
                tokens: ids.map((id) => model.tokenizer.tokenOf(id)),
                ...(out.scores ? { sequence_score: out.scores[offset + i][k] } : {}),
                ...(k === 0 && attention?.[offset + i] ? { fusion_attention: attention[offset + i] } : {}),
                ...(enc.truncated?.[row] ? { truncated: true as const } : {}),
              })),
            ),
          });
        }
      }
    }
    return { model: model.name, results };
  }

  async score(req: ScoreInput, signal?: AbortSignal): Promise<{ model: string; results: Seq2SeqResult<Scored>[] }> {
    if (req.targets.length !== req.inputs.length) throw new CompositionError(`give one target per input: ${req.inputs.length} inputs, ${req.targets.length} targets`, "targets");
    checkTexts(req.inputs);
    const checked = this.check(req.tasks, req.inputs.length);
    const ticket = this.reserve(req.model, checked);
    try {
      const model = await this.seq2seqModel(req.model);
      const enc = await this.encodeSources(model, req.inputs, req.options.srcLang);
      const language = this.language(model, req.options.tgtLang, "tgt_lang");
      const labels = await this.engine.tokenize(model, req.targets, MAX_SOURCE_TOKENS, language ?? undefined);
      const plans = await this.plan(model, checked);
      CancelledError.throwIfAborted(signal);
      ticket.admit(seq2seqCost(plans.flatMap((p) => p.branches.map((b) => b.rows)), enc, {
        maxNewTokens: 0, numBeams: 1, numReturnSequences: 1, targets: labels, returnFusionAttention: req.options.returnFusionAttention === true, layers: model.config.layers,
      }));
      return await this.scorePlanned(req, model, enc, labels, plans, signal);
    } finally {
      ticket.release();
    }
  }

  private async scorePlanned(req: ScoreInput, model: LoadedModel, enc: Encoded, labels: Encoded, plans: Awaited<ReturnType<Translator["plan"]>>, signal: AbortSignal | undefined) {
    const results: Seq2SeqResult<Scored>[] = [];
    for (const { branches, names } of plans) {
      for (const { job, branches: placed } of planJobs(model, branches, enc)) {
        CancelledError.throwIfAborted(signal);
        const rowsOf = placed.flatMap(({ branch }) => branches[branch].rows);
        const targets = rowsOf.map((r) => labels.inputIds[r].slice(0, labels.length[r]));
        const scored = await this.scoreJob(model, job, targets, Math.max(1, ...labels.length), req.options.returnFusionAttention === true);
        for (const { branch, offset } of placed) {
          const b = branches[branch];
          const cut = (row: number) => enc.truncated?.[row] || labels.truncated?.[row];
          results.push({ name: names[branch], rows: b.rows, outputs: b.rows.map((row, i) => (cut(row) ? { ...scored[offset + i], truncated: true as const } : scored[offset + i])) });
        }
      }
    }
    return { model: model.name, results };
  }

  /** Compositions are checked before the model is loaded. */
  private check(tasks: Seq2SeqTask[], n: number) {
    const rows = Array.from({ length: n }, (_, i) => i);
    return tasks.map((task, t) => {
      const path = `tasks[${t}].adapters`;
      const raw: { chain: Chain | null; rows: number[] }[] = task.adapters === null ? [{ chain: null, rows }] : toBranches(task.adapters, rows, path);
      return { task, raw, path };
    });
  }

  private async seq2seqModel(name: string): Promise<LoadedModel> {
    const model = await this.catalog.model(name);
    if (!model.family.seq2seq) throw new InvalidAdapterError("model", name, "is an encoder: it classifies with /v1/predict, it does not generate");
    return model;
  }

  private language(model: LoadedModel, lang: string | undefined, field: string): string | null {
    // a model takes language codes when its tokenizer's template carries one (mBART-50's saved source language)
    const known = model.tokenizer.templateLanguage() ? model.tokenizer.languages() : [];
    if (!known.length) {
      if (lang) throw new CompositionError(`model "${model.name}" has no language codes; leave out ${field}`, `options.${field}`);
      return null;
    }
    if (!lang) throw new CompositionError(`model "${model.name}" needs ${field} (one of ${known.join(", ")})`, `options.${field}`);
    if (!known.includes(lang)) throw new CompositionError(`${field} "${lang}" is not one of model "${model.name}"'s languages: ${known.join(", ")}`, `options.${field}`);
    return lang;
  }

  private encodeSources(model: LoadedModel, inputs: string[], srcLang: string | undefined): Promise<Encoded> {
    const lang = this.language(model, srcLang, "src_lang");
    return this.engine.tokenize(model, inputs, Math.min(MAX_SOURCE_TOKENS, model.family.maxTokens(model.config)), lang ?? undefined);
  }

  private decodeOptions(model: LoadedModel, o: GenerateOptions): DecodeOptions {
    const c = model.config.seq2seq!;
    const tgt = this.language(model, o.tgtLang, "tgt_lang");
    const numBeams = o.numBeams ?? c.numBeams;
    return {
      maxNewTokens: o.maxNewTokens ?? Math.max(1, c.maxLength - 1),
      numBeams,
      lengthPenalty: o.lengthPenalty ?? c.lengthPenalty,
      earlyStopping: c.earlyStopping,
      numReturnSequences: o.numReturnSequences ?? 1,
      minLength: c.minLength,
      noRepeatNgramSize: c.noRepeatNgramSize,
      badWordsIds: c.badWordsIds,
      forcedBosTokenId: tgt ? model.tokenizer.tokenId(tgt)! : c.forcedBosTokenId,
      forcedEosTokenId: c.forcedEosTokenId,
      eosTokenId: c.eosTokenId,
      padTokenId: model.config.padTokenId,
      decoderStartTokenId: c.decoderStartTokenId,
      // transformers' Marian sets the pad logit to -inf during beam search (adjust_logits_during_generation)
      beamSuppressTokenIds: model.family.name === "marian" ? [model.config.padTokenId] : [],
    };
  }

  private async plan(model: LoadedModel, checked: ReturnType<Translator["check"]>) {
    const out: { branches: PlannedBranch[]; names: string[] }[] = [];
    for (const { task, raw, path } of checked) {
      const embeddings = await this.engine.embeddingsOf(task.adapters, model);
      const branches: PlannedBranch[] = [];
      const names: string[] = [];
      for (const [k, b] of raw.entries()) {
        const chain = b.chain ? await this.engine.resolve(b.chain, model, path) : null;
        branches.push({ rows: b.rows, chain, embeddings, head: null });
        const label = task.name ?? (b.chain ? chainName(b.chain) : "base");
        names.push(raw.length > 1 && task.name ? `${label}[${k}]` : label);
      }
      out.push({ branches, names });
    }
    return out;
  }

  private compiled = new Map<string, Set<string>>();

  /** Runs a graph on the worker, building it the first time its key is seen; feeds it only what it takes. */
  /** Runs a graph on the worker, building it the first time its key is seen; feeds it only what it takes. */
  private async run(key: string, build: () => { bytes: Uint8Array; inputs: Set<string>; path?: string }, feeds: Record<string, Feed>, opts: { transfer?: boolean; state?: { id: string; keep?: Record<string, string> }; outputs?: string[] } = {}) {
    let bytes: Uint8Array | string | undefined;
    if (!this.compiled.has(key) || !this.pool.has(key, opts.state?.id)) {
      const built = build();
      bytes = built.path ?? built.bytes;
      this.compiled.set(key, built.inputs);
    }
    const wanted = this.compiled.get(key)!;
    const used = Object.fromEntries(Object.entries(feeds).filter(([k]) => wanted.has(k)));
    // without transfer the buffers are copied: the encoder's feeds are read again for the decoder
    return (await this.pool.run({ graphKey: key, model: bytes, feeds: used, transfer: opts.transfer ?? false, state: opts.state, outputs: opts.outputs })).outputs;
  }

  /** The encoder over the job's rows, and what every decoder run reads of it. */
  private async encode(model: LoadedModel, job: Job) {
    const { feeds, seqLen: T, uniform } = buildFeeds(job);
    const N = job.rows.length;
    const mask = feeds.attention_mask.data as BigInt64Array;
    const bias = Float32Array.from(mask, (m) => (m === 1n ? 0 : NEG));
    feeds.attention_bias = { type: "float32", dims: [N, 1, 1, T], data: bias };
    const spec = { ...job.spec, uniform };
    const variant = `${job.key}|${uniform ? "uniform" : "banked"}|${this.engine.precision}`;
    // graphs keep the model's base weights in its shared weight file (one copy however many graphs)
    const weights = this.engine.weightFile(model);
    const onDisk = (key: string, built: { bytes: Uint8Array; inputs: Set<string> }) => ({ ...built, path: weights?.graph(key, built.bytes) });
    const encoderKey = `${variant}|encoder`;
    const decoderKey = `${variant}|decoder`;
    const out = await this.run(encoderKey, () => onDisk(encoderKey, buildSeq2SeqEncoder(model.family, model.config, model.weights, spec, weights ?? undefined, this.engine.precision)), feeds);
    const decoder = (f: Record<string, Feed>, opts?: Parameters<Translator["run"]>[3]) =>
      this.run(decoderKey, () => onDisk(decoderKey, buildSeq2SeqDecoder(model.family, model.config, model.weights, spec, weights ?? undefined, this.engine.precision)), f, opts);
    const c = model.config;
    const heads = c.seq2seq!.decoderHeads;
    const dh = c.seq2seq!.headDim ?? c.hidden / heads;
    // what the decoder reads of the encoder, once per source: its cross keys and values and the padding bias
    const encoderSide: Record<string, Feed> = { encoder_bias: { type: "float32", dims: [N, 1, 1, T], data: bias } };
    for (let d = 0; d < c.decoderLayers; d++) {
      encoderSide[decoderIO.crossKey(d)] = { type: "float32", dims: [N, heads, T, dh], data: out[decoderIO.crossKey(d)].data };
      encoderSide[decoderIO.crossValue(d)] = { type: "float32", dims: [N, heads, T, dh], data: out[decoderIO.crossValue(d)].data };
    }
    // an empty cache to start from, one row per source
    const emptyPast: Record<string, Feed> = {};
    for (let d = 0; d < c.decoderLayers; d++) {
      emptyPast[decoderIO.pastKey(d)] = { type: "float32", dims: [N, heads, 0, dh], data: new Float32Array(0) };
      emptyPast[decoderIO.pastValue(d)] = { type: "float32", dims: [N, heads, 0, dh], data: new Float32Array(0) };
    }
    return { feeds, encoderSide, emptyPast, T, N, decoder, encoderRun: out };
  }

  private states = 0;

  /**
   * The decoding loop. The worker keeps what every step reads (bank weights,
   * the encoder's keys and values) and the KV cache between steps (a state:
   * the decoder's present keys and values become the next step's past there);
   * each step sends only the new tokens, which row continues which
   * (parent_index) and reads which source (source_index).
   */
  private async generateJob(model: LoadedModel, job: Job, opts: DecodeOptions, emit?: (row: number, token: number) => void, signal?: AbortSignal) {
    const { feeds: jobFeeds, encoderSide, emptyPast, decoder } = await this.encode(model, job);
    const c = model.config;
    const L = c.decoderLayers;
    const V = c.seq2seq!.decoderVocabSize;
    const state = { id: `decode-${this.states++}`, keep: {} as Record<string, string> };
    for (let l = 0; l < L; l++) {
      state.keep[decoderIO.presentKey(l)] = decoderIO.pastKey(l);
      state.keep[decoderIO.presentValue(l)] = decoderIO.pastValue(l);
    }
    const outputs = ["logprobs", ...Object.keys(state.keep)];
    const gated = hasGates(job.spec);
    let P = 0;
    // greedy rows are their sources: each step reveals the previous step's token
    const emitted = new Array<number>(job.rows.length).fill(0);
    const stream = emit && opts.numBeams === 1 ? emit : undefined;
    try {
      const decoded = await decode(job.rows.length, V, { ...opts, stepLogProbs: true }, async (rows) => {
        CancelledError.throwIfAborted(signal);
        const R = rows.length;
        if (stream) for (const r of rows) while (emitted[r.source] < r.tokens.length - 1) stream(r.source, r.tokens[1 + emitted[r.source]++]);
        const sources = rows.map((r) => r.source);
        const f: Record<string, Feed> = {
          ...(P === 0 ? { ...onlyShared(jobFeeds), ...encoderSide, ...emptyPast } : {}),
          ...perRow(jobFeeds, sources),
          decoder_input_ids: { type: "int64", dims: [R, 1], data: BigInt64Array.from(rows, (r) => BigInt(r.tokens[r.tokens.length - 1])) },
          decoder_position_ids: { type: "int64", dims: [R, 1], data: new BigInt64Array(R).fill(BigInt(model.family.padPosition(P, c))) },
          self_bias: { type: "float32", dims: [R, 1, 1, P + 1], data: new Float32Array(R * (P + 1)) },
          parent_index: { type: "int64", dims: [R], data: BigInt64Array.from(rows, (r, i) => BigInt(r.parent ?? i)) },
          source_index: { type: "int64", dims: [R], data: BigInt64Array.from(sources, BigInt) },
          // AdapterHub's cached steps see one new token: its gates average over that token alone
          ...(gated ? { [decoderIO.gateMask]: { type: "float32" as const, dims: [R, 1], data: new Float32Array(R).fill(1) } } : {}),
        };
        const out = await decoder(f, { transfer: true, state, outputs });
        P++;
        return out.logprobs.data;
      });
      // the last tokens (and every token of a beam search) are known only now
      if (emit) decoded.sequences.forEach((seqs, row) => seqs[0].slice(stream ? emitted[row] : 0).forEach((t) => emit(row, t)));
      return decoded;
    } finally {
      this.pool.releaseState(state.id);
    }
  }

  /** `targetPad`: the request's longest target, which AdapterHub pads every target to (learned gates average over it) */
  private async scoreJob(model: LoadedModel, job: Job, targets: number[][], targetPad: number, withAttention = false): Promise<Scored[]> {
    const { feeds, encoderSide, emptyPast, T, N, decoder, encoderRun } = await this.encode(model, job);
    const c = model.config;
    const V = c.seq2seq!.decoderVocabSize;
    const gated = hasGates(job.spec);
    // with gates the run is as long as the request's padded targets, pad tokens included, as the library's batch is
    const S = Math.max(1, ...targets.map((t) => t.length), gated ? targetPad : 0);
    // teacher forcing: the decoder reads the targets shifted right behind the start token
    const ids = new BigInt64Array(N * S).fill(BigInt(c.padTokenId));
    // (the whole target behind the start token, cut at the run's length: a shorter row's last token then sits in its
    // padding, as in AdapterHub's labels[:, :-1]; only gates, which average over every position, see it)
    targets.forEach((t, i) => [c.seq2seq!.decoderStartTokenId, ...t].slice(0, S).forEach((id, s) => (ids[i * S + s] = BigInt(id))));
    const causal = new Float32Array(N * S * S);
    for (let i = 0; i < N; i++) for (let q = 0; q < S; q++) for (let k = q + 1; k < S; k++) causal[(i * S + q) * S + k] = NEG;
    const rows = BigInt64Array.from({ length: N }, (_, i) => BigInt(i));
    const run = await decoder({
      ...feeds,
      ...encoderSide,
      ...emptyPast,
      decoder_input_ids: { type: "int64", dims: [N, S], data: ids },
      decoder_position_ids: { type: "int64", dims: [N, S], data: BigInt64Array.from({ length: N * S }, (_, i) => BigInt(model.family.padPosition(i % S, c))) },
      self_bias: { type: "float32", dims: [N, 1, S, S], data: causal },
      parent_index: { type: "int64", dims: [N], data: rows },
      source_index: { type: "int64", dims: [N], data: rows },
      ...(gated ? { [decoderIO.gateMask]: { type: "float32" as const, dims: [N, S], data: new Float32Array(N * S).fill(1) } } : {}),
    });
    const logprobs = run.logprobs.data;
    return targets.map((t, i) => {
      const token_logprobs = t.map((id, s) => logprobs[(i * S + s) * V + id]);
      const scored: Scored = { token_ids: t, token_logprobs, logprob: token_logprobs.reduce((a, b) => a + b, 0) };
      if (withAttention) {
        const r = job.rows[i];
        const attention = {
          ...fusionAttention(job.spec.slots, encoderRun, i, T, r.ids.length, r.fused),
          ...fusionAttention(job.spec.slots, run, i, S, t.length, r.fused),
        };
        if (Object.keys(attention).length) scored.fusion_attention = attention;
      }
      return scored;
    });
  }
}

/** Per-row feeds (bank indexes, fusion masks, average weights) gathered for decoder rows by their source row. */
function perRow(feeds: Record<string, Feed>, sources: number[]): Record<string, Feed> {
  const out: Record<string, Feed> = {};
  for (const [name, f] of Object.entries(feeds)) {
    if (!isPerRowInput(name)) continue;
    const width = f.dims.slice(1).reduce((a, b) => a * b, 1);
    const data = new (f.data.constructor as { new (n: number): typeof f.data })(sources.length * width);
    sources.forEach((s, i) => (data as Float32Array).set((f.data as Float32Array).subarray(s * width, (s + 1) * width) as Float32Array, i * width));
    out[name] = { type: f.type, dims: [sources.length, ...f.dims.slice(1)], data };
  }
  return out;
}

/** Everything else: what every row shares (the banks' weights). */
function onlyShared(feeds: Record<string, Feed>): Record<string, Feed> {
  return Object.fromEntries(Object.entries(feeds).filter(([name]) => !isPerRowInput(name)));
}
