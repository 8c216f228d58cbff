import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { albert } from "../../../src/families/albert.ts";
import { baseWeights } from "../../../src/families/base-weights.ts";
import { layerSchedule } from "../../../src/families/family.ts";
import { familyKeys } from "../../../src/methods/method.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import type { StateDict } from "../../../src/core/tensor.ts";
import { LOCAL_FIXTURES } from "../../support/paths.ts";

const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8"));
const readDict = (p: string) => readSafetensors(readFileSync(p), p);
const MODELS = { single: path.join(LOCAL_FIXTURES, "families-methods/models/albert-m"), grouped: path.join(LOCAL_FIXTURES, "families-tiny/models/albert-grouped") };
const SINGLE_JSON = readJson(path.join(MODELS.single, "config.json"));
const GROUPED_JSON = readJson(path.join(MODELS.grouped, "config.json"));
const single = albert.parseConfig(SINGLE_JSON);
const grouped = albert.parseConfig(GROUPED_JSON);
const prefixed = (d: StateDict, p: string): StateDict => new Map([...d].map(([k, t]) => [p + k, t]));

test("ALBERT's layer count is its distinct layer modules (groups × inner layers), its embeddings embedding_size wide", () => {
  assert.deepEqual([single.layers, single.hidden, single.embeddingSize, single.heads, single.intermediate, single.activation], [1, 32, 16, 4, 64, "gelu_new"]);
  assert.deepEqual([grouped.layers, grouped.hidden, grouped.embeddingSize], [4, 48, 16]);
  // transformers' AlbertConfig defaults
  const { embedding_size: _, hidden_act: __, num_hidden_groups: ___, inner_group_num: ____, ...bare } = SINGLE_JSON;
  const c = albert.parseConfig(bare);
  assert.deepEqual([c.embeddingSize, c.activation, c.layers], [128, "gelu_new", 1]);
});

test("the schedule runs group floor(i · groups / steps) at step i, all of its inner layers, as AlbertTransformer does", () => {
  assert.deepEqual(layerSchedule(albert, single), [0, 0]);
  assert.deepEqual(layerSchedule(albert, grouped), [0, 1, 0, 1, 2, 3, 2, 3]);
  const uneven = albert.parseConfig({ ...SINGLE_JSON, num_hidden_layers: 3, num_hidden_groups: 2, inner_group_num: 1 });
  assert.deepEqual(layerSchedule(albert, uneven), [0, 0, 1]); // int(i / 1.5)
  const twelve = albert.parseConfig({ ...SINGLE_JSON, num_hidden_layers: 12 });
  assert.deepEqual(layerSchedule(albert, twelve), Array(12).fill(0));
});

test("layer modules are named by group and inner index; adapters sit in attention_adapters and output_adapters", () => {
  const n = albert.layer(3, grouped);
  const p = "encoder.albert_layer_groups.1.albert_layers.1";
  assert.deepEqual(n.linear, { q: `${p}.attention.query`, k: `${p}.attention.key`, v: `${p}.attention.value`, attnOut: `${p}.attention.dense`, inter: `${p}.ffn`, out: `${p}.ffn_output` });
  assert.equal(n.attnNorm, `${p}.attention.LayerNorm`);
  assert.equal(n.outNorm, `${p}.full_layer_layer_norm`);
  assert.equal(albert.adapterModule(2, "mh", grouped), "encoder.albert_layer_groups.1.albert_layers.0.attention.attention_adapters");
  assert.equal(albert.adapterModule(0, "out", grouped), "encoder.albert_layer_groups.0.albert_layers.0.output_adapters");
  assert.equal(albert.adapterModule(0, "cross", grouped), null);
  // AlbertAttention passes (input, attention output) to its adapter layer
  assert.deepEqual(albert.swappedAdapterInputs, ["mh"]);
  assert.equal(albert.pooler, "pooler");
  assert.equal(albert.embeddings.projectAfter, "encoder.embedding_hidden_mapping_in");
});

test("AdapterHub's saved ALBERT adapter keys lie under the family's adapter modules once the albert. prefix is gone", () => {
  const keys = familyKeys(readDict(path.join(LOCAL_FIXTURES, "families-tiny/adapters/a-houlsby/adapter.safetensors")), albert);
  const modules = [0, 1, 2, 3].flatMap((l) => (["mh", "out"] as const).map((loc) => albert.adapterModule(l, loc, grouped)!));
  assert.ok(keys.size > 0);
  for (const k of keys.keys()) assert.ok(modules.some((m) => k.startsWith(`${m}.adapters.a-houlsby.`)), k);
  // leave_out [1]: module 1 has none
  assert.ok(![...keys.keys()].some((k) => k.startsWith(albert.adapterModule(1, "out", grouped)!)));
});

test("baseWeights reads ALBERT checkpoints with or without albert., and refuses one that does not fit its config", () => {
  const dict = readDict(path.join(MODELS.grouped, "model.safetensors"));
  for (const d of [dict, prefixed(dict, "albert.")]) {
    const w = baseWeights(d, albert, grouped);
    assert.deepEqual(w.get("encoder.embedding_hidden_mapping_in.weight").shape, [48, 16]);
    assert.deepEqual(w.get(`${albert.layer(3, grouped).linear.out}.weight`).shape, [48, 80]);
  }
  assert.throws(() => baseWeights(dict, albert, albert.parseConfig({ ...GROUPED_JSON, embedding_size: 32 })), /word embeddings have shape \[351,16\], config says embedding_size 32/);
  assert.throws(() => baseWeights(dict, albert, albert.parseConfig({ ...GROUPED_JSON, num_hidden_groups: 4 })), /lack "encoder\.albert_layer_groups\.2\.albert_layers\.0\./);
  const noMapping = new Map([...dict].filter(([k]) => !k.startsWith("encoder.embedding_hidden_mapping_in")));
  assert.throws(() => baseWeights(noMapping, albert, grouped), /embedding_hidden_mapping_in/);
});

test("ALBERT configs polyhead cannot serve are refused by name", () => {
  assert.throws(() => albert.parseConfig({ ...SINGLE_JSON, position_embedding_type: "relative_key" }), /"relative_key" is not supported/);
  assert.throws(() => albert.parseConfig({ ...SINGLE_JSON, num_hidden_groups: 3 }), /num_hidden_groups must not exceed num_hidden_layers/);
  assert.throws(() => albert.parseConfig({ ...SINGLE_JSON, num_attention_heads: 5 }), /multiple of num_attention_heads/);
});
