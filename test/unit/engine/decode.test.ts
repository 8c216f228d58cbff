import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decode, type DecodeOptions, type Step } from "../../../src/engine/decode.ts";
import { LOCAL_FIXTURES } from "../../support/paths.ts";

// Golden cases: transformers 4.26.1 generate() on a toy model (tools/adapterhub/make_decode_golden.py).
interface Toy { vocab: number; h: number; step: number; favoured: number; nfav: number; eosBoost: number; bos: number; pad: number; eos: number; salts: number[]; perm: number[][]; normal: number[][] }
interface Case extends Omit<DecodeOptions, "eosTokenId" | "padTokenId" | "beamSuppressTokenIds"> {
  name: string;
  model: "bart" | "marian";
  logits: "grid" | "normal";
  expected: { sequences: number[][][]; scores?: number[][] };
}
const golden = JSON.parse(readFileSync(`${LOCAL_FIXTURES}/decode/golden.json`, "utf8")) as { library: string; toy: Toy; cases: Case[] };
const toy = golden.toy;

/** The generator's toy_logits_row, same float64 operations in the same order, rounded to float32 at the end. */
function toyLogits(kind: Case["logits"], tokens: number[], salt: number, out: Float32Array, at: number) {
  const curLen = tokens.length;
  const last = tokens[curLen - 1];
  const prev = curLen >= 2 ? tokens[curLen - 2] : toy.vocab;
  const h = salt % 2 === 0 ? (last * 131 + salt * 17) % toy.h : (last * 131 + prev * 31 + salt * 17) % toy.h;
  for (let v = 0; v < toy.vocab; v++) {
    let x: number;
    if (kind === "grid") {
      x = toy.perm[h][v] * toy.step;
      if (v < toy.nfav) x = x + toy.favoured;
    } else x = toy.normal[h][v]; // float32 values, exact in JSON
    if (v === toy.eos) x = x + toy.eosBoost * curLen;
    out[at + v] = x;
  }
}

type Rows = Parameters<Step>[0];
/** A Step over the toy model that records every call. */
function toyStep(kind: Case["logits"], calls: Rows[]): Step {
  return async (rows) => {
    calls.push(rows.map((r) => ({ ...r, tokens: [...r.tokens] })));
    const out = new Float32Array(rows.length * toy.vocab);
    rows.forEach((r, i) => toyLogits(kind, r.tokens, toy.salts[r.source], out, i * toy.vocab));
    return out;
  };
}

const optionsOf = (c: Case): DecodeOptions => ({
  ...c,
  eosTokenId: toy.eos,
  padTokenId: toy.pad,
  beamSuppressTokenIds: c.model === "marian" ? [toy.pad] : [],
});

/** Invariants of the Step protocol: rows continue their parent by one token; a source's rows come together. */
function checkCalls(calls: Rows[], c: Case, out: number[][][]) {
  assert.ok(calls.length <= c.maxNewTokens, "one call per new token at most");
  calls[0].forEach((r, i) => assert.deepEqual(r, { source: i, parent: null, tokens: [c.decoderStartTokenId] }));
  for (let k = 1; k < calls.length; k++) {
    for (const r of calls[k]) {
      assert.equal(r.tokens.length, k + 1);
      const p = calls[k - 1][r.parent!];
      assert.ok(p, `call ${k}: parent ${r.parent} exists`);
      assert.equal(p.source, r.source, "a row continues a row of its own source");
      assert.deepEqual(r.tokens.slice(0, -1), p.tokens, "a row is its parent's tokens plus one");
      // a finished hypothesis is never stepped again
      assert.notEqual(r.tokens[r.tokens.length - 1], toy.eos, "no row continues past EOS");
    }
    // per source: 1 row in greedy, numBeams rows in beam search
    const per = new Map<number, number>();
    for (const r of calls[k]) per.set(r.source, (per.get(r.source) ?? 0) + 1);
    for (const n of per.values()) assert.equal(n, c.numBeams);
  }
  if (c.numBeams === 1) {
    // greedy: a source is stepped exactly once per token it generated
    out.forEach((seqs, s) => assert.equal(calls.filter((rows) => rows.some((r) => r.source === s)).length, seqs[0].length));
  }
}

describe(`decode: golden cases from ${golden.library}`, () => {
  test(`${golden.cases.length} cases: ids equal, sequences_scores within 1e-5, Step protocol consistent`, async (t) => {
    const failures: string[] = [];
    let maxScoreDiff = 0;
    for (const c of golden.cases) {
      const calls: Rows[] = [];
      const got = await decode(toy.salts.length, toy.vocab, optionsOf(c), toyStep(c.logits, calls));
      try {
        assert.deepEqual(got.sequences, c.expected.sequences);
        if (c.numBeams > 1) {
          got.scores!.forEach((row, s) => row.forEach((x, j) => {
            const d = Math.abs(x - c.expected.scores![s][j]);
            maxScoreDiff = Math.max(maxScoreDiff, d);
            assert.ok(d <= 1e-5, `score ${s}/${j}: ${x} vs ${c.expected.scores![s][j]}`);
          }));
        } else assert.equal(got.scores, undefined);
        checkCalls(calls, c, got.sequences);
      } catch (e) {
        failures.push(`${c.name}: ${(e as Error).message.split("\n").slice(0, 12).join(" | ")}`);
      }
    }
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${golden.cases.length} cases differ`);
    assert.ok(maxScoreDiff <= 1e-5);
    t.diagnostic(`max sequences_scores difference: ${maxScoreDiff}`);
  });

  test("the golden cases exercise what they should", () => {
    const seqs = golden.cases.flatMap((c) => c.expected.sequences.flat());
    assert.ok(seqs.filter((q) => q[q.length - 1] === toy.eos).length > 200, "many sequences end in EOS");
    assert.ok(seqs.filter((q) => q[q.length - 1] !== toy.eos).length > 100, "many are cut at max length");
    const combos = new Set(golden.cases.filter((c) => c.numBeams > 1).map((c) => `${c.numBeams} ${c.lengthPenalty} ${c.earlyStopping} ${c.numReturnSequences}`));
    assert.ok(combos.size >= 3 * 3 * 3 * 2, "beams × length_penalty × early_stopping × num_return_sequences");
    // early_stopping "never" is plain truthiness in 4.26: the same result as true
    const plain = (c: Case) => c.noRepeatNgramSize === 0 && c.minLength === 0 && c.badWordsIds.length === 0 && c.forcedBosTokenId === null && c.forcedEosTokenId === null && c.model === "bart";
    const key = (c: Case) => `${c.numBeams} ${c.lengthPenalty} ${c.numReturnSequences} ${c.maxNewTokens}`;
    const byTrue = new Map(golden.cases.filter((c) => plain(c) && c.earlyStopping === true).map((c) => [key(c), c.expected]));
    const never = golden.cases.filter((c) => plain(c) && c.earlyStopping === "never");
    assert.ok(never.length > 0);
    for (const c of never) assert.deepEqual(c.expected, byTrue.get(key(c)));
  });
});

// Hand-made logits for the work-saving tests: each source has a token it prefers at every step.
const V = 8, EOS = 2, PAD = 1;
const base: DecodeOptions = {
  maxNewTokens: 6, numBeams: 1, lengthPenalty: 1, earlyStopping: false, numReturnSequences: 1, minLength: 0, noRepeatNgramSize: 0,
  badWordsIds: [], forcedBosTokenId: null, forcedEosTokenId: null, eosTokenId: EOS, padTokenId: PAD, decoderStartTokenId: EOS,
};
function preferStep(prefer: (source: number, tokens: number[]) => number, calls: Rows[]): Step {
  return async (rows) => {
    calls.push(rows);
    const out = new Float32Array(rows.length * V);
    rows.forEach((r, i) => {
      for (let v = 0; v < V; v++) out[i * V + v] = -0.5 * v; // a fixed, distinct background
      out[i * V + prefer(r.source, r.tokens)] = 5;
    });
    return out;
  };
}

describe("decode: a finished row stops costing work", () => {
  test("greedy: a source that emitted EOS is no longer stepped", async () => {
    const calls: Rows[] = [];
    // source 0 ends at once, source 1 after 3 tokens, source 2 never
    const got = await decode(3, V, base, preferStep((s, t) => (s === 0 || (s === 1 && t.length === 4) ? EOS : 5), calls));
    assert.deepEqual(got.sequences, [[[EOS]], [[5, 5, 5, EOS]], [[5, 5, 5, 5, 5, 5]]]);
    assert.deepEqual(calls.map((rows) => rows.map((r) => r.source)), [[0, 1, 2], [1, 2], [1, 2], [1, 2], [2], [2]]);
    // parents index the previous call's rows
    assert.deepEqual(calls.map((rows) => rows.map((r) => r.parent)), [[null, null, null], [1, 2], [0, 1], [0, 1], [1], [0]]);
  });

  test("beam search: a source whose hypotheses are done is dropped; the first call has one row per source", async () => {
    const calls: Rows[] = [];
    // source 0 prefers EOS everywhere, so it collects its numBeams hypotheses quickly; source 1 never ends
    const opts = { ...base, numBeams: 3, earlyStopping: true, maxNewTokens: 8 };
    const got = await decode(2, V, opts, preferStep((s) => (s === 0 ? EOS : 5), calls));
    const perCall = calls.map((rows) => [0, 1].map((s) => rows.filter((r) => r.source === s).length));
    assert.deepEqual(perCall[0], [1, 1]);
    const last0 = perCall.map(([n0]) => n0 > 0).lastIndexOf(true);
    assert.ok(last0 >= 1 && last0 < calls.length - 1, `source 0 stops early (last stepped in call ${last0} of ${calls.length})`);
    for (const [k, [n0, n1]] of perCall.entries()) if (k > 0) { assert.equal(n1, 3); assert.equal(n0, k <= last0 ? 3 : 0); }
    assert.equal(calls.length, 8, "source 1 runs to max length");
    assert.deepEqual(got.sequences[0][0], [EOS]);
    assert.deepEqual(got.sequences[1][0], [5, 5, 5, 5, 5, 5, 5, 5]);
  });

  test("beam search: Marian's pad is suppressed, greedy leaves it alone", async () => {
    const prefersPad = () => PAD;
    const g = await decode(1, V, { ...base, maxNewTokens: 2, beamSuppressTokenIds: [PAD] }, preferStep(prefersPad, []));
    assert.deepEqual(g.sequences, [[[PAD, PAD]]]);
    const b = await decode(1, V, { ...base, maxNewTokens: 2, numBeams: 2, beamSuppressTokenIds: [PAD] }, preferStep(prefersPad, []));
    assert.ok(!b.sequences[0][0].includes(PAD));
  });

  test("options generate() rejects are rejected", async () => {
    const step = preferStep(() => 3, []);
    await assert.rejects(decode(1, V, { ...base, numReturnSequences: 2 }, step), /numReturnSequences/);
    await assert.rejects(decode(1, V, { ...base, numBeams: 2, numReturnSequences: 3 }, step), /numReturnSequences/);
    await assert.rejects(decode(1, V, { ...base, minLength: 9 }, step), /minLength/);
  });
});

test("a Step that returns log-probabilities (stepLogProbs) decodes as one that returns logits, suppressed tokens included", async () => {
  const V = 40;
  const logitsOf = (tokens: number[], source: number) =>
    Float32Array.from({ length: V }, (_, v) => Math.sin(1.7 * v + 3.1 * tokens[tokens.length - 1] + 0.7 * tokens.length + source) * 4 + (v === 2 ? -1 : 0));
  const logSoftmax = (x: Float32Array) => {
    const m = Math.max(...x);
    const z = Math.log(x.reduce((a, b) => a + Math.exp(b - m), 0)) + m;
    return x.map((v) => v - z);
  };
  const step = (asLogProbs: boolean) => async (rows: { source: number; tokens: number[] }[]) => {
    const out = new Float32Array(rows.length * V);
    rows.forEach((r, i) => out.set(asLogProbs ? logSoftmax(logitsOf(r.tokens, r.source)) : logitsOf(r.tokens, r.source), i * V));
    return out;
  };
  for (const numBeams of [1, 3]) {
    const opts = {
      maxNewTokens: 8, numBeams, lengthPenalty: 1, earlyStopping: false, numReturnSequences: numBeams, minLength: 0, noRepeatNgramSize: 0,
      badWordsIds: [], forcedBosTokenId: null, forcedEosTokenId: 2, eosTokenId: 2, padTokenId: 1, decoderStartTokenId: 1, beamSuppressTokenIds: [1],
    };
    const a = await decode(3, V, opts, step(false));
    const b = await decode(3, V, { ...opts, stepLogProbs: true }, step(true));
    assert.deepEqual(b.sequences, a.sequences, `beams ${numBeams}`);
    if (numBeams > 1) a.scores!.forEach((row, s) => row.forEach((x, k) => assert.ok(Math.abs(x - b.scores![s][k]) < 1e-5)));
  }
});
