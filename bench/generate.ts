// The generation section of `npm run bench` (also alone: `npm run bench:generate`): translation with adapters,
// through the engine (Translator in-process) and over HTTP, and AdapterHub's generate() on the same store in the
// same run when POLYHEAD_REFERENCE_PYTHON names a python with adapter-transformers 3.2.1 (e.g. /tmp/ah/python).
//
// The store (bench/seq2seq-store.ts): BART's architecture at Marian / opus-mt size (6 + 6 layers, d_model 512,
// 8 heads, FFN 2048, vocab 32000), 8 Bapna & Firat adapters, random weights. Every source row is exactly
// SOURCE_TOKENS tokens; EOS can never be chosen (its logit bias is -1e4), so every row generates exactly the
// requested number of new tokens, on both sides (checked).
//
// Measured, each comparison alternating its sides after a warm-up, medians:
//   greedy and beam 4, batch 1 and 8 (one adapter), 32 new tokens: polyhead vs AdapterHub, tokens/s; and greedy
//   batch 8 with polyhead at --precision int8 (AdapterHub in fp32)
//   batch 8 with 8 different adapters (batch_split, one request) vs one adapter, greedy and beam 4
//   ms per new token for 16, 32 and 64 new tokens (greedy, batch 8): the KV cache keeps a step's cost flat
//   HTTP POST /v1/generate vs the engine (8 adapters, greedy)
// and where a decode step's time goes (decoder graph runs on the worker vs JavaScript around them).
//
// Env: BENCH_QUICK=1 (tiny model, fewer repetitions), BENCH_KEEP=1 (keep the store), POLYHEAD_REFERENCE_PYTHON.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Engine } from "../src/engine/engine.ts";
import { DEFAULT_BATCH } from "../src/engine/batcher.ts";
import { Translator, type GenerateInput } from "../src/engine/seq2seq.ts";
import { WorkerPool, type RunRequest } from "../src/engine/worker-pool.ts";
import { Catalog } from "../src/store/catalog.ts";
import { LocalStore } from "../src/store/local-store.ts";
import { serve } from "../src/server/serve.ts";
import type { Composition } from "../src/engine/composition.ts";
import { MARIAN_SIZE, QUICK_SIZE, writeSeq2SeqStore, type Seq2SeqStoreOptions } from "./seq2seq-store.ts";
import { startReferenceProcess } from "./reference.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(HERE, "..");

export interface Row {
  metric: string;
  value: string;
  target: string;
  ok: boolean | null;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const rel = (x: number) => `${x.toFixed(3)}×`;

interface Plan {
  store: Seq2SeqStoreOptions;
  rows: number;
  sourceTokens: number;
  newTokens: number;
  lengths: number[];
  reps: number;
  /** repetitions of the beam-search comparisons at batch 8 (the slowest) */
  beamReps: number;
}

const FULL: Plan = { store: MARIAN_SIZE, rows: 8, sourceTokens: 32, newTokens: 32, lengths: [16, 32, 64], reps: 5, beamReps: 3 };
const QUICK: Plan = { store: QUICK_SIZE, rows: 8, sourceTokens: 32, newTokens: 32, lengths: [16, 32, 64], reps: 5, beamReps: 3 };

// ---------------------------------------------------------------- inputs

/** `rows` different texts of exactly `tokens` tokens (bart-s2s's BPE: " the" is one token). */
function sources(tokenize: (t: string) => number, rows: number, tokens: number): string[] {
  const words = ["the film was good", "a long story", "it was the best", "what a day", "the house is red", "we went home", "she reads books", "good morning"];
  return Array.from({ length: rows }, (_, i) => {
    let text = "the";
    for (let k = 0; ; k++) {
      const next = `${text} ${words[(i + k) % words.length]}`;
      if (tokenize(next) > tokens) break;
      text = next;
    }
    while (tokenize(text) < tokens) text += " the";
    if (tokenize(text) !== tokens) throw new Error(`source row ${i} tokenizes to ${tokenize(text)} tokens, not ${tokens}`);
    return text;
  });
}

// ---------------------------------------------------------------- the PyTorch side

interface Reference {
  info: Record<string, unknown>;
  run(req: { batch: number; beams: number; new_tokens: number; adapters: string | string[] }): Promise<{ ms: number; token_ids: number[][] }>;
  close(): void;
}

async function startReference(python: string, dir: string, model: string, inputIds: number[][], log: (s: string) => void): Promise<Reference> {
  const inputs = path.join(dir, "reference-inputs.json");
  writeFileSync(inputs, JSON.stringify({ input_ids: inputIds }));
  const ref = await startReferenceProcess(python, path.join(ROOT, "tools/adapterhub/bench_generate.py"), [dir, model, inputs]);
  const ready = ref.ready;
  const calibration = Object.entries(ready.calibration_ms_by_threads as Record<string, number>).map(([n, t]) => `${n}: ${ms(t)}`).join(", ");
  log(`    AdapterHub ${ready.transformers} (torch ${ready.torch}${ready.mkl ? "" : ", no MKL"}) loaded the model and ${ready.adapters.length} adapters in ${(ready.load_s as number).toFixed(1)} s; torch intra-op threads ${ready.threads}${calibration ? ` (the faster here; 8 greedy tokens at batch 8 by threads: ${calibration})` : ""}`);
  return {
    info: ready,
    async run(req) {
      const res = await ref.ask({ ...req, reps: 1 }, "generate");
      return { ms: res.ms[0], token_ids: res.token_ids };
    },
    close: () => ref.close(),
  };
}

// ---------------------------------------------------------------- main

export interface GenerationOptions {
  quick: boolean;
  keep?: boolean;
  /** a python with adapter-transformers 3.2.1, or null to skip the PyTorch side */
  python: string | null;
  log?: (s: string) => void;
}

export async function generationBench(o: GenerationOptions): Promise<{ rows: Row[]; result: Record<string, unknown> }> {
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const P = o.quick ? QUICK : FULL;
  const t0 = performance.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), "polyhead-bench-gen-"));
  const cleanups: (() => unknown)[] = [];
  const result: Record<string, unknown> = { store: P.store, shape: { rows: P.rows, source_tokens: P.sourceTokens, new_tokens: P.newTokens } };
  const rows: Row[] = [];
  const started = performance.now();
  const stamp = () => `(+${((performance.now() - started) / 1000).toFixed(1)} s)`;
  try {
    let t = performance.now();
    const S = P.store;
    const adapters = writeSeq2SeqStore(dir, S);
    result.store_write_ms = performance.now() - t;
    log(`  generation: wrote a random ${o.quick ? "tiny (BENCH_QUICK)" : "Marian/opus-mt-sized"} BART store (d_model ${S.dModel}, ${S.encoderLayers}+${S.decoderLayers} layers, vocab ${S.vocab}, ${adapters.length} Bapna & Firat adapters) in ${ms(result.store_write_ms as number)} ${stamp()}`);

    // polyhead: the engine in-process, one inference worker (as `polyhead serve` by default)
    const pool = new WorkerPool({ threads: 1 });
    cleanups.push(() => pool.close());
    // where a decode step's time goes: the worker round trips (graph run + messages), by graph
    const runs: { graph: "encoder" | "decoder"; ms: number; feedBytes: number }[] = [];
    const poolRun = pool.run.bind(pool);
    pool.run = async (req: RunRequest) => {
      const feedBytes = Object.values(req.feeds).reduce((n, f) => n + f.data.byteLength, 0);
      const s = performance.now();
      const out = await poolRun(req);
      runs.push({ graph: req.graphKey.endsWith("|encoder") ? "encoder" : "decoder", ms: performance.now() - s, feedBytes });
      return out;
    };
    const catalog = new Catalog(new LocalStore(dir));
    const engine = new Engine(catalog, pool);
    const translator = new Translator(catalog, engine, pool);
    // --precision int8: the same model with its linear layers (and LM head) quantised; its graphs have their own keys
    const translator8 = new Translator(catalog, new Engine(catalog, pool, DEFAULT_BATCH, {}, true, "int8"), pool);
    t = performance.now();
    const model = await catalog.model(S.model);
    result.model_load_ms = performance.now() - t;
    const texts = sources((x) => model.tokenizer.encodeBatch([x], 1024).length[0], P.rows, P.sourceTokens);
    const inputIds = model.tokenizer.encodeBatch(texts, 1024).inputIds.map((ids) => ids.slice(0, P.sourceTokens));
    const split = { batch_split: adapters.slice(0, P.rows), sizes: Array(P.rows).fill(1) } as Composition;

    interface Case { batch: number; beams: number; newTokens: number; adapters: "a0" | "split"; int8?: boolean }
    const label = (c: Case) => `${c.beams === 1 ? "greedy" : `beam ${c.beams}`}, batch ${c.batch}${c.adapters === "split" ? ` (${c.batch} adapters)` : ""}, ${c.newTokens} tokens${c.int8 ? ", polyhead int8" : ""}`;
    const tokens = new Map<string, number[][]>();
    const poly = async (c: Case) => {
      const req: GenerateInput = {
        model: S.model,
        inputs: texts.slice(0, c.batch),
        tasks: [{ adapters: c.adapters === "split" ? split : "a0" }],
        options: { maxNewTokens: c.newTokens, numBeams: c.beams },
      };
      runs.length = 0;
      const s = performance.now();
      const out = await (c.int8 ? translator8 : translator).generate(req);
      const took = performance.now() - s;
      const ids = out.results.flatMap((r) => r.outputs.map((x) => x[0].token_ids));
      for (const [i, x] of ids.entries()) if (x.length !== c.newTokens) throw new Error(`${label(c)}: row ${i} generated ${x.length} tokens, not ${c.newTokens}`);
      tokens.set(`poly ${label(c)}`, ids);
      const enc = runs.filter((r) => r.graph === "encoder");
      const dec = runs.filter((r) => r.graph === "decoder");
      return { ms: took, encoderMs: enc.reduce((n, r) => n + r.ms, 0), decoderMs: dec.map((r) => r.ms), feedBytes: dec.map((r) => r.feedBytes) };
    };

    let ref: Reference | null = null;
    if (o.python) {
      try {
        ref = await startReference(o.python, dir, S.model, inputIds, log);
        const r = ref;
        cleanups.push(() => r.close());
        result.reference = ref.info;
      } catch (e) {
        result.reference = { skipped: (e as Error).message };
        log(`    PyTorch side skipped: ${(e as Error).message}`);
      }
    } else {
      result.reference = { skipped: "POLYHEAD_REFERENCE_PYTHON is not set" };
      log("    PyTorch side skipped: set POLYHEAD_REFERENCE_PYTHON to a python with adapter-transformers 3.2.1 (e.g. /tmp/ah/python)");
    }
    const torch = async (c: Case) => {
      const res = await ref!.run({ batch: c.batch, beams: c.beams, new_tokens: c.newTokens, adapters: c.adapters === "split" ? adapters.slice(0, c.batch) : "a0" });
      for (const [i, x] of res.token_ids.entries()) if (x.length !== c.newTokens) throw new Error(`AdapterHub ${label(c)}: row ${i} generated ${x.length} tokens, not ${c.newTokens}`);
      tokens.set(`torch ${label(c)}`, res.token_ids);
      return res.ms;
    };

    /** Sides alternate (a, b, b, a, ...) after one warm-up each. */
    const compare = async <A, B>(name: string, reps: number, a: () => Promise<A>, b: () => Promise<B>, time: (x: A | B) => number) => {
      await a();
      await b();
      const sa: A[] = [];
      const sb: B[] = [];
      for (let i = 0; i < reps; i++) {
        if (i % 2) {
          sb.push(await b());
          sa.push(await a());
        } else {
          sa.push(await a());
          sb.push(await b());
        }
      }
      const ma = median(sa.map(time));
      const mb = median(sb.map(time));
      log(`    ${name}: ${ms(ma)} vs ${ms(mb)} ${stamp()}`);
      return { a: sa, b: sb, ma, mb, paired: median(sa.map((x, i) => time(sb[i]) / time(x))) };
    };
    const polyMs = (x: unknown) => (typeof x === "number" ? x : (x as { ms: number }).ms);

    const N = P.newTokens;
    const B = P.rows;
    const cases: Case[] = [
      { batch: 1, beams: 1, newTokens: N, adapters: "a0" },
      { batch: B, beams: 1, newTokens: N, adapters: "a0" },
      { batch: 1, beams: 4, newTokens: N, adapters: "a0" },
      { batch: B, beams: 4, newTokens: N, adapters: "a0" },
      { batch: B, beams: 1, newTokens: N, adapters: "a0", int8: true },
    ];
    const vsTorch: Record<string, { case: Case; polyhead_ms: number[]; pytorch_ms?: number[]; polyhead_median: number; pytorch_median?: number; tokens_per_s: number; pytorch_tokens_per_s?: number; speedup?: number; paired_speedup?: number }> = {};
    const polyRuns: Record<string, Awaited<ReturnType<typeof poly>>[]> = {};
    log(`  generation: polyhead${ref ? " vs AdapterHub (alternating)" : ""}, ${N} new tokens ${stamp()}`);
    for (const c of cases) {
      const reps = c.batch > 1 && c.beams > 1 ? P.beamReps : P.reps;
      const toks = c.batch * c.newTokens;
      if (ref) {
        const r = await compare(label(c), reps, () => poly(c), () => torch(c), polyMs);
        polyRuns[label(c)] = r.a;
        vsTorch[label(c)] = {
          case: c, polyhead_ms: r.a.map((x) => x.ms), pytorch_ms: r.b, polyhead_median: r.ma, pytorch_median: r.mb,
          tokens_per_s: (toks * 1000) / r.ma, pytorch_tokens_per_s: (toks * 1000) / r.mb, speedup: r.mb / r.ma, paired_speedup: r.paired,
        };
      } else {
        await poly(c);
        const xs = [];
        for (let i = 0; i < reps; i++) xs.push(await poly(c));
        polyRuns[label(c)] = xs;
        const m = median(xs.map((x) => x.ms));
        log(`    ${label(c)}: ${ms(m)} ${stamp()}`);
        vsTorch[label(c)] = { case: c, polyhead_ms: xs.map((x) => x.ms), polyhead_median: m, tokens_per_s: (toks * 1000) / m };
      }
    }
    result.polyhead_vs_pytorch = vsTorch;

    // does AdapterHub give the same tokens? (random weights: near-ties may flip a token here and there)
    const agree = (k: string) => {
      const a = tokens.get(`poly ${k}`);
      const b = tokens.get(`torch ${k}`);
      if (!a || !b) return null;
      return { rows: a.length, same_rows: a.filter((x, i) => x.join() === b[i].join()).length };
    };
    result.same_tokens_as_pytorch = Object.fromEntries(cases.map((c) => [label(c), agree(label(c))]));

    log(`  generation: ${B} different adapters in one batch (batch_split) vs one adapter ${stamp()}`);
    const greedy1 = cases[1];
    const greedyS: Case = { ...greedy1, adapters: "split" };
    const beamS: Case = { ...cases[3], adapters: "split" };
    const sg = await compare("greedy: one adapter vs 8", P.reps, () => poly(greedy1), () => poly(greedyS), polyMs);
    const sb = await compare("beam 4: one adapter vs 8", P.beamReps, () => poly(cases[3]), () => poly(beamS), polyMs);
    result.batch_split_vs_one = { greedy: { one_ms: sg.a.map(polyMs), split_ms: sg.b.map(polyMs), ratio: sg.mb / sg.ma, paired: sg.paired }, beam4: { one_ms: sb.a.map(polyMs), split_ms: sb.b.map(polyMs), ratio: sb.mb / sb.ma, paired: sb.paired } };

    let torchSplit: { ms: number[]; median: number; ratio_to_one: number } | { error: string } | null = null;
    if (ref) {
      try {
        // against its one-adapter runs above (same run, not interleaved with these)
        await torch(greedyS);
        const xs: number[] = [];
        for (let i = 0; i < P.reps; i++) xs.push(await torch(greedyS));
        const one = vsTorch[label(greedy1)].pytorch_median!;
        torchSplit = { ms: xs, median: median(xs), ratio_to_one: median(xs) / one };
        log(`    AdapterHub BatchSplit of ${B}, greedy: ${ms(median(xs))} (one adapter ${ms(one)}) ${stamp()}`);
        result.same_tokens_as_pytorch = { ...(result.same_tokens_as_pytorch as object), [label(greedyS)]: agree(label(greedyS)) };
      } catch (e) {
        torchSplit = { error: (e as Error).message.split("\n")[0] };
        log(`    AdapterHub BatchSplit of ${B}: ${torchSplit.error}`);
      }
      result.pytorch_batch_split = torchSplit;
    }

    log(`  generation: ms per new token for ${P.lengths.join(", ")} new tokens (greedy, batch ${B}) ${stamp()}`);
    const byLength: Record<number, Awaited<ReturnType<typeof poly>>[]> = {};
    const lengthCases = P.lengths.map((n): Case => ({ ...greedy1, newTokens: n }));
    for (const c of lengthCases) await poly(c); // warm-up (the longer past needs no new graph, but onnxruntime's first shapes are slower)
    for (let i = 0; i < P.reps; i++) {
      const order = i % 2 ? [...lengthCases].reverse() : lengthCases;
      for (const c of order) (byLength[c.newTokens] ??= []).push(await poly(c));
    }
    const perToken = Object.fromEntries(P.lengths.map((n) => [n, median(byLength[n].map((x) => x.ms)) / n]));
    // the decoder steps alone (no encoder run): their cost at the start and at the end of the longest run
    const longest = Math.max(...P.lengths);
    const stepMs = (from: number, to: number) => median(byLength[longest].map((x) => x.decoderMs.slice(from, to).reduce((a, b) => a + b, 0) / (to - from)));
    const quarter = longest / 4;
    const firstSteps = stepMs(0, quarter);
    const lastSteps = stepMs(longest - quarter, longest);
    log(`    ms/token: ${P.lengths.map((n) => `${n}: ${perToken[n].toFixed(2)}`).join(", ")}; decoder run, steps 1-${quarter}: ${ms(firstSteps)}, steps ${longest - quarter + 1}-${longest}: ${ms(lastSteps)} ${stamp()}`);
    result.per_token = {
      ms_per_token: perToken,
      runs_ms: Object.fromEntries(P.lengths.map((n) => [n, byLength[n].map((x) => x.ms)])),
      decoder_step_ms: { [`1-${quarter}`]: firstSteps, [`${longest - quarter + 1}-${longest}`]: lastSteps },
      decoder_step_ms_by_step: byLength[longest].map((x) => x.decoderMs.map((v) => +v.toFixed(2))),
    };

    // where a generate() call's time goes: encoder run, decoder runs (worker round trips), the rest (JavaScript:
    // feeds, KV cache reordering, logits processing, argmax / top-k, tokenizer)
    const breakdown = (xs: Awaited<ReturnType<typeof poly>>[]) => {
      const total = median(xs.map((x) => x.ms));
      const encoder = median(xs.map((x) => x.encoderMs));
      const decoder = median(xs.map((x) => x.decoderMs.reduce((a, b) => a + b, 0)));
      const steps = xs[0].decoderMs.length;
      return { total_ms: total, encoder_ms: encoder, decoder_runs_ms: decoder, decoder_steps: steps, js_ms: total - encoder - decoder, feed_mb_per_step: median(xs[0].feedBytes) / 1e6 };
    };
    const profile = { [label(greedy1)]: breakdown(polyRuns[label(greedy1)]), [label(cases[3])]: breakdown(polyRuns[label(cases[3])]) };
    result.profile = profile;

    // HTTP: one POST /v1/generate with 8 adapters vs the engine alone
    log(`  generation: HTTP POST /v1/generate vs the engine (greedy, ${B} adapters) ${stamp()}`);
    const server = await serve({ store: dir, port: 0, host: "127.0.0.1", quiet: true });
    cleanups.push(() => server.close());
    const viaHttp = async () => {
      const s = performance.now();
      const res = await fetch(`${server.url}/v1/generate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: S.model, inputs: texts, tasks: [{ adapters: split }], options: { max_new_tokens: N } }),
      });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${body.slice(0, 300)}`);
      return performance.now() - s;
    };
    await viaHttp(); // the server loads the model and compiles its graphs
    const h = await compare("engine vs HTTP", P.reps, () => poly(greedyS), viaHttp, polyMs);
    result.http_vs_engine = { engine_ms: h.a.map(polyMs), http_ms: h.b, ratio: h.mb / h.ma, paired: h.paired };

    // ------------------------------------------------------------ table
    const tps = (x: number) => `${x.toFixed(x < 100 ? 1 : 0)} tok/s`;
    for (const c of cases) {
      const v = vsTorch[label(c)];
      const same = agree(label(c));
      rows.push({
        metric: `${label(c)}: polyhead`,
        value: `${tps(v.tokens_per_s)} (${ms(v.polyhead_median)})`,
        target: "",
        ok: null,
      });
      if (v.pytorch_median !== undefined) {
        const isTarget = c === greedy1; // a Marian-sized model's target: the tiny BENCH_QUICK model is all overhead
        rows.push({
          metric: `  AdapterHub generate(), torch threads ${ref?.info.threads}`,
          value: `${tps(v.pytorch_tokens_per_s!)} (${ms(v.pytorch_median)}); polyhead ${rel(v.speedup!)} (paired ${rel(v.paired_speedup!)})${same ? `, same tokens ${same.same_rows}/${same.rows} rows` : ""}`,
          target: isTarget ? (o.quick ? "(quick model: n/a)" : "polyhead ≥ 2×") : "",
          ok: isTarget && !o.quick ? v.speedup! >= 2 : null,
        });
      }
    }
    if (!ref) rows.push({ metric: "  AdapterHub generate()", value: `skipped (${(result.reference as { skipped: string }).skipped})`, target: "polyhead ≥ 2× (greedy, batch 8)", ok: null });
    rows.push(
      { metric: `greedy, batch ${B}, ${B} adapters (batch_split) / one adapter`, value: `${rel(sg.mb / sg.ma)} (paired ${rel(sg.paired)}; ${ms(sg.mb)})`, target: "≤ 1.15×", ok: sg.mb / sg.ma <= 1.15 },
      { metric: `beam 4, batch ${B}, ${B} adapters / one adapter`, value: `${rel(sb.mb / sb.ma)} (paired ${rel(sb.paired)}; ${ms(sb.mb)})`, target: "≤ 1.15×", ok: sb.mb / sb.ma <= 1.15 },
    );
    if (torchSplit) {
      rows.push({
        metric: `  AdapterHub BatchSplit of ${B}, greedy`,
        value: "error" in torchSplit ? `fails: ${torchSplit.error.slice(0, 80)}` : `${ms(torchSplit.median)}, ${rel(torchSplit.ratio_to_one)} its one adapter; polyhead ${rel(torchSplit.median / sg.mb)}`,
        target: "",
        ok: null,
      });
    }
    const flat = perToken[longest] / perToken[Math.min(...P.lengths)];
    rows.push(
      { metric: `ms per new token, greedy batch ${B}: ${P.lengths.join(" / ")} tokens`, value: P.lengths.map((n) => perToken[n].toFixed(2)).join(" / "), target: "", ok: null },
      { metric: `  ${longest} tokens / ${Math.min(...P.lengths)} tokens`, value: `${rel(flat)} (decoder step ${ms(firstSteps)} at steps 1-${quarter}, ${ms(lastSteps)} at ${longest - quarter + 1}-${longest})`, target: "≤ 1.25×", ok: flat <= 1.25 },
    );
    for (const [k, p] of Object.entries(profile)) {
      rows.push({
        metric: `  time of ${k}`,
        value: `encoder ${ms(p.encoder_ms)}, ${p.decoder_steps} decoder runs ${ms(p.decoder_runs_ms)} (${ms(p.decoder_runs_ms / p.decoder_steps)} each), JS ${ms(p.js_ms)}`,
        target: "",
        ok: null,
      });
    }
    rows.push({ metric: `HTTP / engine, greedy batch ${B} (${B} adapters)`, value: `${rel(h.mb / h.ma)} (${ms(h.mb)} vs ${ms(h.ma)})`, target: "", ok: null });
    result.table = rows;
    result.total_s = (performance.now() - t0) / 1000;
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        /* best effort */
      }
    }
    if (o.keep) log(`  generation store kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  return { rows, result };
}

export function printTable(rows: Row[]) {
  const head = { metric: "metric", value: "value", target: "target" };
  const w = (k: "metric" | "value" | "target") => Math.max(head[k].length, ...rows.map((r) => r[k].length));
  const line = (m: string, v: string, t: string, s: string) => `${m.padEnd(w("metric"))}  ${v.padEnd(w("value"))}  ${t.padEnd(w("target"))}  ${s}`.trimEnd();
  const out = [line(head.metric, head.value, head.target, "status"), line("-".repeat(w("metric")), "-".repeat(w("value")), "-".repeat(w("target")), "----")];
  for (const r of rows) out.push(line(r.metric, r.value, r.target, r.ok === null ? "" : r.ok ? "ok" : "MISS"));
  process.stdout.write(`\n${out.join("\n")}\n`);
}

// `npm run bench:generate`: this section alone
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quick = process.env.BENCH_QUICK === "1";
  const started = new Date().toISOString();
  generationBench({ quick, keep: process.env.BENCH_KEEP === "1", python: process.env.POLYHEAD_REFERENCE_PYTHON || null }).then(
    ({ rows, result }) => {
      printTable(rows);
      const outDir = path.join(HERE, "results");
      mkdirSync(outDir, { recursive: true });
      const file = path.join(outDir, `generate-${started.replace(/[:.]/g, "-")}${quick ? "-quick" : ""}.json`);
      const machine = { cpus: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version, memory_gb: +(os.totalmem() / 2 ** 30).toFixed(1) };
      writeFileSync(file, JSON.stringify({ started_at: started, quick, machine, ...result }, null, 2));
      process.stdout.write(`\ntotal ${(result.total_s as number).toFixed(0)} s; results: ${path.relative(process.cwd(), file)}\n`);
      process.exit(0);
    },
    (e) => {
      process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
