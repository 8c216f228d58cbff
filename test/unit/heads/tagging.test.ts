import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { tagging } from "../../../src/heads/tagging.ts";
import { parseHeadConfig, type RowContext } from "../../../src/heads/index.ts";
import { TextTokenizer } from "../../../src/formats/tokenizer.ts";
import { ADAPTERHUB_FIXTURES } from "../../support/paths.ts";

type Encoded = RowContext["enc"];
type Tok = { token: string; label: string; score: number; start: number; end: number; segment?: 1 };
type Out = { tokens: Tok[]; logits?: number[][] };

const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8"));
// ner: O, B-PER, I-PER, B-LOC, I-LOC
const ner = parseHeadConfig(readJson(path.join(ADAPTERHUB_FIXTURES, "adapters/ner/head_config.json")));
const L = ner.numLabels;
const O = 0, B_PER = 1, I_PER = 2, B_LOC = 3;

/** Two rows: "Hello Paris" (padded to the batch width), and the pair ("Who is Anna", "Anna lives here"). */
const INPUTS: (string | [string, string])[] = ["Hello Paris", ["Who is Anna", "Anna lives here"]];
const enc: Encoded = {
  inputIds: [[2, 10, 11, 3, 0, 0, 0, 0, 0], [2, 12, 13, 14, 3, 14, 15, 16, 3]],
  attentionMask: [[1, 1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1]],
  tokenTypeIds: [[0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1, 1, 1, 1]],
  offsets: [
    [[0, 0], [0, 5], [6, 11], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]],
    [[0, 0], [0, 3], [4, 6], [7, 11], [0, 0], [0, 4], [5, 10], [11, 15], [0, 0]],
  ],
  segments: [[-1, 0, 0, -1, -1, -1, -1, -1, -1], [-1, 0, 0, 0, -1, 1, 1, 1, -1]],
  tokens: [["[CLS]", "hello", "paris", "[SEP]", "[PAD]", "[PAD]", "[PAD]", "[PAD]", "[PAD]"], ["[CLS]", "who", "is", "anna", "[SEP]", "anna", "lives", "here", "[SEP]"]],
  length: [4, 9],
};
const ctx = (row: number, returnLogits = false): RowContext => ({ enc, row, inputs: INPUTS, returnLogits });

/** One row's [tokens][labels] logits: `best[t]` gets logit `high`, the rest 0. */
function logitsFor(best: number[], high = 4): Float32Array {
  const out = new Float32Array(best.length * L);
  best.forEach((k, t) => (out[t * L + k] = high));
  return out;
}
const scoreOf = (high: number) => Number((Math.exp(high) / (Math.exp(high) + L - 1)).toPrecision(7));

test("tagging reads every token", () => {
  assert.equal(tagging.read, "tokens");
  assert.equal(tagging.resultType(ner), "tagging");
  assert.deepEqual(ner.labels, ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]);
});

test("a label per text token with its characters; special tokens and padding are skipped", () => {
  // [CLS] and [SEP] and the pads get a strong B-PER: none may show
  const out = tagging.output(ner, logitsFor([B_PER, O, B_LOC, B_PER, B_PER, B_PER, B_PER, B_PER, B_PER]), ctx(0)) as Out;
  assert.deepEqual(out.tokens, [
    { token: "hello", label: "O", score: scoreOf(4), start: 0, end: 5 },
    { token: "paris", label: "B-LOC", score: scoreOf(4), start: 6, end: 11 },
  ]);
  for (const t of out.tokens) assert.equal("segment" in t, false, "segment A is not marked");
  assert.equal("logits" in out, false);
  assert.equal(INPUTS[0].slice(out.tokens[1].start, out.tokens[1].end), "Paris");
  assert.equal(tagging.schema.safeParse(out).success, true);
});

test("a pair row: segment B's tokens carry segment 1 and offsets into the second text", () => {
  const out = tagging.output(ner, logitsFor([O, O, O, B_PER, O, B_PER, O, O, B_LOC], 2), ctx(1)) as Out;
  assert.deepEqual(out.tokens.map((t) => [t.token, t.label, t.segment]), [
    ["who", "O", undefined],
    ["is", "O", undefined],
    ["anna", "B-PER", undefined],
    ["anna", "B-PER", 1],
    ["lives", "O", 1],
    ["here", "O", 1],
  ]);
  const [, second] = INPUTS[1] as [string, string];
  assert.deepEqual(out.tokens.filter((t) => t.segment === 1).map((t) => second.slice(t.start, t.end)), ["Anna", "lives", "here"]);
  assert.equal(out.tokens[3].score, scoreOf(2));
  assert.equal(tagging.schema.safeParse(out).success, true);
});

test("the label is the softmax argmax per token, scores rounded", () => {
  const logits = new Float32Array(4 * L);
  logits.set([0.1, 0.2, 3, 0.3, 2.9], 1 * L); // hello → I-PER, narrowly
  logits.set([-1, -1, -1, -1, -2], 2 * L); // paris → first of the tied labels, O
  const out = tagging.output(ner, logits, ctx(0)) as Out;
  assert.equal(out.tokens[0].label, "I-PER");
  const e = [0.1, 0.2, 3, 0.3, 2.9].map(Math.exp);
  assert.equal(out.tokens[0].score, Number((e[2] / e.reduce((a, b) => a + b)).toPrecision(7)));
  assert.equal(out.tokens[1].label, "O");
});

test("returnLogits gives a row of logits per real token (specials included), no padding", () => {
  const logits = logitsFor([I_PER, O, B_LOC, O, B_PER, B_PER, B_PER, B_PER, B_PER]);
  const out = tagging.output(ner, logits, ctx(0, true)) as Out;
  assert.equal(out.logits!.length, enc.length[0]);
  assert.deepEqual(out.logits![2], [0, 0, 0, 4, 0]);
  assert.deepEqual(out.logits![0], [0, 0, 4, 0, 0]);
  assert.equal(out.tokens.length, 2);
  assert.equal(tagging.schema.safeParse(out).success, true);
});

test("with the fixture model's real tokenizer, every tagged token points at its own characters", () => {
  const dir = path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny");
  const tok = TextTokenizer.fromJson(readJson(path.join(dir, "tokenizer.json")), readJson(path.join(dir, "tokenizer_config.json")), "bert");
  const inputs: (string | [string, string])[] = ["Hello world, the cat sat.", ["Where is the cat?", "The cat sat in Paris."]];
  const real = tok.encodeBatch(inputs, 64);
  for (let row = 0; row < inputs.length; row++) {
    const n = real.length[row];
    const logits = new Float32Array(real.inputIds[row].length * L);
    for (let t = 0; t < n; t++) logits[t * L + (t % L)] = 3;
    const out = tagging.output(ner, logits, { enc: real, row, inputs, returnLogits: false }) as Out;
    const textTokens = real.segments[row].slice(0, n).filter((s) => s >= 0).length;
    assert.equal(out.tokens.length, textTokens);
    assert.equal(out.tokens.length, n - (typeof inputs[row] === "string" ? 2 : 3), "all but [CLS] and the [SEP]s");
    for (const t of out.tokens) {
      const input = inputs[row];
      const text = typeof input === "string" ? input : input[t.segment ?? 0];
      assert.equal(text.slice(t.start, t.end).toLowerCase(), t.token.replace(/^##/, ""), `${JSON.stringify(t)}`);
      assert.ok(!t.token.startsWith("["), t.token);
    }
    if (typeof inputs[row] !== "string") assert.deepEqual(out.tokens.filter((t) => t.segment === 1).map((t) => t.token).slice(-2), ["paris", "."]);
  }
});
