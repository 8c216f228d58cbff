import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseAdapterConfig, readAdapterParts } from "../../../src/methods/index.ts";
import { lora, parsePeftLora, type LoraWeights } from "../../../src/methods/lora.ts";
import { familyFor, parseModelConfig } from "../../../src/families/index.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import { linearJs, maxDiff, partFeeds, random, runHook, allTokens } from "../../support/hook-graph.ts";
import { ADAPTERHUB_FIXTURES, LOCAL_FIXTURES } from "../../support/paths.ts";

const read = (p: string) => JSON.parse(readFileSync(p, "utf8"));

test("LoRA and (IA)^3 configs", () => {
  const [lora] = parseAdapterConfig(read(path.join(ADAPTERHUB_FIXTURES, "adapters/lora_sent/adapter_config.json"))).parts;
  assert.equal(lora.method.name, "lora");
  assert.deepEqual(lora.config, { r: 4, alpha: 8, scaling: 2, targets: ["q", "v", "crossQ", "crossV"], leaveOut: [], gated: false });
  const [ia3] = parseAdapterConfig(read(path.join(ADAPTERHUB_FIXTURES, "adapters/ia3_topic/adapter_config.json"))).parts;
  assert.equal(ia3.method.name, "ia3");
  const bad = read(path.join(ADAPTERHUB_FIXTURES, "adapters/ia3_topic/adapter_config.json"));
  assert.throws(() => parseAdapterConfig({ ...bad, config: { ...bad.config, r: 4 } }), /scale.*r == 1/);
});

test("PEFT target modules are matched by the end of the module path, as PEFT matches them", () => {
  const peft = { peft_type: "LORA", r: 4, lora_alpha: 8, target_modules: ["query", "value"] };
  const bert = familyFor("bert");
  const distil = familyFor("distilbert");
  const config = parsePeftLora(peft);
  assert.deepEqual(config.modules, ["query", "value"]);
  const model = parseModelConfig(read(path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny/config.json")));
  // "output.dense" ends both BERT's attention output and FFN output paths
  const both = parsePeftLora({ ...peft, target_modules: ["output.dense"] });
  assert.throws(() => readAdapterParts({ format: "peft", name: "", hiddenSize: null, modelType: null, modelName: null, parts: [{ method: lora, config: both }] }, new Map(), bert, model), /attention\.output\.dense/);
  // DistilBERT's names; BERT's names are not DistilBERT's
  const dmodel = parseModelConfig(read(path.join(LOCAL_FIXTURES, "distilbert-tiny/models/distilbert-tiny/config.json")));
  const q = parsePeftLora({ ...peft, target_modules: ["q_lin"] });
  assert.throws(() => readAdapterParts({ format: "peft", name: "", hiddenSize: null, modelType: null, modelName: null, parts: [{ method: lora, config: q }] }, new Map(), distil, dmodel), /q_lin\.loras/);
  const wrong = parsePeftLora({ ...peft, target_modules: ["query"] });
  assert.throws(() => readAdapterParts({ format: "peft", name: "", hiddenSize: null, modelType: null, modelName: null, parts: [{ method: lora, config: wrong }] }, new Map(), distil, dmodel), /"query" is not a linear layer of this model.*q_lin/);
});

test("PEFT options polyhead cannot serve are refused by name", () => {
  const peft = { peft_type: "LORA", r: 4, lora_alpha: 8, target_modules: ["query"] };
  assert.throws(() => parsePeftLora({ ...peft, use_dora: true }), /DoRA/);
  assert.throws(() => parsePeftLora({ ...peft, target_modules: ".*query" }), /regular expression/);
  assert.throws(() => parsePeftLora({ ...peft, modules_to_save: ["classifier"] }), /modules_to_save/);
  assert.equal(parsePeftLora({ ...peft, use_rslora: true }).scaling, 8 / 2);
});

test("the graph hook adds s·B(A x) to the layer's output", async () => {
  const model = parseModelConfig(read(path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny/config.json")));
  const file = parseAdapterConfig(read(path.join(ADAPTERHUB_FIXTURES, "adapters/lora_sent/adapter_config.json")));
  const dict = readSafetensors(new Uint8Array(readFileSync(path.join(ADAPTERHUB_FIXTURES, "adapters/lora_sent/adapter.safetensors"))));
  const [part] = readAdapterParts(file, dict, familyFor("bert"), model);
  const spec = lora.spec(part.config as never, part.weights as never);
  assert.deepEqual(spec.places.slice(0, 2), ["0.q", "0.v"]);
  const H = model.hidden;
  const rows = 3;
  const x = random(rows * H, 3);
  const y = random(rows * H, 4);
  const out = await runHook({ x: { dims: [1, rows, H], data: x }, y: { dims: [1, rows, H], data: y } }, partFeeds(lora, spec, part), (v, p) => lora.linear!(v.y, v.x, "0.q", spec, p, allTokens));
  const w = (part.weights as LoraWeights).get("0.q")!;
  const delta = linearJs(linearJs(x, rows, w.a!, null), rows, w.b, null);
  const want = y.map((v, i) => v + 2 * delta[i]); // alpha 8 / r 4
  assert.ok(maxDiff(out.data, want) < 1e-5);
  assert.ok(maxDiff(delta, new Float32Array(delta.length)) > 1e-3, "the LoRA weights are not zero");
  // a place the adapter does not target is left alone
  const same = await runHook({ x: { dims: [1, rows, H], data: x }, y: { dims: [1, rows, H], data: y } }, partFeeds(lora, spec, part), (v, p) => lora.linear!(v.y, v.x, "0.k", spec, p, allTokens));
  assert.ok(maxDiff(same.data, y) === 0);
});
