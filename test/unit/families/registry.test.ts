import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import path from "node:path";
import { FAMILIES, MODEL_TYPES, familyFor, familyOf, parseModelConfig } from "../../../src/families/index.ts";
import { baseWeights } from "../../../src/families/base-weights.ts";
import { embeddingNames } from "../../../src/families/family.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import { ADAPTERHUB_FIXTURES, fixtureStores } from "../../support/paths.ts";

const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8"));
const BERT_JSON = readJson(path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny/config.json"));

test("the registry holds the encoder and encoder-decoder families, each model_type once", () => {
  assert.deepEqual(FAMILIES.map((f) => f.name), ["bert", "roberta", "distilbert", "albert", "deberta-v2", "bart", "mbart", "marian", "t5"]);
  assert.deepEqual([...MODEL_TYPES].sort(), ["albert", "bart", "bert", "camembert", "deberta-v2", "distilbert", "marian", "mbart", "mt5", "roberta", "t5", "xlm-roberta"]);
  assert.equal(new Set(MODEL_TYPES).size, FAMILIES.flatMap((f) => f.modelTypes).length);
  for (const [type, family] of [["bert", "bert"], ["roberta", "roberta"], ["xlm-roberta", "roberta"], ["camembert", "roberta"], ["distilbert", "distilbert"], ["albert", "albert"], ["deberta-v2", "deberta-v2"]]) {
    assert.equal(familyFor(type).name, family, type);
  }
});

test("an unknown model_type is refused with the supported list", () => {
  for (const type of ["gpt2", "deberta", "BERT", ""]) {
    assert.throws(
      () => familyFor(type),
      (e: Error) => e.message.includes(`"${type}" is not supported`) && MODEL_TYPES.every((t) => e.message.includes(t)),
    );
  }
  assert.throws(() => parseModelConfig({ ...BERT_JSON, model_type: "electra" }), /"electra" is not supported \(supported: bert, roberta, xlm-roberta, camembert, distilbert, albert, deberta-v2, bart, mbart, marian, t5, mt5\)/);
});

test("a config.json without a string model_type is refused", () => {
  for (const json of [{}, null, "bert", { ...BERT_JSON, model_type: 3 }, { ...BERT_JSON, model_type: undefined }]) {
    assert.throws(() => parseModelConfig(json), /no model_type/, JSON.stringify(json)?.slice(0, 40));
  }
});

test("every fixture store's models/*/config.json parses, into the family that reads its weights", () => {
  const seen = new Set<string>();
  let n = 0;
  for (const store of fixtureStores()) {
    const models = path.join(store.dir, "models");
    if (!existsSync(models)) continue;
    for (const m of readdirSync(models)) {
      const dir = path.join(models, m);
      const json = readJson(path.join(dir, "config.json"));
      const c = parseModelConfig(json);
      const f = familyOf(c);
      assert.equal(c.modelType, json.model_type);
      assert.equal(c.family, f.name, `${store.name}/${m}`);
      assert.equal(c.hidden % c.heads, 0);
      assert.ok(f.maxTokens(c) > 0 && f.maxTokens(c) <= c.maxPositions);
      // the parsed config fits the weights beside it
      const w = baseWeights(readSafetensors(readFileSync(path.join(dir, "model.safetensors"))), f, c);
      if (f.seq2seq) {
        // encoder-decoder: both stacks' layers, decoder layers numbered after the encoder's
        assert.ok(c.decoderLayers > 0 && c.decoderLayers < c.layers);
        assert.ok(f.layer(c.layers - 1, c).linear.crossQ, "the last layer is a decoder layer, with cross-attention");
        assert.equal(f.layer(0, c).linear.crossQ, undefined, "the first is an encoder layer");
        seen.add(c.family);
        n++;
        continue;
      }
      // ALBERT and DeBERTa may embed tokens narrower than the hidden size; DeBERTa may have no positions or types
      const e = embeddingNames(f, c);
      const E = c.embeddingSize ?? c.hidden;
      assert.deepEqual(w.get(`${e.word}.weight`).shape, [c.vocabSize, E], `${store.name}/${m}`);
      if (e.position) assert.deepEqual(w.get(`${e.position}.weight`).shape, [c.maxPositions, E]);
      assert.deepEqual(w.get(`${f.layer(c.layers - 1, c).linear.inter}.weight`).shape, [c.intermediate, c.hidden]);
      if (e.tokenType) assert.deepEqual(w.get(`${e.tokenType}.weight`).shape, [c.typeVocabSize, E]);
      assert.equal(w.has(`${f.layer(c.layers, c).linear.q}.weight`), false, "no more layers than the config says");
      seen.add(c.family);
      n++;
    }
  }
  assert.ok(n >= 5, `only ${n} models seen`);
  assert.deepEqual([...seen].sort(), ["albert", "bart", "bert", "deberta-v2", "distilbert", "marian", "mbart", "roberta", "t5"]);
});

test("relative position embeddings are refused, absolute ones read", () => {
  for (const type of ["relative_key", "relative_key_query"]) {
    assert.throws(() => parseModelConfig({ ...BERT_JSON, position_embedding_type: type }), new RegExp(`"${type}" is not supported`));
    assert.throws(() => parseModelConfig({ ...BERT_JSON, model_type: "xlm-roberta", position_embedding_type: type }), /not supported/);
  }
  assert.equal(parseModelConfig({ ...BERT_JSON, position_embedding_type: "absolute" }).family, "bert");
});

test("parseModelConfig dispatches on model_type, not on the fields present", () => {
  // a BERT config relabelled roberta picks RoBERTa's padding default and positions
  const { pad_token_id: _, ...noPad } = BERT_JSON;
  assert.equal(parseModelConfig({ ...noPad, model_type: "roberta" }).padTokenId, 1);
  assert.equal(parseModelConfig({ ...noPad, model_type: "camembert" }).family, "roberta");
  assert.equal(parseModelConfig(noPad).padTokenId, 0);
  // and a BERT config relabelled distilbert lacks dim / n_layers
  assert.throws(() => parseModelConfig({ ...BERT_JSON, model_type: "distilbert" }), /dim/);
});
