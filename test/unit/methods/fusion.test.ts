import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { foldInputs, fusionPlaces, parseFusionConfig, readFusionWeights } from "../../../src/methods/fusion.ts";
import { familyKeys } from "../../../src/methods/method.ts";
import { familyFor, parseModelConfig } from "../../../src/families/index.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import { ADAPTERHUB_FIXTURES, LOCAL_FIXTURES } from "../../support/paths.ts";

const read = (p: string) => JSON.parse(readFileSync(p, "utf8"));

test("fusion configs: dynamic, static, refusals", () => {
  const dyn = parseFusionConfig(read(path.join(ADAPTERHUB_FIXTURES, "fusions/sentiment-fusion/adapter_fusion_config.json")));
  assert.equal(dyn.name, "sentiment,topic,formality");
  assert.equal(dyn.value, true);
  assert.equal(dyn.temperature, false);
  const raw = read(path.join(ADAPTERHUB_FIXTURES, "fusions/sentiment-fusion/adapter_fusion_config.json"));
  assert.equal(parseFusionConfig({ ...raw, config: { ...raw.config, value: false } }).value, false);
  assert.throws(() => parseFusionConfig({ ...raw, config: { ...raw.config, attention_type: "cosine" } }), /attention_type/);
});

function load(store: string, model: string, fusion: string) {
  const config = parseModelConfig(read(path.join(store, "models", model, "config.json")));
  const family = familyFor(config.modelType);
  const c = parseFusionConfig(read(path.join(store, "fusions", fusion, "adapter_fusion_config.json")));
  const dict = readSafetensors(new Uint8Array(readFileSync(path.join(store, "fusions", fusion, "model_adapter_fusion.safetensors"))));
  return { c, config, w: readFusionWeights(familyKeys(dict, family), c, family, config) };
}

test("fusion weights: query, key and value per place, found under the family's module names", () => {
  const { w, config } = load(ADAPTERHUB_FIXTURES, "bert-tiny", "sentiment-fusion");
  assert.deepEqual(fusionPlaces(w), Array.from({ length: config.layers }, (_, l) => `${l}.out`));
  const p = w.get("0.out")!;
  assert.deepEqual(p.query!.w.shape, [config.hidden, config.hidden]);
  assert.equal(p.value!.b, null, "the value map has no bias");
  const d = load(path.join(LOCAL_FIXTURES, "distilbert-tiny"), "distilbert-tiny", "sst-fusion");
  assert.equal(d.w.size, d.config.layers);
});

test("fusion weights: a file without this fusion's keys is refused", () => {
  const { c, config } = load(ADAPTERHUB_FIXTURES, "bert-tiny", "sentiment-fusion");
  assert.throws(() => readFusionWeights(new Map(), c, familyFor("bert"), config), /no weights found/);
});

test("the folded query-key map gives the same scores as query and key applied in turn", () => {
  const { w } = load(ADAPTERHUB_FIXTURES, "bert-tiny", "sentiment-fusion");
  const { places, H, a, b, c } = foldInputs(w);
  const i = 0;
  const x = Float32Array.from({ length: H }, (_, k) => Math.sin(k + 1));
  const u = Float32Array.from({ length: H }, (_, k) => Math.cos(2 * k));
  // folded: (x·A + c)·B then ·u, with A = W_q' [in,out], B = W_k [out,in]
  const q = Float32Array.from({ length: H }, (_, o) => c[i * H + o] + x.reduce((s, xv, k) => s + xv * a[i * H * H + k * H + o], 0));
  const qk = Float32Array.from({ length: H }, (_, j) => q.reduce((s, qv, o) => s + qv * b[i * H * H + o * H + j], 0));
  const folded = qk.reduce((s, v, j) => s + v * u[j], 0);
  // unfolded: q · (W_k u) (the key bias adds the same to every adapter's score)
  const p = w.get(places[i])!;
  const ku = Float32Array.from({ length: H }, (_, o) => u.reduce((s, uv, j) => s + uv * p.key!.w.data[j * H + o], 0));
  const direct = q.reduce((s, qv, o) => s + qv * ku[o], 0);
  assert.ok(Math.abs(folded - direct) < 1e-3 * Math.max(1, Math.abs(direct)), `${folded} vs ${direct}`);
});
