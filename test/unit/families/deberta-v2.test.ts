import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { deberta_v2, logBucket, relativeRow } from "../../../src/families/deberta-v2.ts";
import { baseWeights } from "../../../src/families/base-weights.ts";
import { embeddingNames } from "../../../src/families/family.ts";
import { familyKeys } from "../../../src/methods/method.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import type { StateDict } from "../../../src/core/tensor.ts";
import { LOCAL_FIXTURES } from "../../support/paths.ts";

const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8"));
const readDict = (p: string) => readSafetensors(readFileSync(p), p);
const model = (store: string, name: string) => path.join(LOCAL_FIXTURES, store, "models", name);
const V3_DIR = model("families-methods", "deberta-v2-m");
const V3_JSON = readJson(path.join(V3_DIR, "config.json"));
const UNSHARED_DIR = model("families-tiny", "deberta-v2-unshared");
const UNSHARED_JSON = readJson(path.join(UNSHARED_DIR, "config.json"));
const v3 = deberta_v2.parseConfig(V3_JSON);
const unshared = deberta_v2.parseConfig(UNSHARED_JSON);
const prefixed = (d: StateDict, p: string): StateDict => new Map([...d].map(([k, t]) => [p + k, t]));

test("a v3-style config: relative attention with log buckets, shared keys, p2c + c2p, no absolute positions or token types", () => {
  assert.deepEqual([v3.hidden, v3.layers, v3.heads, v3.intermediate, v3.eps, v3.embeddingSize], [32, 2, 4, 64, 1e-7, 32]);
  assert.deepEqual(v3.options, { relative: true, c2p: true, p2c: true, shareAttKey: true, span: 16, buckets: 16, maxRelative: 64, normRel: true, positions: false, types: false, project: false });
  const e = embeddingNames(deberta_v2, v3);
  assert.deepEqual([e.position, e.tokenType, e.projectBeforeNorm], [null, null, null]);
  assert.deepEqual(deberta_v2.extraWeights!(v3), [["encoder.rel_embeddings.weight", [32, 32]], ["encoder.LayerNorm.weight", [32]], ["encoder.LayerNorm.bias", [32]]]);
});

test("the other config semantics of transformers' DeBERTa-v2", () => {
  // no buckets: distances clamp at max_relative_positions; absolute positions, types and embed_proj present
  assert.deepEqual(unshared.options, { relative: true, c2p: true, p2c: true, shareAttKey: false, span: 6, buckets: -1, maxRelative: 6, normRel: false, positions: true, types: true, project: true });
  const e = embeddingNames(deberta_v2, unshared);
  assert.deepEqual([e.position, e.tokenType, e.projectBeforeNorm], ["embeddings.position_embeddings", "embeddings.token_type_embeddings", "embeddings.embed_proj"]);
  const extra = deberta_v2.extraWeights!(unshared).map(([n]) => n);
  assert.ok(extra.includes("encoder.layer.2.attention.self.pos_key_proj.weight") && extra.includes("encoder.layer.2.attention.self.pos_query_proj.bias"));
  const opts = (j: Record<string, unknown>) => deberta_v2.parseConfig({ ...V3_JSON, ...j }).options as Record<string, unknown>;
  // pos_att_type as a "|" string (older configs), a subset, or none
  assert.deepEqual([opts({ pos_att_type: "P2C|c2p" }).c2p, opts({ pos_att_type: "P2C|c2p" }).p2c], [true, true]);
  assert.deepEqual([opts({ pos_att_type: ["c2p"] }).c2p, opts({ pos_att_type: ["c2p"] }).p2c], [true, false]);
  assert.deepEqual([opts({ pos_att_type: null }).c2p, opts({ pos_att_type: null }).p2c], [false, false]);
  // max_relative_positions < 1 means max_position_embeddings; position_buckets <= 0 means none
  assert.deepEqual([opts({ max_relative_positions: -1, position_buckets: 0 }).span, opts({ max_relative_positions: 10, position_buckets: -1 }).span], [64, 10]);
  // transformers' defaults: no relative attention, absolute positions, no token types, eps 1e-7
  const bare = deberta_v2.parseConfig({ model_type: "deberta-v2", hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, vocab_size: 10 });
  assert.deepEqual([bare.eps, bare.maxPositions, bare.typeVocabSize, (bare.options as { relative: boolean }).relative, (bare.options as { positions: boolean }).positions], [1e-7, 512, 0, false, true]);
  assert.deepEqual(deberta_v2.extraWeights!(bare), []);
});

test("DeBERTa-v2 options polyhead cannot serve are refused by name", () => {
  assert.throws(() => deberta_v2.parseConfig({ ...V3_JSON, conv_kernel_size: 3 }), /conv_kernel_size/);
  assert.throws(() => deberta_v2.parseConfig({ ...V3_JSON, attention_head_size: 4 }), /attention_head_size/);
  assert.throws(() => deberta_v2.parseConfig({ ...V3_JSON, model_type: "deberta" }), /deberta-v2/);
});

test("names: BERT's blocks with query_proj / key_proj / value_proj, adapters where BERT has them, no pooler", () => {
  const n = deberta_v2.layer(1);
  assert.deepEqual(n.linear, {
    q: "encoder.layer.1.attention.self.query_proj",
    k: "encoder.layer.1.attention.self.key_proj",
    v: "encoder.layer.1.attention.self.value_proj",
    attnOut: "encoder.layer.1.attention.output.dense",
    inter: "encoder.layer.1.intermediate.dense",
    out: "encoder.layer.1.output.dense",
  });
  assert.equal(deberta_v2.pooler, null);
  const keys = familyKeys(readDict(path.join(LOCAL_FIXTURES, "families-methods/adapters/deberta-v2-pfeiffer/adapter.safetensors")), deberta_v2);
  for (const k of keys.keys()) assert.ok([0, 1].some((l) => k.startsWith(`${deberta_v2.adapterModule(l, "out")}.adapters.pfeiffer.`)), k);
});

test("baseWeights checks the relative embeddings and the position projections against the config", () => {
  const dict = readDict(path.join(UNSHARED_DIR, "model.safetensors"));
  for (const d of [dict, prefixed(dict, "deberta.")]) assert.deepEqual(baseWeights(d, deberta_v2, unshared).get("encoder.rel_embeddings.weight").shape, [12, 32]);
  const without = (prefix: string) => new Map([...dict].filter(([k]) => !k.startsWith(prefix)));
  assert.throws(() => baseWeights(without("encoder.layer.1.attention.self.pos_query_proj"), deberta_v2, unshared), /pos_query_proj/);
  assert.throws(() => baseWeights(without("embeddings.embed_proj"), deberta_v2, unshared), /embed_proj/);
  assert.throws(() => baseWeights(dict, deberta_v2, deberta_v2.parseConfig({ ...UNSHARED_JSON, max_relative_positions: 8 })), /rel_embeddings.weight" has shape \[12,32\], the config asks for \[16,32\]/);
  // norm_rel_ebd "layer_norm" needs encoder.LayerNorm
  const v3dict = readDict(path.join(V3_DIR, "model.safetensors"));
  const noNorm = new Map([...v3dict].filter(([k]) => !k.startsWith("encoder.LayerNorm")));
  assert.throws(() => baseWeights(noNorm, deberta_v2, v3), /encoder\.LayerNorm/);
  assert.doesNotThrow(() => baseWeights(noNorm, deberta_v2, deberta_v2.parseConfig({ ...V3_JSON, norm_rel_ebd: "none" })));
});

test("log buckets equal transformers' build_relative_position for every distance (test/fixtures/deberta-buckets)", () => {
  const tables: { position_buckets: number; max_relative_positions: number; length: number; buckets: number[] }[] = readJson(path.join(LOCAL_FIXTURES, "deberta-buckets/buckets.json"));
  assert.ok(tables.some((t) => t.position_buckets === 256 && t.max_relative_positions === 512), "DeBERTa-v3's own setting is among them");
  for (const t of tables) {
    const got = t.buckets.map((_, i) => logBucket(i - (t.length - 1), t.position_buckets, t.max_relative_positions));
    assert.deepEqual(got, t.buckets, `${t.position_buckets} buckets over ${t.max_relative_positions}`);
  }
});

test("a (query, key) pair reads row clamp(bucket + span, 0, 2·span - 1) of the relative embeddings", () => {
  const none = { buckets: -1, maxRelative: 6, span: 6 };
  assert.deepEqual([-9, -6, -5, 0, 5, 6, 9].map((r) => relativeRow(r, none)), [0, 0, 1, 6, 11, 11, 11]);
  const v3o = { buckets: 16, maxRelative: 64, span: 16 };
  assert.deepEqual([-63, -8, 0, 7, 8, 63].map((r) => relativeRow(r, v3o)), [16 - logBucket(63, 16, 64), 8, 16, 23, 24, 16 + logBucket(63, 16, 64)]);
  assert.equal(logBucket(63, 16, 64), 15);
});
