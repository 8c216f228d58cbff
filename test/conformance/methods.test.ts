import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { post, startServer } from "../support/server.ts";
import { maxAbsDiff, storeCases } from "../support/cases.ts";
import { checkGoldenAt } from "../support/check.ts";
import { LOCAL_FIXTURES, METHODS_STORE } from "../support/paths.ts";
import { MODEL_TYPES } from "../../src/families/index.ts";
import type { RunningServer } from "../../src/server/serve.ts";

// Every case of the methods store (prefix tuning, Compacter, Compacter++,
// UniPELT, MAM, Pfeiffer, a head alone, on BERT, ALBERT and DeBERTa-v2; made
// by AdapterHub 3.2.1) through the HTTP API.

const DIR = path.join(LOCAL_FIXTURES, METHODS_STORE);
const cases = storeCases(DIR);
const modelType = (model: string) => JSON.parse(readFileSync(path.join(DIR, "models", model, "config.json"), "utf8")).model_type as string;

test("the methods store has every method on each of its three families, all of them served", () => {
  for (const family of ["bert", "albert", "deberta-v2"]) {
    const ids = cases.filter((c) => c.model === `${family}-m`).map((c) => c.id);
    for (const m of ["base-head", "prefix", "compacter", "compacterpp", "unipelt", "mam", "pfeiffer", "long-prefix"]) assert.ok(ids.includes(`${family}-${m}`), `no case ${family}-${m}`);
  }
  assert.equal(cases.length, 24);
  for (const c of cases) assert.ok(MODEL_TYPES.includes(modelType(c.model)), `${c.id}: model_type ${modelType(c.model)} has no family`);
});

describe(`golden cases: ${METHODS_STORE}, inputs packed into one as on a GPU`, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(DIR, { packInputs: true });
  });
  after(() => server.close());
  for (const c of cases) test(c.id, () => checkGoldenAt(server.url, c));
});

describe(`golden cases: ${METHODS_STORE}`, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(DIR);
  });
  after(async () => {
    await server.close();
  });
  for (const c of cases) {
    test(c.id, async () => {
      await checkGoldenAt(server.url, c);
    });
  }

  test("gates average over the whole request's padded length, also in a branch whose own rows are shorter (batch_split)", async () => {
    const unipelt = cases.find((c) => c.id === "bert-unipelt")!;
    const pfeiffer = cases.find((c) => c.id === "bert-pfeiffer")!;
    assert.deepEqual(unipelt.inputs, pfeiffer.inputs);
    // rows 0-3 are at most 17 tokens long, row 5 has 28: AdapterHub pads the whole batch to 28
    const body = (inputs: unknown[], adapters: unknown, head: unknown) => ({ model: "bert-m", inputs, tasks: [{ adapters, head }], options: { max_length: unipelt.max_length, return_logits: true } });
    const split = await post(`${server.url}/v1/predict`, body(unipelt.inputs, { batch_split: ["bert-unipelt", "bert-pfeiffer"], sizes: [4, 4] }, ["bert-unipelt", "bert-pfeiffer"]));
    assert.equal(split.status, 200, JSON.stringify(split.json));
    const [u, p] = split.json.results;
    assert.ok(maxAbsDiff(u.outputs.map((r: any) => r.logits), (unipelt.expected as any).logits.slice(0, 4)) <= unipelt.atol);
    assert.ok(maxAbsDiff(p.outputs.map((r: any) => r.logits), (pfeiffer.expected as any).logits.slice(4)) <= pfeiffer.atol);
    // the first 4 inputs alone are padded to 17: the gates, and so the answer, differ
    const alone = await post(`${server.url}/v1/predict`, body(unipelt.inputs.slice(0, 4), "bert-unipelt", "bert-unipelt"));
    assert.ok(maxAbsDiff(alone.json.results[0].outputs.map((r: any) => r.logits), (unipelt.expected as any).logits.slice(0, 4)) > unipelt.atol);
  });

  test("compositions AdapterHub 3.2.1 refuses with prefix tuning are refused by name", async () => {
    const ask = (adapters: unknown) => post(`${server.url}/v1/predict`, { model: "bert-m", inputs: ["a b"], tasks: [{ adapters }] });
    const stack = await ask({ stack: ["bert-prefix", "bert-pfeiffer"] });
    assert.equal(stack.status, 422);
    assert.match(stack.json.detail, /stack mixes prefix-tuned adapter "bert-prefix" with "bert-pfeiffer", which has no prefix/);
    const avg = await ask({ average: ["bert-mam", "bert-pfeiffer"] });
    assert.equal(avg.status, 422);
    assert.match(avg.json.detail, /prefix adapter "bert-mam" cannot be used inside average/);
    // two prefix-tuned adapters stack: both prefixes go before the keys
    const both = await ask({ stack: ["bert-prefix", "bert-mam"] });
    assert.equal(both.status, 200, JSON.stringify(both.json));
  });
});

describe("prefix tuning on a translation model: compositions AdapterHub 3.2.1 refuses", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(path.join(LOCAL_FIXTURES, "seq2seq-prefix"));
  });
  after(async () => {
    await server.close();
  });

  test("a stack of prefixes at different attention layers, or of a prefix and no prefix, is a 422", async () => {
    const ask = (adapters: unknown) => post(`${server.url}/v1/generate`, { model: "bart-x", inputs: ["The movie was great!"], tasks: [{ adapters }], options: { max_new_tokens: 3 } });
    // bart-prefix_self has no prefix on the encoder, bart-prefix has one
    const mixed = await ask({ stack: ["bart-prefix", "bart-prefix_self"] });
    assert.equal(mixed.status, 422);
    assert.match(mixed.json.detail, /stack mixes prefix-tuned adapter "bart-prefix" with "bart-prefix_self", whose prefixes sit at other attention layers/);
    const same = await ask({ stack: ["bart-prefix", "bart-prefix_long"] });
    assert.equal(same.status, 200, JSON.stringify(same.json));
  });
});

describe("prefix tuning on T5: compositions AdapterHub 3.2.1 refuses", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(path.join(LOCAL_FIXTURES, "t5-prefix"));
  });
  after(async () => {
    await server.close();
  });

  test("a stack of prefixes at different attention layers is a 422; prefixes at the same layers stack", async () => {
    const ask = (adapters: unknown) => post(`${server.url}/v1/score`, { model: "t5-s2s", inputs: ["The movie was great!"], targets: ["Der Film war toll!"], tasks: [{ adapters }] });
    // t5-prefix_self has a prefix on the decoder's self-attention only
    const mixed = await ask({ stack: ["t5-prefix", "t5-prefix_self"] });
    assert.equal(mixed.status, 422);
    assert.match(mixed.json.detail, /stack mixes prefix-tuned adapter "t5-prefix" with "t5-prefix_self", whose prefixes sit at other attention layers/);
    const same = await ask({ stack: ["t5-prefix_flat", "t5-mam"] });
    assert.equal(same.status, 200, JSON.stringify(same.json));
    // both prefixes move the position bias: the stack scores differently from either alone
    const alone = await ask("t5-prefix_flat");
    assert.notDeepEqual(same.json.results[0].outputs[0].token_logprobs, alone.json.results[0].outputs[0].token_logprobs);
  });
});
