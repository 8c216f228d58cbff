import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { roberta } from "../../../src/families/roberta.ts";
import { bert } from "../../../src/families/bert.ts";
import { baseWeights } from "../../../src/families/base-weights.ts";
import { LINEAR_TARGETS, type Location } from "../../../src/families/family.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import type { StateDict } from "../../../src/core/tensor.ts";
import { LOCAL_FIXTURES } from "../../support/paths.ts";

const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8"));
const readDict = (p: string) => readSafetensors(readFileSync(p), p);
const ROBERTA = path.join(LOCAL_FIXTURES, "roberta-tiny");
const XLMR = path.join(LOCAL_FIXTURES, "xlmr-tiny");
const CONFIG_JSON = readJson(path.join(ROBERTA, "models/roberta-tiny/config.json"));
const config = roberta.parseConfig(CONFIG_JSON);
/** RobertaForMaskedLM weights: roberta.* keys beside lm_head.* */
const dict = readDict(path.join(ROBERTA, "models/roberta-tiny/model.safetensors"));
const stripped = (d: StateDict, p: string): StateDict => new Map([...d].filter(([k]) => k.startsWith(p)).map(([k, t]) => [k.slice(p.length), t]));

function familyNames(layers: number): string[] {
  const e = roberta.embeddings;
  const names = [`${e.word}.weight`, `${e.position}.weight`, `${e.tokenType}.weight`, `${e.norm}.weight`, `${e.norm}.bias`];
  for (let l = 0; l < layers; l++) {
    const n = roberta.layer(l);
    for (const t of LINEAR_TARGETS) if (n.linear[t]) names.push(`${n.linear[t]}.weight`, `${n.linear[t]}.bias`);
    for (const m of [n.attnNorm, n.outNorm]) names.push(`${m}.weight`, `${m}.bias`);
  }
  return [...names, `${roberta.pooler}.weight`, `${roberta.pooler}.bias`];
}

test("config.json of the RoBERTa fixture reads field by field", () => {
  assert.deepEqual(config, {
    modelType: "roberta",
    family: "roberta",
    hidden: 32,
    layers: 2,
    heads: 4,
    intermediate: 64,
    activation: "gelu",
    eps: 1e-5,
    vocabSize: 346,
    maxPositions: 66,
    typeVocabSize: 1,
    padTokenId: 1,
    nameOrPath: null,
    decoderLayers: 0,
  });
  const x = roberta.parseConfig(readJson(path.join(XLMR, "models/xlmr-tiny/config.json")));
  assert.equal(x.modelType, "xlm-roberta");
  assert.equal(x.family, "roberta");
  assert.equal(x.padTokenId, 1);
});

test("RoBERTa's padding index defaults to 1, not BERT's 0", () => {
  const { pad_token_id: _, ...noPad } = CONFIG_JSON;
  assert.equal(roberta.parseConfig(noPad).padTokenId, 1);
  assert.equal(roberta.parseConfig({ ...CONFIG_JSON, pad_token_id: null }).padTokenId, 1);
  assert.equal(bert.parseConfig({ ...noPad, model_type: "bert" }).padTokenId, 0);
  assert.equal(roberta.parseConfig({ ...CONFIG_JSON, pad_token_id: 0 }).padTokenId, 0);
});

test("positions are numbered after the padding index, skipping pads", () => {
  assert.deepEqual(roberta.positions([0, 5, 6, 1], config), [2, 3, 4, 1]);
  assert.deepEqual(roberta.positions([0, 5, 6, 2], config), [2, 3, 4, 5]);
  // a pad inside the row keeps the pad position and does not advance the count
  assert.deepEqual(roberta.positions([0, 1, 5, 1, 2], config), [2, 1, 3, 1, 4]);
  assert.deepEqual(roberta.positions([], config), []);
  // another padding index moves every position with it
  const pad0 = { ...config, padTokenId: 0 };
  assert.deepEqual(roberta.positions([7, 5, 0, 0], pad0), [1, 2, 0, 0]);
  const pad3 = { ...config, padTokenId: 3 };
  assert.deepEqual(roberta.positions([5, 3, 6], pad3), [4, 3, 5]);
  assert.equal(roberta.padPosition(9, config), 1);
  assert.equal(roberta.padPosition(9, pad3), 3);
});

test("maxTokens leaves out the padding_idx + 1 positions RoBERTa never uses", () => {
  assert.equal(roberta.maxTokens(config), 66 - 1 - 1);
  assert.equal(roberta.maxTokens({ ...config, maxPositions: 514 }), 512);
  // a full row's last position is the last position embedding, not one past it
  const full = roberta.positions(Array(roberta.maxTokens(config)).fill(5), config);
  assert.equal(Math.max(...full), config.maxPositions - 1);
  assert.equal(dict.get(`roberta.${roberta.embeddings.position}.weight`)?.shape[0], config.maxPositions);
});

test("baseWeights finds every layer under roberta. beside the LM head, and without the prefix", () => {
  assert.ok([...dict.keys()].some((k) => k.startsWith("lm_head.")));
  const w = baseWeights(dict, roberta, config);
  const names = familyNames(config.layers);
  for (const name of names) assert.equal(w.get(name), dict.get(`roberta.${name}`), name);
  assert.equal(w.has("lm_head.dense.weight"), false);
  const plain = stripped(dict, "roberta.");
  assert.equal(plain.size, names.length, "the family names every tensor of a RobertaModel");
  const pw = baseWeights(plain, roberta, config);
  for (const name of names) assert.equal(pw.get(name), plain.get(name), name);
  // the XLM-R fixture is laid out the same way
  const xc = roberta.parseConfig(readJson(path.join(XLMR, "models/xlmr-tiny/config.json")));
  const xd = readDict(path.join(XLMR, "models/xlmr-tiny/model.safetensors"));
  const xw = baseWeights(xd, roberta, xc);
  for (const name of names) assert.equal(xw.get(name), xd.get(`roberta.${name}`), name);
});

test("baseWeights fails naming a missing layer weight", () => {
  const key = "roberta.encoder.layer.1.attention.self.query.weight";
  const d = new Map(dict);
  assert.ok(d.delete(key));
  assert.throws(() => baseWeights(d, roberta, config), (e: Error) => e.message.includes(`lack "${key}"`));
  const noEmb = new Map(dict);
  noEmb.delete("roberta.embeddings.word_embeddings.weight");
  assert.throws(() => baseWeights(noEmb, roberta, config), /hold no embeddings\.word_embeddings\.weight .*roberta\./);
  // bert. is not one of RoBERTa's prefixes
  const asBert: StateDict = new Map([...stripped(dict, "roberta.")].map(([k, t]) => [`bert.${k}`, t]));
  assert.throws(() => baseWeights(asBert, roberta, config), /hold no embeddings\.word_embeddings\.weight/);
});

test("RoBERTa keeps BERT's layer names and its one token type", () => {
  assert.deepEqual(roberta.layer(1), bert.layer(1));
  assert.equal(roberta.tokenTypes, true);
  assert.deepEqual(dict.get("roberta.embeddings.token_type_embeddings.weight")?.shape, [config.typeVocabSize, 32]);
  assert.deepEqual(roberta.modelTypes.sort(), ["camembert", "roberta", "xlm-roberta"]);
});

test("adapterModule names the modules AdapterHub saved RoBERTa / XLM-R adapters in", () => {
  const cases: [string, string, Location[]][] = [
    [ROBERTA, "nli", ["mh", "out"]],
    [ROBERTA, "sst", ["out"]],
    [XLMR, "nli", ["mh", "out"]],
  ];
  for (const [store, name, locs] of cases) {
    const keys = [...readDict(path.join(store, "adapters", name, "adapter.safetensors")).keys()];
    const seen = new Set<string>();
    for (let l = 0; l < config.layers; l++) {
      for (const loc of ["mh", "out"] as Location[]) {
        const mod = `roberta.${roberta.adapterModule(l, loc)}.adapters.${name}.`;
        const mine = keys.filter((k) => k.startsWith(mod));
        if (locs.includes(loc)) assert.ok(mine.includes(`${mod}adapter_down.0.weight`) && mine.includes(`${mod}adapter_up.weight`), `${store} ${name}: ${mod}`);
        else assert.equal(mine.length, 0, `${name} has no adapter at ${loc}`);
        mine.forEach((k) => seen.add(k));
      }
    }
    assert.deepEqual(keys.filter((k) => !seen.has(k)), [], `${name}: every key lies in a module adapterModule names`);
  }
});
