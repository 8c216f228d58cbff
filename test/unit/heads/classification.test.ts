import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { classification } from "../../../src/heads/classification.ts";
import { parseHeadConfig, type RowContext } from "../../../src/heads/index.ts";
import { ADAPTERHUB_FIXTURES } from "../../support/paths.ts";

const head = (name: string) => parseHeadConfig(JSON.parse(readFileSync(path.join(ADAPTERHUB_FIXTURES, "adapters", name, "head_config.json"), "utf8")));
const sentiment = head("sentiment"); // negative, positive
const formality = head("formality"); // casual, neutral, formal
const rating = head("rating"); // one output: regression

/** A sequence head reads only the first token: the encoding is there but not looked at. */
const enc: RowContext["enc"] = { inputIds: [[2, 9, 3]], attentionMask: [[1, 1, 1]], tokenTypeIds: [[0, 0, 0]], offsets: [[[0, 0], [0, 4], [0, 0]]], segments: [[-1, 0, -1]], tokens: [["[CLS]", "good", "[SEP]"]], length: [3] };
const ctx = (returnLogits = false): RowContext => ({ enc, row: 0, inputs: ["good"], returnLogits });
const softmax = (xs: number[]) => xs.map((x) => Math.exp(x) / xs.reduce((s, y) => s + Math.exp(y), 0));
const close = (a: number, b: number, what = "") => assert.ok(Math.abs(a - b) < 1e-6, `${what} ${a} vs ${b}`);

test("classification reads the first token and answers classification, or regression for one label", () => {
  assert.equal(classification.type, "classification");
  assert.equal(classification.read, "first");
  assert.equal(classification.fixedLabels, undefined);
  assert.equal(classification.resultType(sentiment), "classification");
  assert.equal(classification.resultType(rating), "regression");
  assert.deepEqual(classification.resultTypes, ["classification", "regression"]);
});

test("softmax over the logits: the best label, its score and every label's score", () => {
  const out = classification.output(sentiment, Float32Array.from([1, 3]), ctx()) as { label: string; score: number; scores: Record<string, number> };
  const p = softmax([1, 3]);
  assert.equal(out.label, "positive");
  close(out.score, p[1], "score");
  assert.deepEqual(Object.keys(out.scores), ["negative", "positive"]);
  close(out.scores.negative, p[0], "negative");
  close(out.scores.positive, p[1], "positive");
  assert.equal(out.score, out.scores.positive);
  assert.equal("logits" in out, false, "logits only when asked for");
  assert.equal("value" in out, false);
  assert.equal(classification.schema.safeParse(out).success, true);
});

test("the label is the argmax by label id, with the fixture's label order", () => {
  const mid = classification.output(formality, Float32Array.from([0.5, 2, -1]), ctx()) as { label: string; scores: Record<string, number> };
  assert.equal(mid.label, "neutral");
  const last = classification.output(formality, Float32Array.from([0.5, 2, 2.5]), ctx()) as { label: string; scores: Record<string, number> };
  assert.equal(last.label, "formal");
  const sum = Object.values(last.scores).reduce((a, b) => a + b, 0);
  close(sum, 1, "scores sum");
  // ties go to the first label
  assert.equal((classification.output(formality, Float32Array.from([1, 1, 1]), ctx()) as { label: string }).label, "casual");
});

test("scores are rounded to 7 significant digits and stable for huge logits", () => {
  const out = classification.output(sentiment, Float32Array.from([1000, 0]), ctx()) as { label: string; score: number; scores: Record<string, number> };
  assert.equal(out.label, "negative");
  assert.equal(out.score, 1);
  assert.equal(out.scores.positive, 0);
  const r = classification.output(sentiment, Float32Array.from([0, 1]), ctx()) as { score: number };
  assert.equal(r.score, Number(softmax([0, 1])[1].toPrecision(7)));
  assert.ok(Number.isFinite((classification.output(sentiment, Float32Array.from([-1e30, -1e30]), ctx()) as { score: number }).score));
});

test("returnLogits adds the raw logits", () => {
  const out = classification.output(formality, Float32Array.from([0.25, -1.5, 3]), ctx(true)) as { logits: number[]; label: string };
  assert.deepEqual(out.logits, [0.25, -1.5, 3]);
  assert.ok(Array.isArray(out.logits), "a plain array, not a Float32Array");
  assert.equal(out.label, "formal");
  assert.equal(classification.schema.safeParse(out).success, true);
});

test("one label is regression: the value, no label or softmax", () => {
  assert.equal(rating.numLabels, 1);
  const out = classification.output(rating, Float32Array.from([3.25]), ctx());
  assert.deepEqual(out, { value: 3.25 });
  assert.deepEqual(classification.output(rating, Float32Array.from([-0.5]), ctx(true)), { value: -0.5, logits: [-0.5] });
  assert.equal(classification.schema.safeParse(out).success, true);
});
