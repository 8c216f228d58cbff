import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { familyFor, parseModelConfig } from "../../../src/families/index.ts";
import { baseWeights } from "../../../src/families/base-weights.ts";
import { bucketTable, relativeBucket } from "../../../src/graph/relative-positions.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import { TextTokenizer } from "../../../src/formats/tokenizer.ts";
import { LOCAL_FIXTURES } from "../../support/paths.ts";

// T5 and mT5: config semantics as transformers' T5Config reads them, AdapterHub's adapter modules (the
// sublayers themselves), weights as T5ForConditionalGeneration saves them, the relative position buckets.

const model = (store: string, name: string) => {
  const dir = path.join(LOCAL_FIXTURES, store, "models", name);
  const json = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
  return { json, dir, config: parseModelConfig(json), dict: readSafetensors(readFileSync(path.join(dir, "model.safetensors"))) };
};

test("config.json: relu and tied embeddings (the LM head's input scaled by d_model^-0.5), decoding from pad", () => {
  const { config } = model("t5", "t5-s2s");
  assert.equal(config.family, "t5");
  assert.equal(config.layers, 4);
  assert.equal(config.decoderLayers, 2);
  assert.equal(config.activation, "relu");
  const s = config.seq2seq!;
  assert.equal(s.gatedFfn, false);
  assert.equal(s.headDim, 8);
  assert.ok(Math.abs(s.lmHeadScale - 1 / Math.sqrt(32)) < 1e-12);
  assert.deepEqual(s.relativeBuckets, { buckets: 8, maxDistance: 20 });
  assert.equal(s.decoderStartTokenId, config.padTokenId);
  assert.equal(config.eps, 1e-6);
});

test("config.json: gated-gelu means gelu_new, untied embeddings leave the LM head's input as it is, more decoder layers", () => {
  const { config, json } = model("t5-extra", "t5-x");
  assert.equal(config.activation, "gelu_new");
  assert.equal(config.seq2seq!.gatedFfn, true);
  assert.equal(config.seq2seq!.lmHeadScale, 1);
  assert.equal(config.seq2seq!.headDim, 12, "d_kv, not d_model / heads");
  assert.equal(config.layers - config.decoderLayers, 2);
  assert.equal(config.decoderLayers, 3);
  // without the saved derived fields, T5Config derives them from feed_forward_proj
  const bare = { ...json, dense_act_fn: undefined, is_gated_act: undefined };
  assert.equal(parseModelConfig({ ...bare, feed_forward_proj: "gated-gelu" }).activation, "gelu_new");
  assert.equal(parseModelConfig({ ...bare, feed_forward_proj: "gated-silu" }).activation, "silu");
  assert.equal(parseModelConfig({ ...bare, feed_forward_proj: "gated-silu" }).seq2seq!.gatedFfn, true);
  assert.equal(parseModelConfig({ ...bare, feed_forward_proj: "gelu" }).seq2seq!.gatedFfn, false);
  // the saved fields win, as PretrainedConfig sets them after T5Config derived its own
  assert.equal(parseModelConfig({ ...json, feed_forward_proj: "relu", dense_act_fn: "gelu_new", is_gated_act: true }).seq2seq!.gatedFfn, true);
  // T5 ties by default, mT5 does not
  const untied = { ...json, tie_word_embeddings: undefined };
  assert.ok(parseModelConfig(untied).seq2seq!.lmHeadScale < 1);
  assert.equal(parseModelConfig({ ...untied, model_type: "mt5" }).seq2seq!.lmHeadScale, 1);
});

test("config.json: what T5Config refuses, and bucket settings whose buckets are meaningless, are refused by name", () => {
  const { json } = model("t5", "t5-s2s");
  assert.throws(() => parseModelConfig({ ...json, feed_forward_proj: "fast-gelu" }), /feed_forward_proj "fast-gelu"/);
  assert.throws(() => parseModelConfig({ ...json, feed_forward_proj: "gated-gelu-x" }), /feed_forward_proj/);
  assert.throws(() => parseModelConfig({ ...json, relative_attention_max_distance: 4 }), /relative_attention_max_distance \(4\) must exceed/);
});

test("layer names: encoder FFN is sublayer 1, the decoder's is 2 after cross-attention; a gated FFN's linear half is wi_1", () => {
  const relu = model("t5", "t5-s2s").config;
  const t5 = familyFor("t5");
  assert.equal(t5.layer(1, relu).linear.inter, "encoder.block.1.layer.1.DenseReluDense.wi");
  assert.equal(t5.layer(1, relu).gate, undefined);
  assert.equal(t5.layer(1, relu).linear.crossQ, undefined);
  assert.equal(t5.layer(2, relu).linear.crossK, "decoder.block.0.layer.1.EncDecAttention.k");
  assert.equal(t5.layer(3, relu).outNorm, "decoder.block.1.layer.2.layer_norm");
  const gated = model("t5-extra", "t5-x").config;
  assert.equal(t5.layer(4, gated).linear.inter, "decoder.block.2.layer.2.DenseReluDense.wi_1");
  assert.equal(t5.layer(4, gated).gate, "decoder.block.2.layer.2.DenseReluDense.wi_0");
  assert.equal(t5.adapterModule(0, "mh", gated), "encoder.block.0.layer.0");
  assert.equal(t5.adapterModule(1, "out", gated), "encoder.block.1.layer.1");
  assert.equal(t5.adapterModule(1, "cross", gated), null);
  assert.equal(t5.adapterModule(2, "cross", gated), "decoder.block.0.layer.1");
  assert.equal(t5.adapterModule(4, "out", gated), "decoder.block.2.layer.2");
});

test("weights: both stores' models load; a d_kv the weights do not have and a missing gate are refused", () => {
  for (const [store, name] of [["t5", "t5-s2s"], ["t5-extra", "t5-x"], ["t5-extra", "mt5-x"]]) {
    const { config, dict } = model(store, name);
    const w = baseWeights(dict, familyFor(config.modelType), config);
    assert.deepEqual(w.get("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight").shape, [config.seq2seq!.relativeBuckets!.buckets, config.heads]);
  }
  const { json, dict } = model("t5-extra", "t5-x");
  assert.throws(() => baseWeights(dict, familyFor("t5"), parseModelConfig({ ...json, d_kv: 8 })), /SelfAttention\.q\.weight" has shape \[48,32\]/);
  const noGate = new Map([...dict].filter(([k]) => !k.endsWith("wi_0.weight")));
  assert.throws(() => baseWeights(noGate, familyFor("t5"), parseModelConfig(json)), /wi_0/);
  const noBuckets = parseModelConfig({ ...json, relative_attention_num_buckets: 32, relative_attention_max_distance: 64 });
  assert.throws(() => baseWeights(dict, familyFor("t5"), noBuckets), /relative_attention_bias\.weight" has shape \[16,4\]/);
});

test("relative position buckets equal transformers' for every distance, both directions, several settings", () => {
  const golden = JSON.parse(readFileSync(path.join(LOCAL_FIXTURES, "t5-extra", "relative_buckets.json"), "utf8"));
  const [lo] = golden.distances as [number, number];
  let n = 0;
  for (const [key, buckets] of Object.entries(golden.buckets as Record<string, number[]>)) {
    const [nb, md, bi] = key.split(",").map(Number);
    buckets.forEach((b, i) => assert.equal(relativeBucket(lo + i, bi === 1, nb, md), b, `${key} distance ${lo + i}`));
    // the graph's table clips distances to ±(max_distance + 1): beyond it the bucket no longer changes
    const reach = md + 1;
    const table = bucketTable(bi === 1, nb, md);
    buckets.forEach((b, i) => assert.equal(table[Math.max(-reach, Math.min(reach, lo + i)) + reach], b));
    n += buckets.length;
  }
  assert.ok(n > 5000);
});

test("decoding: a T5 tokenizer skips only eos, unk, pad (and extra ids); other tokenizers skip every special token", () => {
  const json = JSON.parse(readFileSync(path.join(LOCAL_FIXTURES, "t5", "models", "t5-s2s", "tokenizer.json"), "utf8"));
  const ids = [380, 710, 453, 2, 1, 1];
  const t5 = TextTokenizer.fromJson(json, undefined, "t5");
  const bart = TextTokenizer.fromJson(json, undefined, "bart");
  assert.match(t5.decode(ids), /<mask>/);
  assert.doesNotMatch(t5.decode(ids), /<\/s>|<pad>/);
  assert.doesNotMatch(bart.decode(ids), /<mask>/);
  assert.equal(t5.decode([1, 2]), "", "nothing left to decode");
  // tokenizer_config.json's additional_special_tokens are special to T5Tokenizer too
  const named = TextTokenizer.fromJson(json, { additional_special_tokens: ["<mask>"] }, "t5");
  assert.doesNotMatch(named.decode(ids), /<mask>/);
});
