import { test } from "node:test";
import assert from "node:assert/strict";
import { agreementStores, measureAgreement } from "../support/int8-agreement.ts";

// --precision int8 against fp32 on golden stores: it must differ (the base
// model's linear layers really are quantised) and stay close. Bounds chosen
// from `npm run bench:int8` (README, Performance) with margin: AdapterHub's
// store measured 100% of top labels, |Δ logit| ≤ 1.0e-2, |Δ hidden| ≤ 1.8e-2;
// seq2seq-extra 80% of generated sequences identical (tiny random models:
// flat distributions, near ties), |Δ log-prob| ≤ 0.16. With 7-bit weights
// (CPUs without VNNI) the same cases gave 100%, 1.5e-2, 2.4e-2 and, on the
// translation cases below, 23/32 sequences, 0.09.

const store = (name: string) => {
  const s = agreementStores().find((x) => x.name === name);
  assert.ok(s, `no golden store ${name}`);
  return s;
};

test("int8 on AdapterHub's store: top labels as fp32's, logits and hidden states within a few 1e-2, but not equal", async () => {
  const a = await measureAgreement(store("adapterhub"));
  assert.ok(a.labels >= 100, `${a.labels} labels compared`);
  assert.ok(a.labelsAgree / a.labels >= 0.97, `top label agreement ${a.labelsAgree}/${a.labels}`);
  assert.ok(a.maxLogit > 1e-4, `int8 logits equal fp32's (max |Δ| ${a.maxLogit}): not quantised?`);
  assert.ok(a.maxLogit <= 0.05, `max |Δ logit| ${a.maxLogit}`);
  assert.ok(a.maxHidden > 1e-4 && a.maxHidden <= 0.1, `max |Δ hidden| ${a.maxHidden}`);
});

test("int8 on a translation model: most greedy sequences as fp32's, log-probabilities close, but not equal", async () => {
  // one model's greedy and scoring cases (the whole store takes minutes; the bench covers it)
  const s = store("seq2seq-extra");
  const a = await measureAgreement({ ...s, cases: s.cases.filter((c) => c.model === "bart-x" && (c.options?.num_beams ?? 1) === 1) });
  assert.ok(a.sequences >= 20, `${a.sequences} sequences compared`);
  assert.ok(a.sameTokens / a.sequences >= 0.6, `same tokens ${a.sameTokens}/${a.sequences}`);
  assert.ok(a.maxLogprob > 1e-4, `int8 log-probabilities equal fp32's (max |Δ| ${a.maxLogprob}): not quantised?`);
  assert.ok(a.maxLogprob <= 1, `max |Δ log-prob| ${a.maxLogprob}`);
});
