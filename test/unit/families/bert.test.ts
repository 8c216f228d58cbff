import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { bert } from "../../../src/families/bert.ts";
import { baseWeights } from "../../../src/families/base-weights.ts";
import { LINEAR_TARGETS, type Location } from "../../../src/families/family.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import type { StateDict } from "../../../src/core/tensor.ts";
import { ADAPTERHUB_FIXTURES, LOCAL_FIXTURES } from "../../support/paths.ts";

const MODEL = path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny");
const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8"));
const readDict = (p: string) => readSafetensors(readFileSync(p), p);
const CONFIG_JSON = readJson(path.join(MODEL, "config.json"));
const config = bert.parseConfig(CONFIG_JSON);
/** The AdapterHub fixture: plain BertModel keys, no prefix. */
const dict = readDict(path.join(MODEL, "model.safetensors"));
const prefixed = (d: StateDict, p: string): StateDict => new Map([...d].map(([k, t]) => [p + k, t]));
const without = (d: StateDict, ...keys: string[]): StateDict => {
  const m = new Map(d);
  for (const k of keys) assert.ok(m.delete(k), `fixture lacks ${k}`);
  return m;
};

/** Every parameter name the family says a BERT layer / the embeddings / the pooler has. */
function familyNames(layers: number): string[] {
  const names: string[] = [];
  const e = bert.embeddings;
  for (const m of [e.word, e.position, e.tokenType!]) names.push(`${m}.weight`);
  names.push(`${e.norm}.weight`, `${e.norm}.bias`);
  for (let l = 0; l < layers; l++) {
    const n = bert.layer(l);
    for (const t of LINEAR_TARGETS) if (n.linear[t]) names.push(`${n.linear[t]}.weight`, `${n.linear[t]}.bias`);
    for (const m of [n.attnNorm, n.outNorm]) names.push(`${m}.weight`, `${m}.bias`);
  }
  names.push(`${bert.pooler}.weight`, `${bert.pooler}.bias`);
  return names;
}

test("config.json of the AdapterHub BERT reads field by field", () => {
  assert.deepEqual(config, {
    modelType: "bert",
    family: "bert",
    hidden: 32,
    layers: 2,
    heads: 4,
    intermediate: 64,
    activation: "gelu",
    eps: 1e-12,
    vocabSize: 351,
    maxPositions: 64,
    typeVocabSize: 2,
    padTokenId: 0,
    nameOrPath: null,
    decoderLayers: 0,
  });
});

test("absent optional fields take transformers' BERT defaults", () => {
  const json = { ...CONFIG_JSON, hidden_act: undefined, layer_norm_eps: undefined, type_vocab_size: undefined, pad_token_id: undefined, position_embedding_type: undefined };
  for (const k of Object.keys(json)) if (json[k] === undefined) delete json[k];
  const c = bert.parseConfig({ ...json, _name_or_path: "prajjwal1/bert-tiny" });
  assert.equal(c.activation, "gelu");
  assert.equal(c.eps, 1e-12);
  assert.equal(c.typeVocabSize, 2);
  assert.equal(c.padTokenId, 0);
  assert.equal(c.nameOrPath, "prajjwal1/bert-tiny");
  assert.equal(bert.parseConfig({ ...CONFIG_JSON, pad_token_id: null }).padTokenId, 0);
  assert.equal(bert.parseConfig({ ...CONFIG_JSON, layer_norm_eps: 1e-6 }).eps, 1e-6);
});

test("configs polyhead cannot build are refused", () => {
  assert.throws(() => bert.parseConfig({ ...CONFIG_JSON, num_attention_heads: 5 }), /multiple of num_attention_heads/);
  assert.throws(() => bert.parseConfig({ ...CONFIG_JSON, hidden_size: undefined }), /hidden_size/);
  assert.throws(() => bert.parseConfig({ ...CONFIG_JSON, position_embedding_type: "relative_key" }), /relative_key.*not supported/);
});

test("baseWeights finds every weight of every layer under BERT's names, without a prefix", () => {
  const w = baseWeights(dict, bert, config);
  const names = familyNames(config.layers);
  assert.equal(names.length, dict.size, "the family names every tensor of a plain BertModel checkpoint");
  for (const name of names) {
    assert.ok(w.has(name), name);
    assert.equal(w.get(name), dict.get(name), name);
  }
});

test("baseWeights reads a checkpoint with bert. before every key (and a pre-training head beside it)", () => {
  const w = baseWeights(prefixed(dict, "bert."), bert, config);
  for (const name of familyNames(config.layers)) assert.equal(w.get(name), dict.get(name), name);
  // the real thing: BertForPreTraining weights, bert.* keys next to cls.*
  const variants = path.join(LOCAL_FIXTURES, "bert-variants/models/bert-tiny");
  const pre = readDict(path.join(variants, "model.safetensors"));
  assert.ok([...pre.keys()].some((k) => k.startsWith("cls.")));
  const vc = bert.parseConfig(readJson(path.join(variants, "config.json")));
  const vw = baseWeights(pre, bert, vc);
  for (const name of familyNames(vc.layers)) assert.equal(vw.get(name), pre.get(`bert.${name}`), name);
  assert.equal(vw.has("cls.predictions.bias"), false, "keys outside the prefix are not the model's");
  // a prefix not among the family's is not guessed
  assert.throws(() => baseWeights(prefixed(dict, "encoder."), bert, config), /no embeddings\.word_embeddings\.weight/);
});

test("baseWeights fails naming a missing layer weight, with the checkpoint's own prefix", () => {
  const q1 = "encoder.layer.1.attention.self.query.weight";
  assert.throws(() => baseWeights(without(dict, q1), bert, config), (e: Error) => e.message.includes(`lack "${q1}"`));
  assert.throws(() => baseWeights(without(prefixed(dict, "bert."), `bert.${q1}`), bert, config), (e: Error) => e.message.includes(`lack "bert.${q1}"`));
  assert.throws(() => baseWeights(without(dict, "embeddings.word_embeddings.weight"), bert, config), /hold no embeddings\.word_embeddings\.weight .*bert\./);
  // every weight the graph reads is checked when the checkpoint loads, not when a graph is built
  for (const k of ["encoder.layer.0.attention.self.key.weight", "encoder.layer.1.output.LayerNorm.bias", "embeddings.position_embeddings.weight", "encoder.layer.0.intermediate.dense.bias"]) {
    assert.throws(() => baseWeights(without(dict, k), bert, config), (e: Error) => e.message.includes(`lack "${k}"`), k);
  }
});

test("baseWeights refuses a layer weight whose shape does not fit the config", () => {
  const k = "encoder.layer.1.intermediate.dense.weight";
  const t = dict.get(k)!;
  const bad: StateDict = new Map(dict);
  bad.set(k, { shape: [t.shape[1], t.shape[0]], data: t.data });
  assert.throws(() => baseWeights(bad, bert, config), /"encoder\.layer\.1\.intermediate\.dense\.weight" has shape/);
});

test("baseWeights refuses embeddings of another width than the config's", () => {
  assert.throws(() => baseWeights(dict, bert, { ...config, hidden: 64 }), /shape \[\d+,32\], config says hidden size 64/);
  // one layer more in the config than in the file
  assert.throws(() => baseWeights(dict, bert, { ...config, layers: 3 }), /lack "encoder\.layer\.2\.attention\.self\.query\.weight"/);
});

test("TF-era LayerNorm gamma/beta stand in for weight/bias", () => {
  const tf: StateDict = new Map([...dict].map(([k, t]) => [k.replace(/LayerNorm\.weight$/, "LayerNorm.gamma").replace(/LayerNorm\.bias$/, "LayerNorm.beta"), t]));
  assert.ok(tf.has("encoder.layer.0.output.LayerNorm.gamma") && !tf.has("encoder.layer.0.output.LayerNorm.weight"));
  const w = baseWeights(tf, bert, config);
  assert.equal(w.get("encoder.layer.0.output.LayerNorm.weight"), dict.get("encoder.layer.0.output.LayerNorm.weight"));
  assert.equal(w.get("embeddings.LayerNorm.bias"), dict.get("embeddings.LayerNorm.bias"));
  assert.equal(w.has("encoder.layer.0.output.dense.gamma"), false);
});

test("BERT positions are 0..T-1 whatever the ids, pads included", () => {
  assert.deepEqual(bert.positions([2, 125, 70, 3], config), [0, 1, 2, 3]);
  assert.deepEqual(bert.positions([2, 0, 0, 3, 0], config), [0, 1, 2, 3, 4]);
  assert.deepEqual(bert.positions([], config), []);
  assert.equal(bert.padPosition(7, config), 7);
  assert.equal(bert.maxTokens(config), 64);
  const last = bert.positions(Array(bert.maxTokens(config)).fill(5), config).at(-1)!;
  assert.equal(last, config.maxPositions - 1, "a full row uses the last position embedding and no more");
});

test("BERT has token types and a pooler, both in the checkpoint", () => {
  assert.equal(bert.tokenTypes, true);
  assert.equal(dict.get(`${bert.embeddings.tokenType}.weight`)?.shape[0], config.typeVocabSize);
  assert.deepEqual(dict.get(`${bert.pooler}.weight`)?.shape, [32, 32]);
  for (const k of dict.keys()) assert.ok(bert.roots.includes(k.split(".")[0]), `${k} lies under one of the roots`);
});

test("adapterModule names the modules AdapterHub saved the adapters in", () => {
  // nli: a Houlsby-style adapter, at both locations; sentiment: Pfeiffer, after the FFN only
  for (const [name, locs] of [["nli", ["mh", "out"]], ["sentiment", ["out"]]] as [string, Location[]][]) {
    const keys = [...readDict(path.join(ADAPTERHUB_FIXTURES, "adapters", name, "adapter.safetensors")).keys()];
    const seen = new Set<string>();
    for (let l = 0; l < config.layers; l++) {
      for (const loc of ["mh", "out"] as Location[]) {
        const mod = `bert.${bert.adapterModule(l, loc)}.adapters.${name}.`;
        const mine = keys.filter((k) => k.startsWith(mod));
        if (locs.includes(loc)) {
          assert.ok(mine.some((k) => k === `${mod}adapter_down.0.weight`), `${name}: ${mod}adapter_down.0.weight`);
          assert.ok(mine.some((k) => k === `${mod}adapter_up.weight`), `${name}: ${mod}adapter_up.weight`);
        } else {
          assert.equal(mine.length, 0, `${name} has no adapter at ${loc}`);
        }
        mine.forEach((k) => seen.add(k));
      }
    }
    assert.deepEqual(keys.filter((k) => !seen.has(k)), [], `${name}: every key lies in a module adapterModule names`);
  }
  assert.equal(bert.adapterModule(0, "mh"), "encoder.layer.0.attention.output");
  assert.equal(bert.adapterModule(11, "out"), "encoder.layer.11.output");
});
