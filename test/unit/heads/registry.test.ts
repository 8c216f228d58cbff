import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import path from "node:path";
import { HEAD_TYPES, isModelHead, RESULT_TYPES, headType, parseHeadConfig, readHeadWeights, resultType } from "../../../src/heads/index.ts";
import { transpose2d } from "../../../src/formats/linear.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import { readTorchBin } from "../../../src/formats/torch-bin.ts";
import type { StateDict } from "../../../src/core/tensor.ts";
import { ADAPTERHUB_FIXTURES, fixtureStores } from "../../support/paths.ts";

const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8"));
const adapter = (name: string) => path.join(ADAPTERHUB_FIXTURES, "adapters", name);
const headJson = (name: string) => readJson(path.join(adapter(name), "head_config.json"));
const headDict = (name: string) => readSafetensors(readFileSync(path.join(adapter(name), "model_head.safetensors")));
const SENTIMENT = headJson("sentiment");
const withConfig = (json: any, patch: Record<string, unknown>) => ({ ...json, config: { ...json.config, ...patch } });
const SUPPORTED = "classification, multilabel_classification, tagging, question_answering";

/** Every head_config.json of every fixture store, with its folder. */
function allHeadConfigs(): { dir: string; json: any }[] {
  const out = [];
  for (const store of fixtureStores()) {
    for (const kind of ["adapters", "fusions"]) {
      const root = path.join(store.dir, kind);
      if (!existsSync(root)) continue;
      for (const d of readdirSync(root)) {
        const dir = path.join(root, d);
        if (!existsSync(path.join(dir, "head_config.json"))) continue;
        const json = readJson(path.join(dir, "head_config.json"));
        // the base model's own LM head, saved beside seq2seq adapters (config null): not a task head
        if (isModelHead(json)) continue;
        out.push({ dir, json });
      }
    }
  }
  return out;
}

test("the registry's head types and the result types they answer with", () => {
  assert.deepEqual(HEAD_TYPES.map((h) => h.type), ["classification", "multilabel_classification", "tagging", "question_answering"]);
  assert.deepEqual(RESULT_TYPES, ["hidden_states", "classification", "regression", "multilabel_classification", "tagging", "question_answering"]);
  assert.equal(resultType(null), "hidden_states");
  assert.equal(resultType(parseHeadConfig(SENTIMENT)), "classification");
  assert.equal(resultType(parseHeadConfig(headJson("rating"))), "regression");
  assert.equal(resultType(parseHeadConfig(headJson("qa"))), "question_answering");
  assert.throws(() => headType({ ...parseHeadConfig(SENTIMENT), headType: "masked_lm" }), /no head type "masked_lm"/);
});

test("every fixture head_config.json parses, and its weights read against it", () => {
  const heads = allHeadConfigs();
  assert.ok(heads.length >= 40, `only ${heads.length} heads seen`);
  const types = new Set<string>();
  for (const { dir, json } of heads) {
    const c = parseHeadConfig(json);
    assert.equal(c.name, json.name);
    assert.equal(headType(c).type, json.config.head_type);
    assert.equal(c.labels.length, c.numLabels, dir);
    assert.ok(c.labels.every((l) => typeof l === "string" && l.length > 0), dir);
    // a head saved alone by the library has only its .bin
    const st = path.join(dir, "model_head.safetensors");
    const dict = existsSync(st) ? readSafetensors(readFileSync(st)) : readTorchBin(readFileSync(path.join(dir, "pytorch_model_head.bin")));
    const w = readHeadWeights(dict, c, json.hidden_size);
    assert.equal(w.layers.length, c.layers, dir);
    assert.equal(w.layers.at(-1)!.w.shape[1], c.numLabels, dir);
    types.add(c.headType);
  }
  assert.deepEqual([...types].sort(), HEAD_TYPES.map((h) => h.type).sort(), "the fixtures hold every head type");
});

test("the sentiment head reads as AdapterHub saved it", () => {
  assert.deepEqual(parseHeadConfig(SENTIMENT), {
    name: "sentiment",
    headType: "classification",
    numLabels: 2,
    layers: 2,
    activation: "tanh",
    usePooler: false,
    bias: true,
    labels: ["negative", "positive"],
    hiddenSize: 32,
    modelType: "bert",
    modelName: null,
  });
});

test("labels come from label2id by id, not by key order; gaps are LABEL_i", () => {
  // formality: {casual: 0, formal: 2, neutral: 1}
  assert.deepEqual(parseHeadConfig(headJson("formality")).labels, ["casual", "neutral", "formal"]);
  // topic: {business: 2, science: 3, sports: 1, world: 0}
  assert.deepEqual(parseHeadConfig(headJson("topic")).labels, ["world", "sports", "business", "science"]);
  const gaps = parseHeadConfig(withConfig(SENTIMENT, { num_labels: 4, label2id: { pos: 3, neg: 1, huge: 9 } }));
  assert.deepEqual(gaps.labels, ["LABEL_0", "neg", "LABEL_2", "pos"]);
  // num_labels absent: as many labels as label2id holds
  const { num_labels: _, ...noNum } = SENTIMENT.config;
  assert.equal(parseHeadConfig({ ...SENTIMENT, config: noNum }).numLabels, 2);
  assert.deepEqual(parseHeadConfig(withConfig(SENTIMENT, { label2id: null })).labels, ["LABEL_0", "LABEL_1"]);
  assert.throws(() => parseHeadConfig({ ...SENTIMENT, config: { ...noNum, label2id: null } }), /neither num_labels nor label2id/);
});

test("question answering always has 2 outputs, whatever num_labels says", () => {
  const qa = headJson("qa");
  assert.equal(parseHeadConfig(qa).numLabels, 2);
  assert.equal(parseHeadConfig(withConfig(qa, { num_labels: 5, label2id: null })).numLabels, 2);
  const { num_labels: _, label2id: __, ...bare } = qa.config;
  const c = parseHeadConfig({ ...qa, config: bare });
  assert.equal(c.numLabels, 2);
  assert.deepEqual(c.labels, ["LABEL_0", "LABEL_1"]);
});

test("an unknown head_type is refused listing the supported ones", () => {
  for (const type of ["masked_lm", "causal_lm", "dependency_parsing", "Classification"]) {
    assert.throws(() => parseHeadConfig(withConfig(SENTIMENT, { head_type: type })), (e: Error) => e.message === `head_type "${type}" is not supported (supported: ${SUPPORTED})`);
  }
});

test("activations: unsupported refused, case folded, absent means linear", () => {
  assert.throws(() => parseHeadConfig(withConfig(SENTIMENT, { activation_function: "softplus" })), /unsupported head activation "softplus"/);
  assert.equal(parseHeadConfig(withConfig(SENTIMENT, { activation_function: "Tanh" })).activation, "tanh");
  assert.equal(parseHeadConfig(withConfig(SENTIMENT, { activation_function: "GELU" })).activation, "gelu");
  assert.equal(parseHeadConfig(withConfig(SENTIMENT, { activation_function: null })).activation, "linear");
  const { activation_function: _, layers: __, use_pooler: ___, bias: ____, ...bare } = SENTIMENT.config;
  const c = parseHeadConfig({ ...SENTIMENT, config: bare });
  assert.deepEqual([c.activation, c.layers, c.usePooler, c.bias], ["linear", 1, false, true]);
});

test("the envelope: name required, sizes and model fields optional", () => {
  assert.throws(() => parseHeadConfig({ ...SENTIMENT, name: "" }));
  assert.throws(() => parseHeadConfig({ config: SENTIMENT.config }));
  assert.throws(() => parseHeadConfig({ ...SENTIMENT, config: undefined }));
  const { hidden_size: _, model_type: __, model_name: ___, ...bare } = SENTIMENT;
  const c = parseHeadConfig(bare);
  assert.deepEqual([c.hiddenSize, c.modelType, c.modelName], [null, null, null]);
  assert.equal(parseHeadConfig({ ...SENTIMENT, model_name: "bert-base-uncased" }).modelName, "bert-base-uncased");
  assert.equal(parseHeadConfig({ ...SENTIMENT, model_name: "" }).modelName, null);
});

test("readHeadWeights takes only its own head's keys when another head's name starts the same", () => {
  const dict = headDict("sentiment");
  const own = ["heads.sentiment.1.weight", "heads.sentiment.4.weight"];
  const other = ["heads.sentiment,topic,formality.1.weight", "heads.sentiment,topic,formality.4.weight"];
  for (const k of [...own, ...other]) assert.ok(dict.has(k), k);
  // the two heads differ, so reading the wrong one shows
  assert.notDeepEqual(dict.get(own[1])!.data, dict.get(other[1])!.data);

  const c = parseHeadConfig(SENTIMENT);
  const w = readHeadWeights(dict, c, 32);
  assert.equal(w.layers.length, 2);
  assert.deepEqual(w.layers[0].w, transpose2d(dict.get(own[0])!), "weights transposed to [in, out], in index order");
  assert.deepEqual(w.layers[1].w, transpose2d(dict.get(own[1])!));
  assert.deepEqual(w.layers[1].w.shape, [32, 2]);
  assert.deepEqual(w.layers[0].b, dict.get("heads.sentiment.1.bias"));
  assert.deepEqual(w.layers[1].b, dict.get("heads.sentiment.4.bias"));

  const fused = readHeadWeights(dict, { ...c, name: "sentiment,topic,formality" }, 32);
  assert.deepEqual(fused.layers[1].w, transpose2d(dict.get(other[1])!));
  assert.deepEqual(fused.layers[1].b, dict.get("heads.sentiment,topic,formality.4.bias"));
});

test("readHeadWeights ignores keys that are not <index>.weight/bias and orders layers by index", () => {
  const src = headDict("sentiment");
  const dict: StateDict = new Map([
    // numeric order, not string order: 10 after 4 would break a lexical sort ("10" < "4")
    ["heads.sentiment.10.weight", src.get("heads.sentiment.4.weight")!],
    ["heads.sentiment.10.bias", src.get("heads.sentiment.4.bias")!],
    ["heads.sentiment.4.weight", src.get("heads.sentiment.1.weight")!],
    ["heads.sentiment.4.bias", src.get("heads.sentiment.1.bias")!],
    ["heads.sentiment.4.extra.weight", src.get("heads.sentiment.1.weight")!],
    ["heads.sentiment.norm.weight", src.get("heads.sentiment.1.bias")!],
    ["heads.sent.1.weight", src.get("heads.sentiment.1.weight")!],
  ]);
  const w = readHeadWeights(dict, parseHeadConfig(SENTIMENT), 32);
  assert.deepEqual(w.layers.map((l) => l.w.shape), [[32, 32], [32, 2]]);
});

test("readHeadWeights refuses a layer-count or size mismatch", () => {
  const dict = headDict("sentiment");
  const c = parseHeadConfig(SENTIMENT);
  assert.throws(() => readHeadWeights(dict, { ...c, layers: 1 }, 32), /head "sentiment": config says 1 layer\(s\), file holds 2 linear layer\(s\)/);
  assert.throws(() => readHeadWeights(dict, { ...c, layers: 3 }, 32), /config says 3 layer\(s\), file holds 2/);
  assert.throws(() => readHeadWeights(dict, { ...c, name: "topic" }, 32), /file holds 0 linear layer/);
  assert.throws(() => readHeadWeights(dict, c, 64), /input size 32, expected 64/);
  assert.throws(() => readHeadWeights(dict, { ...c, numLabels: 3 }, 32), /output size 2, expected 3/);
  const noWeight = new Map(dict);
  noWeight.delete("heads.sentiment.4.weight");
  assert.throws(() => readHeadWeights(noWeight, c, 32), /missing weight "weight"/);
});

test("a one-layer head (tagging, QA) reads straight to its labels", () => {
  for (const name of ["ner", "qa"]) {
    const c = parseHeadConfig(headJson(name));
    const w = readHeadWeights(headDict(name), c, 32);
    assert.equal(w.layers.length, 1);
    assert.deepEqual(w.layers[0].w.shape, [32, c.numLabels]);
    assert.deepEqual(w.layers[0].b?.shape, [c.numLabels]);
  }
});
