import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseAdapterConfig, readAdapterParts } from "../../../src/methods/index.ts";
import { ia3 } from "../../../src/methods/ia3.ts";
import type { LoraWeights } from "../../../src/methods/lora.ts";
import { familyFor, parseModelConfig } from "../../../src/families/index.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import { maxDiff, partFeeds, random, runHook, allTokens } from "../../support/hook-graph.ts";
import { ADAPTERHUB_FIXTURES } from "../../support/paths.ts";

const read = (p: string) => JSON.parse(readFileSync(p, "utf8"));
const dir = path.join(ADAPTERHUB_FIXTURES, "adapters/ia3_topic");

test("(IA)^3 is AdapterHub's LoRA config in scale mode with r 1", () => {
  const json = read(path.join(dir, "adapter_config.json"));
  const [part] = parseAdapterConfig(json).parts;
  assert.equal(part.method.name, "ia3");
  assert.equal(ia3.parse({ ...json.config, composition_mode: "add" }), null, "add mode is LoRA's");
  assert.throws(() => parseAdapterConfig({ ...json, config: { ...json.config, r: 2 } }), /r == 1/);
});

test("the graph hook rescales the layer's output by s·l", async () => {
  const model = parseModelConfig(read(path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny/config.json")));
  const file = parseAdapterConfig(read(path.join(dir, "adapter_config.json")));
  const dict = readSafetensors(new Uint8Array(readFileSync(path.join(dir, "adapter.safetensors"))));
  const [part] = readAdapterParts(file, dict, familyFor("bert"), model);
  const spec = ia3.spec(part.config as never, part.weights as never);
  const place = spec.places[0];
  const l = (part.weights as LoraWeights).get(place)!.b.data;
  const s = (part.config as { scaling: number }).scaling;
  const rows = 2;
  const y = random(rows * l.length, 5);
  const out = await runHook({ x: { dims: [1, rows, model.hidden], data: random(rows * model.hidden) }, y: { dims: [1, rows, l.length], data: y } }, partFeeds(ia3, spec, part), (v, p) => ia3.linear!(v.y, v.x, place, spec, p, allTokens));
  assert.ok(maxDiff(out.data, y.map((v, i) => v * l[i % l.length] * s)) < 1e-6);
});
