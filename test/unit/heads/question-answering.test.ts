import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { questionAnswering as qa } from "../../../src/heads/question-answering.ts";
import { parseHeadConfig, type RowContext } from "../../../src/heads/index.ts";
import { TextTokenizer } from "../../../src/formats/tokenizer.ts";
import { ADAPTERHUB_FIXTURES } from "../../support/paths.ts";

type Encoded = RowContext["enc"];
type Answer = { text: string; start: number; end: number; score: number };
type Out = { answer: Answer; start_logits?: number[]; end_logits?: number[] };

const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8"));
const head = parseHeadConfig(readJson(path.join(ADAPTERHUB_FIXTURES, "adapters/qa/head_config.json")));

/** An encoding built by hand: one row per input, [CLS] A [SEP] (B [SEP]), words split at spaces, padded to `width`. */
function encode(inputs: (string | [string, string])[], width = 0): Encoded {
  const enc: Encoded = { inputIds: [], attentionMask: [], tokenTypeIds: [], offsets: [], segments: [], tokens: [], length: [] };
  for (const input of inputs) {
    const texts = typeof input === "string" ? [input] : input;
    const tokens = ["[CLS]"], offsets: [number, number][] = [[0, 0]], segments = [-1];
    texts.forEach((text, seg) => {
      for (const m of text.matchAll(/\S+/g)) {
        tokens.push(m[0].toLowerCase());
        offsets.push([m.index!, m.index! + m[0].length]);
        segments.push(seg);
      }
      tokens.push("[SEP]");
      offsets.push([0, 0]);
      segments.push(-1);
    });
    const n = tokens.length, pad = Math.max(0, width - n);
    enc.inputIds.push(tokens.map((_, i) => i + 10).concat(Array(pad).fill(0)));
    enc.attentionMask.push([...Array(n).fill(1), ...Array(pad).fill(0)]);
    enc.tokenTypeIds.push(segments.map((s) => Math.max(0, s)).concat(Array(pad).fill(0)));
    enc.offsets.push([...offsets, ...Array.from({ length: pad }, (): [number, number] => [0, 0])]);
    enc.segments.push([...segments, ...Array(pad).fill(-1)]);
    enc.tokens.push([...tokens, ...Array(pad).fill("[PAD]")]);
    enc.length.push(n);
  }
  return enc;
}

/** [tokens][start, end] logits: 0 except the given token → logit entries. */
function logits(tokens: number, start: Record<number, number>, end: Record<number, number>): Float32Array {
  const out = new Float32Array(tokens * 2);
  for (const [t, x] of Object.entries(start)) out[Number(t) * 2] = x;
  for (const [t, x] of Object.entries(end)) out[Number(t) * 2 + 1] = x;
  return out;
}
const softmax = (xs: number[]) => xs.map((x) => Math.exp(x) / xs.reduce((s, y) => s + Math.exp(y), 0));
const run = (inputs: (string | [string, string])[], l: Float32Array, row = 0, width = 0, returnLogits = false) =>
  qa.output(head, l, { enc: encode(inputs, width), row, inputs, returnLogits }) as Out;

// [CLS] who is anna [SEP] anna lives in paris now [SEP]
//   0    1   2   3    4    5     6    7   8     9   10
const PAIR: [string, string] = ["Who is Anna", "Anna lives in Paris now"];

test("question answering: two outputs per token, read over every token", () => {
  assert.equal(qa.fixedLabels, 2);
  assert.equal(head.numLabels, 2);
  assert.equal(qa.read, "tokens");
  assert.equal(qa.resultType(head), "question_answering");
});

test("the best span lies in the context (segment B of a pair), never in the question or a special token", () => {
  // the question's "anna" and [CLS] / the last [SEP] score higher than anything in the context
  const l = logits(11, { 3: 10, 0: 9, 8: 5 }, { 3: 10, 0: 9, 10: 8, 8: 5 });
  const out = run([PAIR], l);
  assert.deepEqual(out.answer, { ...out.answer, text: "Paris", start: 14, end: 19 });
  assert.equal(PAIR[1].slice(out.answer.start, out.answer.end), "Paris", "offsets index the context");
  // p_start · p_end over all the row's tokens
  const ps = softmax(Array.from({ length: 11 }, (_, t) => l[t * 2]));
  const pe = softmax(Array.from({ length: 11 }, (_, t) => l[t * 2 + 1]));
  assert.equal(out.answer.score, Number((ps[8] * pe[8]).toPrecision(7)));
  assert.equal("start_logits" in out, false);
  assert.equal(qa.schema.safeParse(out).success, true);
});

test("a span of several tokens returns the context's substring between them", () => {
  const out = run([PAIR], logits(11, { 6: 5 }, { 8: 5 }));
  assert.deepEqual([out.answer.text, out.answer.start, out.answer.end], ["lives in Paris", 5, 19]);
});

test("an end before the start is no span", () => {
  // start strong on "paris" (8), end on "lives" (6): the answer starts at paris and ends there
  const out = run([PAIR], logits(11, { 8: 6 }, { 6: 5 }));
  assert.equal(out.answer.text, "Paris");
  assert.ok(out.answer.start <= out.answer.end);
});

test("a single text is its own context", () => {
  // [CLS] anna lives in paris [SEP]
  const text = "Anna lives in Paris";
  const out = run([text], logits(6, { 0: 9, 1: 4 }, { 0: 9, 5: 9, 1: 4 }));
  assert.deepEqual([out.answer.text, out.answer.start, out.answer.end], ["Anna", 0, 4]);
});

test("answers are at most 30 tokens long", () => {
  const words = Array.from({ length: 40 }, (_, i) => `w${i}`);
  const text = words.join(" ");
  // tokens: [CLS] w0 .. w39 [SEP]; w_i is token i + 1
  const within = run([text], logits(42, { 1: 8 }, { 30: 4, 31: 8 }));
  assert.equal(within.answer.text, words.slice(0, 30).join(" "), "w0..w29 is 30 tokens: allowed");
  const beyond = run([text], logits(42, { 1: 8 }, { 20: 4, 31: 8 }));
  assert.equal(beyond.answer.text, words.slice(0, 20).join(" "), "w0..w30 would be 31 tokens");
  assert.equal(beyond.answer.start, 0);
  assert.equal(beyond.answer.end, text.indexOf("w19") + 3);
});

test("the row's own encoding is read, padding ignored, and logits come back only for real tokens", () => {
  const inputs: (string | [string, string])[] = [["Who", "Nobody"], PAIR];
  // row 0: [CLS] who [SEP] nobody [SEP] then 6 pads; pads carry the highest logits
  const l = new Float32Array(11 * 2).fill(20);
  l.set([0, 0, 0, 0, 0, 0, 3, 3, 0, 0]);
  const out = run(inputs, l, 0, 11, true);
  assert.deepEqual([out.answer.text, out.answer.start, out.answer.end], ["Nobody", 0, 6]);
  assert.deepEqual(out.start_logits, [0, 0, 0, 3, 0]);
  assert.deepEqual(out.end_logits, [0, 0, 0, 3, 0]);
  assert.equal(out.answer.score, Number((softmax([0, 0, 0, 3, 0])[3] ** 2).toPrecision(7)), "softmax over real tokens only");
  assert.equal(qa.schema.safeParse(out).success, true);
  // row 1 of the same batch
  const second = run(inputs, logits(11, { 9: 4 }, { 9: 4 }), 1, 11);
  assert.equal(second.answer.text, "now");
});

test("no context token at all: an empty answer", () => {
  const out = run([["Who is Anna", ""]], logits(6, { 1: 3 }, { 1: 3 }));
  assert.deepEqual(out.answer, { text: "", start: 0, end: 0, score: 0 });
});

test("with the fixture model's real tokenizer the answer is the context's substring, across word pieces", () => {
  const dir = path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny");
  const tok = TextTokenizer.fromJson(readJson(path.join(dir, "tokenizer.json")), readJson(path.join(dir, "tokenizer_config.json")), "bert");
  const inputs: (string | [string, string])[] = [["Where does the cat sit?", "The cat sat on the mat in Paris."]];
  const enc = tok.encodeBatch(inputs, 64);
  const n = enc.length[0];
  const toks = enc.tokens[0];
  // "mat" is m ##a ##t in segment B (the question has no "m")
  const s = toks.findIndex((t, i) => t === "m" && enc.segments[0][i] === 1);
  assert.ok(s > 0 && toks[s + 1] === "##a" && toks[s + 2] === "##t", toks.join(" "));
  // the question's "the" gets the highest start and end: it must lose to the context
  const q = toks.indexOf("the");
  assert.equal(enc.segments[0][q], 0);
  const l = logits(enc.inputIds[0].length, { [q]: 9, [s]: 6 }, { [q]: 9, [s + 2]: 6 });
  const out = qa.output(head, l, { enc, row: 0, inputs, returnLogits: true }) as Out;
  assert.equal(out.answer.text, "mat");
  assert.equal(inputs[0][1].slice(out.answer.start, out.answer.end), "mat");
  assert.equal(out.start_logits!.length, n);
});

test("a span that starts or ends inside a word is widened to whole words (the pipeline's align_to_words)", () => {
  const dir = path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny");
  const tok = TextTokenizer.fromJson(readJson(path.join(dir, "tokenizer.json")), readJson(path.join(dir, "tokenizer_config.json")), "bert");
  const inputs: (string | [string, string])[] = [["Where does the cat sit?", "The cat sat on the mat, 12 days."]];
  const enc = tok.encodeBatch(inputs, 64);
  const toks = enc.tokens[0];
  const m = toks.findIndex((t, i) => t === "m" && enc.segments[0][i] === 1);
  assert.equal(toks[m + 1], "##a", toks.join(" "));
  // start and end both on "##a": the middle of "mat"
  const mid = qa.output(head, logits(enc.inputIds[0].length, { [m + 1]: 9 }, { [m + 1]: 9 }), { enc, row: 0, inputs, returnLogits: false }) as Out;
  assert.deepEqual([mid.answer.text, mid.answer.start, mid.answer.end], ["mat", 19, 22]);
  // from "m" to "," : the comma is a word of its own, nothing more is added
  const comma = toks.indexOf(",");
  const upTo = qa.output(head, logits(enc.inputIds[0].length, { [m]: 9 }, { [comma]: 9 }), { enc, row: 0, inputs, returnLogits: false }) as Out;
  assert.equal(upTo.answer.text, "mat,");
});
