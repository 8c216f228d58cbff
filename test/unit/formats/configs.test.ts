import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import path from "node:path";
import { parseAdapterConfig } from "../../../src/methods/index.ts";
import { parseFusionConfig } from "../../../src/methods/fusion.ts";
import { parseHeadConfig } from "../../../src/heads/index.ts";
import { parseModelConfig } from "../../../src/families/index.ts";
import { ADAPTERHUB_FIXTURES, fixtureStores } from "../../support/paths.ts";

const read = (p: string) => JSON.parse(readFileSync(p, "utf8"));
const stores = fixtureStores().map((s) => s.dir);
const sentiment = read(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment/adapter_config.json"));
const withConfig = (patch: Record<string, unknown>) => ({ ...sentiment, config: { ...sentiment.config, ...patch } });

test("every config in every golden store parses", () => {
  let n = 0;
  for (const store of stores) {
    for (const m of readdirSync(path.join(store, "models"))) parseModelConfig(read(path.join(store, "models", m, "config.json")));
    for (const a of readdirSync(path.join(store, "adapters"))) {
      const dir = path.join(store, "adapters", a);
      const json = read(path.join(dir, "adapter_config.json"));
      // AdapterHub saves GLOW invertible adapters it cannot run: refused by name
      if (json.config?.inv_adapter === "glow") {
        assert.throws(() => parseAdapterConfig(json), /glow/);
        continue;
      }
      const file = parseAdapterConfig(json);
      assert.ok(file.name.length > 0);
      if (existsSync(path.join(dir, "head_config.json"))) parseHeadConfig(read(path.join(dir, "head_config.json")));
      n++;
    }
    const fusions = path.join(store, "fusions");
    for (const f of existsSync(fusions) ? readdirSync(fusions) : []) parseFusionConfig(read(path.join(fusions, f, "adapter_fusion_config.json")));
  }
  assert.ok(n >= 20, `only ${n} adapters seen`);
});

test("a Pfeiffer config reads as AdapterHub saves it", () => {
  const { name, hiddenSize, parts } = parseAdapterConfig(sentiment);
  assert.equal(name, "sentiment");
  assert.equal(hiddenSize, 32);
  assert.deepEqual(parts.map((p) => p.method.name), ["bottleneck"]);
  assert.deepEqual(parts[0].config, {
    mhAdapter: false, outputAdapter: true, reductionFactor: 16, nonLinearity: "relu",
    originalLnBefore: true, originalLnAfter: true, residualBeforeLn: true, adapterResidualBeforeLn: false,
    lnBefore: false, lnAfter: false, scaling: 1, isParallel: false, leaveOut: [],
  });
});

test("per-layer reduction factors and learned scaling are accepted", () => {
  const [part] = parseAdapterConfig(withConfig({ reduction_factor: { "0": 4, default: 16 }, scaling: "learned", leave_out: [1] })).parts;
  assert.equal(part.method.name, "bottleneck");
  const c = part.config as { reductionFactor: unknown; scaling: unknown; leaveOut: unknown };
  assert.deepEqual(c.reductionFactor, { "0": 4, default: 16 });
  assert.equal(c.scaling, "learned");
  assert.deepEqual(c.leaveOut, [1]);
});

test("LoRA and (IA)^3 configs", () => {
  const [lora] = parseAdapterConfig(read(path.join(ADAPTERHUB_FIXTURES, "adapters/lora_sent/adapter_config.json"))).parts;
  assert.equal(lora.method.name, "lora");
  assert.deepEqual(lora.config, { r: 4, alpha: 8, scaling: 2, targets: ["q", "v"], leaveOut: [] });
  const [ia3] = parseAdapterConfig(read(path.join(ADAPTERHUB_FIXTURES, "adapters/ia3_topic/adapter_config.json"))).parts;
  assert.equal(ia3.method.name, "ia3");
  const bad = read(path.join(ADAPTERHUB_FIXTURES, "adapters/ia3_topic/adapter_config.json"));
  assert.throws(() => parseAdapterConfig({ ...bad, config: { ...bad.config, r: 4 } }), /scale.*r == 1/);
});

test("options that change inference but are not implemented are refused by name", () => {
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ use_gating: true }, /use_gating/],
    [{ phm_layer: true }, /phm_layer/],
    [{ inv_adapter: "glow" }, /glow/],
    [{ inv_adapter: "real-nvp" }, /inv_adapter/],
    [{ cross_adapter: true }, /cross_adapter/],
    [{ non_linearity: "softsign" }, /activation/],
    [{ surprise_option: 1 }, /surprise_option/],
    [{ residual_before_ln: "post_add" }, /post_add/],
    [{ architecture: "prefix_tuning" }, /prefix_tuning/],
    [{ mh_adapter: "yes" }, /mh_adapter/],
  ];
  for (const [patch, message] of refused) {
    assert.throws(() => parseAdapterConfig(withConfig(patch)), (e: Error) => message.test(e.message) || message.test(JSON.stringify((e as any).issues ?? "")), JSON.stringify(patch));
  }
  // training-only options change nothing at inference and pass
  assert.doesNotThrow(() => parseAdapterConfig(withConfig({ init_weights: "mam_adapter", dropout: 0.1, phm_dim: 8 })));
});

test("head configs: types, labels, regression, refusals", () => {
  const h = parseHeadConfig(read(path.join(ADAPTERHUB_FIXTURES, "adapters/topic/head_config.json")));
  assert.deepEqual(h.labels, ["world", "sports", "business", "science"]);
  assert.equal(h.layers, 2);
  assert.equal(h.activation, "tanh");
  const qa = parseHeadConfig(read(path.join(ADAPTERHUB_FIXTURES, "adapters/qa/head_config.json")));
  assert.equal(qa.headType, "question_answering");
  assert.equal(qa.numLabels, 2);
  const base = read(path.join(ADAPTERHUB_FIXTURES, "adapters/topic/head_config.json"));
  assert.throws(() => parseHeadConfig({ ...base, config: { ...base.config, head_type: "multiple_choice" } }), /multiple_choice/);
  assert.throws(() => parseHeadConfig({ ...base, config: { ...base.config, activation_function: "weird" } }), /weird/);
});

test("fusion configs: dynamic, static, refusals", () => {
  const dyn = parseFusionConfig(read(path.join(ADAPTERHUB_FIXTURES, "fusions/sentiment-fusion/adapter_fusion_config.json")));
  assert.equal(dyn.name, "sentiment,topic,formality");
  assert.equal(dyn.value, true);
  assert.equal(dyn.temperature, false);
  const raw = read(path.join(ADAPTERHUB_FIXTURES, "fusions/sentiment-fusion/adapter_fusion_config.json"));
  assert.equal(parseFusionConfig({ ...raw, config: { ...raw.config, value: false } }).value, false);
  assert.throws(() => parseFusionConfig({ ...raw, config: { ...raw.config, attention_type: "cosine" } }), /attention_type/);
});

test("model configs: BERT, RoBERTa, XLM-R; refusals", () => {
  const bert = read(path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny/config.json"));
  const c = parseModelConfig(bert);
  assert.equal(c.family, "bert");
  assert.equal(c.padTokenId, 0);
  assert.equal(parseModelConfig({ ...bert, model_type: "xlm-roberta", pad_token_id: 1 }).family, "roberta");
  assert.throws(() => parseModelConfig({ ...bert, model_type: "gpt2" }), /gpt2/);
  assert.throws(() => parseModelConfig({ ...bert, position_embedding_type: "relative_key" }), /relative_key/);
  assert.throws(() => parseModelConfig({ ...bert, hidden_size: "big" }));
});
