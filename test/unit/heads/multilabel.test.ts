import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { multilabel } from "../../../src/heads/multilabel.ts";
import { parseHeadConfig, type RowContext } from "../../../src/heads/index.ts";
import { ADAPTERHUB_FIXTURES } from "../../support/paths.ts";

// toxicity: label2id {insult: 0, obscene: 2, threat: 1}
const toxicity = parseHeadConfig(JSON.parse(readFileSync(path.join(ADAPTERHUB_FIXTURES, "adapters/toxicity/head_config.json"), "utf8")));
const enc: RowContext["enc"] = { inputIds: [[2, 9, 3]], attentionMask: [[1, 1, 1]], tokenTypeIds: [[0, 0, 0]], offsets: [[[0, 0], [0, 3], [0, 0]]], segments: [[-1, 0, -1]], tokens: [["[CLS]", "you", "[SEP]"]], length: [3] };
const ctx = (returnLogits = false): RowContext => ({ enc, row: 0, inputs: ["you"], returnLogits });
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
type Out = { labels: string[]; scores: Record<string, number>; logits?: number[] };

test("the fixture's multilabel head", () => {
  assert.equal(toxicity.headType, "multilabel_classification");
  assert.deepEqual(toxicity.labels, ["insult", "threat", "obscene"]);
  assert.equal(multilabel.read, "first");
  assert.equal(multilabel.resultType(toxicity), "multilabel_classification");
});

test("an independent sigmoid per label; the labels over 0.5, in label order", () => {
  const out = multilabel.output(toxicity, Float32Array.from([3, 0.1, 5]), ctx()) as Out;
  assert.deepEqual(out.labels, ["insult", "threat", "obscene"]);
  const some = multilabel.output(toxicity, Float32Array.from([2, -1, 0.5]), ctx()) as Out;
  assert.deepEqual(some.labels, ["insult", "obscene"]);
  assert.deepEqual(Object.keys(some.scores), ["insult", "threat", "obscene"]);
  for (const [label, x] of [["insult", 2], ["threat", -1], ["obscene", 0.5]] as const) {
    assert.equal(some.scores[label], Number(sigmoid(x).toPrecision(7)), label);
  }
  // not a softmax: scores need not sum to 1
  assert.ok(Object.values(out.scores).reduce((a, b) => a + b, 0) > 2);
  assert.equal("logits" in out, false);
  assert.equal(multilabel.schema.safeParse(some).success, true);
});

test("exactly 0.5 is not over 0.5, and no label at all is an empty list", () => {
  const half = multilabel.output(toxicity, Float32Array.from([0, 0, 0]), ctx()) as Out;
  assert.deepEqual(half.labels, []);
  assert.deepEqual(half.scores, { insult: 0.5, threat: 0.5, obscene: 0.5 });
  assert.deepEqual((multilabel.output(toxicity, Float32Array.from([-4, -2, -9]), ctx()) as Out).labels, []);
  assert.deepEqual((multilabel.output(toxicity, Float32Array.from([-4, 1e-3, -9]), ctx()) as Out).labels, ["threat"]);
});

test("returnLogits adds the raw logits", () => {
  const out = multilabel.output(toxicity, Float32Array.from([0.5, -0.25, 2]), ctx(true)) as Out;
  assert.deepEqual(out.logits, [0.5, -0.25, 2]);
  assert.deepEqual(out.labels, ["insult", "obscene"]);
  assert.equal(multilabel.schema.safeParse(out).success, true);
});
