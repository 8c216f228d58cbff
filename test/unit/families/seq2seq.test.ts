import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { familyFor, parseModelConfig } from "../../../src/families/index.ts";
import { baseWeights } from "../../../src/families/base-weights.ts";
import { sinusoidal } from "../../../src/graph/seq2seq.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import { LOCAL_FIXTURES } from "../../support/paths.ts";

// BART, mBART and Marian: one layer numbering over both stacks, AdapterHub's
// adapter modules in each block, weights as ForConditionalGeneration saves them.

const model = (store: string, name: string) => {
  const dir = path.join(LOCAL_FIXTURES, store, "models", name);
  const json = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
  return { json, config: parseModelConfig(json), dict: readSafetensors(readFileSync(path.join(dir, "model.safetensors"))) };
};

test("config.json: both stacks' depths, decoder layers counted after the encoder's, generation settings", () => {
  const { config } = model("seq2seq-extra", "bart-gen");
  assert.equal(config.layers, 5);
  assert.equal(config.decoderLayers, 2);
  const g = config.seq2seq!;
  assert.equal(g.numBeams, 3);
  assert.equal(g.noRepeatNgramSize, 2);
  assert.equal(g.lengthPenalty, 2);
  assert.equal(g.earlyStopping, true);
  assert.equal(g.minLength, 4);
  const marian = model("seq2seq", "marian-s2s").config;
  assert.deepEqual(marian.seq2seq!.badWordsIds, [[1]]);
  assert.equal(marian.seq2seq!.decoderStartTokenId, 1);
});

test("layer names: encoder layers first, then decoder layers with cross-attention", () => {
  const { config } = model("seq2seq-extra", "bart-x");
  const bart = familyFor("bart");
  assert.equal(bart.layer(2, config).linear.q, "encoder.layers.2.self_attn.q_proj");
  assert.equal(bart.layer(2, config).linear.crossQ, undefined);
  assert.equal(bart.layer(3, config).linear.q, "decoder.layers.0.self_attn.q_proj");
  assert.equal(bart.layer(3, config).linear.crossK, "decoder.layers.0.encoder_attn.k_proj");
  assert.equal(bart.layer(4, config).crossNorm, "decoder.layers.1.encoder_attn_layer_norm");
  assert.equal(bart.adapterModule(0, "cross", config), null, "encoder layers have no cross-attention location");
  assert.equal(bart.adapterModule(3, "cross", config), "decoder.layers.0.cross_attention_adapters");
  assert.equal(bart.adapterModule(1, "mh", config), "encoder.layers.1.attention_adapters");
  assert.equal(bart.adapterModule(4, "out", config), "decoder.layers.1.output_adapters");
});

test("positions: BART and mBART read learned positions at t + 2, Marian computes sinusoidal ones at t", () => {
  const { config } = model("seq2seq", "bart-s2s");
  assert.deepEqual(familyFor("bart").positions([0, 5, 2], config), [2, 3, 4]);
  assert.deepEqual(familyFor("mbart").positions([0, 5], config), [2, 3]);
  assert.deepEqual(familyFor("marian").positions([0, 5], config), [0, 1]);
  const t = sinusoidal(4, 6);
  // transformers' MarianSinusoidalPositionalEmbedding: sin(p / 10000^(2i/d)) in the first half, cos in the second
  for (let p = 0; p < 4; p++) for (let i = 0; i < 3; i++) {
    const angle = p / Math.pow(10000, (2 * i) / 6);
    assert.ok(Math.abs(t.data[p * 6 + i] - Math.sin(angle)) < 1e-6);
    assert.ok(Math.abs(t.data[p * 6 + 3 + i] - Math.cos(angle)) < 1e-6);
  }
});

test("weights: every stack found under model., the LM head at the root or tied to the shared embedding", () => {
  for (const [store, name] of [["seq2seq", "bart-s2s"], ["seq2seq", "mbart-s2s"], ["seq2seq", "marian-s2s"], ["seq2seq-extra", "bart-gen"], ["seq2seq-extra", "marian-x"]]) {
    const { config, dict } = model(store, name);
    const family = familyFor(config.modelType);
    const w = baseWeights(dict, family, config);
    const head = w.first(family.seq2seq!.lmHead.map((n) => `${n}.weight`));
    assert.equal(head.shape[0], config.seq2seq!.decoderVocabSize, `${name}: the LM head covers the decoder's vocabulary`);
  }
  const gen = model("seq2seq-extra", "bart-gen");
  assert.equal(gen.dict.has("lm_head.weight"), false, "bart-gen's file leaves the tied LM head out");
});

test("weights: a decoder FFN as wide as the encoder's is accepted (adapter-transformers 3.2.1 builds it so); other widths are refused", () => {
  const { json, dict } = model("seq2seq", "bart-s2s");
  const wider = parseModelConfig({ ...json, decoder_ffn_dim: json.encoder_ffn_dim + 16 });
  assert.doesNotThrow(() => baseWeights(dict, familyFor("bart"), wider));
  const narrower = parseModelConfig({ ...json, encoder_ffn_dim: json.encoder_ffn_dim + 8, decoder_ffn_dim: json.encoder_ffn_dim + 16 });
  assert.throws(() => baseWeights(dict, familyFor("bart"), narrower), /fc1\.weight" has shape/);
});
