import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseAdapterConfig, readAdapterParts } from "../../../src/methods/index.ts";
import { bottleneck, type BottleneckWeights } from "../../../src/methods/bottleneck.ts";
import { familyFor, parseModelConfig } from "../../../src/families/index.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import { ADAPTERHUB_FIXTURES, LOCAL_FIXTURES } from "../../support/paths.ts";

const read = (p: string) => JSON.parse(readFileSync(p, "utf8"));
const sentiment = read(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment/adapter_config.json"));
const withConfig = (patch: Record<string, unknown>) => ({ ...sentiment, config: { ...sentiment.config, ...patch } });

function weightsOf(store: string, model: string, adapter: string, patch: Record<string, unknown> = {}) {
  const config = parseModelConfig(read(path.join(store, "models", model, "config.json")));
  const json = read(path.join(store, "adapters", adapter, "adapter_config.json"));
  const file = parseAdapterConfig({ ...json, config: { ...json.config, ...patch } });
  const dict = readSafetensors(new Uint8Array(readFileSync(path.join(store, "adapters", adapter, "adapter.safetensors"))));
  return { parts: readAdapterParts(file, dict, familyFor(config.modelType), config), config, dict, file };
}

test("a Pfeiffer config reads as AdapterHub saves it", () => {
  const { name, hiddenSize, parts } = parseAdapterConfig(sentiment);
  assert.equal(name, "sentiment");
  assert.equal(hiddenSize, 32);
  assert.deepEqual(parts.map((p) => p.method.name), ["bottleneck"]);
  assert.deepEqual(parts[0].config, {
    mhAdapter: false, outputAdapter: true, crossAdapter: false, reductionFactor: 16, nonLinearity: "relu",
    originalLnBefore: true, originalLnAfter: true, residualBeforeLn: true, adapterResidualBeforeLn: false,
    lnBefore: false, lnAfter: false, scaling: 1, isParallel: false, leaveOut: [], gated: false, phm: null,
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

test("options that change inference but cannot be served are refused by name", () => {
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ inv_adapter: "glow" }, /glow/],
    [{ inv_adapter: "real-nvp" }, /inv_adapter/],
    [{ non_linearity: "softsign" }, /activation/],
    [{ surprise_option: 1 }, /surprise_option/],
    [{ residual_before_ln: "post_add" }, /post_add/],
    [{ architecture: "prompt_tuning" }, /prompt_tuning/],
    [{ architecture: "union", configs: [] }, /configs/],
    [{ architecture: "union", configs: [{ architecture: "union", configs: [] }] }, /another union/],
    [{ mh_adapter: "yes" }, /mh_adapter/],
  ];
  for (const [patch, message] of refused) {
    assert.throws(() => parseAdapterConfig(withConfig(patch)), (e: Error) => message.test(e.message) || message.test(JSON.stringify((e as any).issues ?? "")), JSON.stringify(patch));
  }
  // training-only options change nothing at inference and pass
  assert.doesNotThrow(() => parseAdapterConfig(withConfig({ init_weights: "mam_adapter", dropout: 0.1, phm_dim: 8 })));
});

test("weights: one place per layer and location, leave_out honoured, W transposed to [in, out]", () => {
  const { parts, config } = weightsOf(ADAPTERHUB_FIXTURES, "bert-tiny", "sentiment");
  const w = parts[0].weights as BottleneckWeights;
  assert.deepEqual([...w.keys()], Array.from({ length: config.layers }, (_, l) => `${l}.out`), "Pfeiffer: output_adapter only");
  const p = w.get("0.out")!;
  assert.deepEqual(p.down.w.shape, [config.hidden, config.hidden / 16]);
  assert.deepEqual(p.up.w.shape, [config.hidden / 16, config.hidden]);
  const left = weightsOf(ADAPTERHUB_FIXTURES, "bert-tiny", "sentiment", { leave_out: [0] }).parts[0].weights as BottleneckWeights;
  assert.equal(left.has("0.out"), false);
  assert.equal(left.size, config.layers - 1);
  const houlsby = weightsOf(ADAPTERHUB_FIXTURES, "bert-tiny", "nli").parts[0].weights as BottleneckWeights;
  assert.ok(houlsby.has("0.mh") && houlsby.has("0.out"), "Houlsby: both locations");
});

test("weights: found under the family's module names (DistilBERT's attention_adapters / output_adapters)", () => {
  const store = path.join(LOCAL_FIXTURES, "distilbert-tiny");
  const { parts, config } = weightsOf(store, "distilbert-tiny", "pos");
  const w = parts[0].weights as BottleneckWeights;
  assert.equal(w.size, config.layers * 2);
});

test("weights: a missing layer is refused, naming the keys it expected", () => {
  const { file, dict, config } = weightsOf(ADAPTERHUB_FIXTURES, "bert-tiny", "sentiment");
  for (const k of [...dict.keys()]) if (k.includes("layer.1.output.adapters")) dict.delete(k);
  assert.throws(() => readAdapterParts(file, dict, familyFor(config.modelType), config), /layer 1 output_adapter: no weights.*encoder\.layer\.1\.output\.adapters\.sentiment/);
});

test("spec: what changes the graph, and the bottleneck size per place", () => {
  const { parts } = weightsOf(ADAPTERHUB_FIXTURES, "bert-tiny", "sentiment");
  const spec = bottleneck.spec(parts[0].config as never, parts[0].weights as never);
  assert.equal(spec.method, "bottleneck");
  assert.deepEqual(spec.dims, spec.places.map(() => 2));
  assert.equal((spec.shape as { act: string }).act, "relu");
});
