import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import path from "node:path";
import { distilbert } from "../../../src/families/distilbert.ts";
import { baseWeights } from "../../../src/families/base-weights.ts";
import { LINEAR_TARGETS, type Location } from "../../../src/families/family.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import type { StateDict } from "../../../src/core/tensor.ts";
import { LOCAL_FIXTURES } from "../../support/paths.ts";

const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8"));
const readDict = (p: string) => readSafetensors(readFileSync(p), p);
const STORE = path.join(LOCAL_FIXTURES, "distilbert-tiny");
const MODEL = path.join(STORE, "models/distilbert-tiny");
const CONFIG_JSON = readJson(path.join(MODEL, "config.json"));
const config = distilbert.parseConfig(CONFIG_JSON);
/** DistilBertModel keys, no prefix */
const dict = readDict(path.join(MODEL, "model.safetensors"));
const prefixed = (d: StateDict, p: string): StateDict => new Map([...d].map(([k, t]) => [p + k, t]));

function familyNames(layers: number): string[] {
  const e = distilbert.embeddings;
  const names = [`${e.word}.weight`, `${e.position}.weight`, `${e.norm}.weight`, `${e.norm}.bias`];
  for (let l = 0; l < layers; l++) {
    const n = distilbert.layer(l);
    for (const t of LINEAR_TARGETS) if (n.linear[t]) names.push(`${n.linear[t]}.weight`, `${n.linear[t]}.bias`);
    for (const m of [n.attnNorm, n.outNorm]) names.push(`${m}.weight`, `${m}.bias`);
  }
  return names;
}

test("DistilBERT's dim / n_layers / n_heads / hidden_dim map to hidden / layers / heads / intermediate", () => {
  assert.deepEqual(config, {
    modelType: "distilbert",
    family: "distilbert",
    hidden: 32,
    layers: 2,
    heads: 4,
    intermediate: 64,
    activation: "gelu",
    eps: 1e-12,
    vocabSize: 351,
    maxPositions: 64,
    typeVocabSize: 0,
    padTokenId: 0,
    nameOrPath: null,
    decoderLayers: 0,
  });
  // four different numbers, so no two fields can be swapped unnoticed
  const c = distilbert.parseConfig({ ...CONFIG_JSON, dim: 48, n_layers: 3, n_heads: 6, hidden_dim: 96, activation: "relu", _name_or_path: "distilbert-base-uncased" });
  assert.deepEqual([c.hidden, c.layers, c.heads, c.intermediate, c.activation, c.nameOrPath], [48, 3, 6, 96, "relu", "distilbert-base-uncased"]);
});

test("DistilBERT's LayerNorm eps is fixed at 1e-12, and pad defaults to 0", () => {
  // DistilBERT has no layer_norm_eps: a stray one (or BERT's 1e-5 habit) is not read
  assert.equal(distilbert.parseConfig({ ...CONFIG_JSON, layer_norm_eps: 1e-5 }).eps, 1e-12);
  const { pad_token_id: _, activation: __, ...bare } = CONFIG_JSON;
  const c = distilbert.parseConfig(bare);
  assert.equal(c.padTokenId, 0);
  assert.equal(c.activation, "gelu");
  assert.equal(distilbert.parseConfig({ ...CONFIG_JSON, pad_token_id: null }).padTokenId, 0);
});

test("a DistilBERT config with BERT's field names, or heads not dividing dim, is refused", () => {
  const { dim: _, n_layers: __, ...rest } = CONFIG_JSON;
  assert.throws(() => distilbert.parseConfig({ ...rest, hidden_size: 32, num_hidden_layers: 2 }), /dim|n_layers/);
  assert.throws(() => distilbert.parseConfig({ ...CONFIG_JSON, n_heads: 5 }), /multiple of num_attention_heads/);
  assert.throws(() => distilbert.parseConfig({ ...CONFIG_JSON, model_type: "bert" }), /distilbert/);
});

test("no token types, no pooler: neither in the family nor in the checkpoint", () => {
  assert.equal(distilbert.tokenTypes, false);
  assert.equal(distilbert.embeddings.tokenType, null);
  assert.equal(distilbert.pooler, null);
  assert.ok(![...dict.keys()].some((k) => k.includes("token_type") || k.includes("pooler")));
  for (const k of dict.keys()) assert.ok(distilbert.roots.includes(k.split(".")[0]), `${k} lies under one of the roots`);
});

test("baseWeights finds every layer's weights under DistilBERT's names, with and without distilbert.", () => {
  const names = familyNames(config.layers);
  assert.equal(names.length, dict.size, "the family names every tensor of a DistilBertModel checkpoint");
  for (const d of [dict, prefixed(dict, "distilbert.")]) {
    const w = baseWeights(d, distilbert, config);
    for (const name of names) assert.equal(w.get(name), dict.get(name), name);
    assert.equal(w.has("encoder.layer.0.attention.self.query.weight"), false, "BERT's names are not DistilBERT's");
  }
  assert.equal(distilbert.layer(1).linear.q, "transformer.layer.1.attention.q_lin");
  assert.equal(distilbert.layer(1).linear.inter, "transformer.layer.1.ffn.lin1");
  assert.equal(distilbert.layer(1).linear.out, "transformer.layer.1.ffn.lin2");
  assert.equal(distilbert.layer(1).attnNorm, "transformer.layer.1.sa_layer_norm");
  assert.equal(distilbert.layer(1).outNorm, "transformer.layer.1.output_layer_norm");
});

test("baseWeights fails naming a missing layer weight", () => {
  for (const p of ["", "distilbert."]) {
    const key = `${p}transformer.layer.1.attention.q_lin.weight`;
    const d = prefixed(dict, p);
    assert.ok(d.delete(key));
    assert.throws(() => baseWeights(d, distilbert, config), (e: Error) => e.message.includes(`lack "${key}"`));
  }
  const noEmb = new Map(dict);
  noEmb.delete("embeddings.word_embeddings.weight");
  assert.throws(() => baseWeights(noEmb, distilbert, config), /hold no embeddings\.word_embeddings\.weight .*distilbert\./);
  assert.throws(() => baseWeights(prefixed(dict, "bert."), distilbert, config), /hold no/);
});

test("DistilBERT positions are 0..T-1 and every position embedding is usable", () => {
  assert.deepEqual(distilbert.positions([101, 0, 7, 0], config), [0, 1, 2, 3]);
  assert.equal(distilbert.padPosition(5, config), 5);
  assert.equal(distilbert.maxTokens(config), 64);
  assert.equal(dict.get("embeddings.position_embeddings.weight")?.shape[0], distilbert.maxTokens(config));
});

test("adapterModule names the block's own attention_adapters / output_adapters, as AdapterHub saves them", () => {
  const adapters = path.join(STORE, "adapters");
  let withMh = 0;
  let checked = 0;
  for (const name of readdirSync(adapters)) {
    const file = path.join(adapters, name, "adapter.safetensors");
    if (!existsSync(file)) continue;
    const keys = [...readDict(file).keys()].filter((k) => k.includes(`.adapters.${name}.adapter_`));
    if (keys.length === 0) continue; // LoRA, IA3, ... live elsewhere
    const seen = new Set<string>();
    const at = { mh: 0, out: 0 };
    for (let l = 0; l < config.layers; l++) {
      for (const loc of ["mh", "out"] as const) {
        const mod = `distilbert.${distilbert.adapterModule(l, loc)}.adapters.${name}.`;
        const mine = keys.filter((k) => k.startsWith(mod));
        if (mine.length) {
          assert.ok(mine.includes(`${mod}adapter_down.0.weight`), `${name}: ${mod}adapter_down.0.weight`);
          at[loc]++;
        }
        mine.forEach((k) => seen.add(k));
      }
    }
    assert.deepEqual(keys.filter((k) => !seen.has(k)), [], `${name}: every bottleneck key lies in a module adapterModule names`);
    if (at.mh) withMh++;
    checked++;
  }
  assert.ok(checked >= 4, `only ${checked} bottleneck adapters seen`);
  assert.ok(withMh >= 1, "some adapter sits after the attention block");
  const squad = [...readDict(path.join(adapters, "squad/adapter.safetensors")).keys()];
  assert.ok(squad.includes("distilbert.transformer.layer.0.attention_adapters.adapters.squad.adapter_down.0.weight"));
  assert.ok(squad.includes("distilbert.transformer.layer.1.output_adapters.adapters.squad.adapter_up.weight"));
  assert.equal(distilbert.adapterModule(1, "mh"), "transformer.layer.1.attention_adapters");
  assert.equal(distilbert.adapterModule(0, "out"), "transformer.layer.0.output_adapters");
});
