import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { invertible, type InvertibleWeights } from "../../../src/methods/invertible.ts";
import { parseAdapterConfig, readAdapterParts } from "../../../src/methods/index.ts";
import { familyFor, parseModelConfig } from "../../../src/families/index.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import { linearJs, maxDiff, partFeeds, random, runHook } from "../../support/hook-graph.ts";
import { LOCAL_FIXTURES } from "../../support/paths.ts";

const STORE = path.join(LOCAL_FIXTURES, "madx-tiny");
const json = (p: string) => JSON.parse(readFileSync(path.join(STORE, p), "utf8"));
const model = parseModelConfig(json("models/bert-madx/config.json"));
const family = familyFor(model.modelType);

function load(name: string) {
  const file = parseAdapterConfig(json(`adapters/${name}/adapter_config.json`));
  const dict = readSafetensors(new Uint8Array(readFileSync(path.join(STORE, `adapters/${name}/adapter.safetensors`))));
  return readAdapterParts(file, dict, family, model);
}

test("a pfeiffer+inv config has a bottleneck part and an invertible part", () => {
  const file = parseAdapterConfig(json("adapters/lang_en/adapter_config.json"));
  assert.deepEqual(file.parts.map((p) => p.method.name), ["bottleneck", "invertible"]);
  assert.deepEqual(file.parts[1].config, { reductionFactor: 2, act: "relu" });
});

test("the invertible part reads its own options; GLOW and unknown blocks are refused by name", () => {
  const base = json("adapters/lang_en/adapter_config.json").config;
  assert.equal(invertible.parse({ ...base, inv_adapter: null }), null);
  assert.equal(invertible.parse({ architecture: "lora", r: 4 }), null);
  assert.deepEqual(invertible.parse({ ...base, inv_adapter_reduction_factor: 4, non_linearity: "Swish" }), { reductionFactor: 4, act: "swish" });
  assert.throws(() => invertible.parse({ ...base, inv_adapter: "glow" }), /glow.*sequence axis/);
  assert.throws(() => invertible.parse({ ...base, inv_adapter: "real-nvp" }));
});

test("F and G are read with the sizes the reduction factor gives", () => {
  const en = load("lang_en").find((p) => p.method === invertible)!.weights as InvertibleWeights;
  const h = model.hidden / 2;
  assert.deepEqual(en.F.in.w.shape, [h, h / 2]);
  assert.deepEqual(en.F.out.w.shape, [h / 2, h]);
  assert.deepEqual(en.G.in.w.shape, [h, h / 2]);
  const de = load("lang_de").find((p) => p.method === invertible)!.weights as InvertibleWeights;
  assert.deepEqual(de.F.in.w.shape, [h, h / 4], "lang_de was saved with inv_adapter_reduction_factor 4");
});

test("an adapter file without the invertible weights is refused, naming the keys it expected", () => {
  const file = parseAdapterConfig(json("adapters/lang_en/adapter_config.json"));
  const dict = readSafetensors(new Uint8Array(readFileSync(path.join(STORE, "adapters/lang_en/adapter.safetensors"))));
  for (const k of [...dict.keys()]) if (k.includes("invertible_adapters")) dict.delete(k);
  assert.throws(() => readAdapterParts(file, dict, family, model), /invertible_adapters\.lang_en\.F\.0\.weight/);
});

test("the graph hook computes the NICE coupling block, and JS inverts it back to the input", async () => {
  const part = load("lang_en").find((p) => p.method === invertible)!;
  const w = part.weights as InvertibleWeights;
  const spec = invertible.spec(part.config as never, w);
  const [N, T, H] = [2, 3, model.hidden];
  const x = random(N * T * H, 7);
  const y = await runHook({ x: { dims: [N, T, H], data: x } }, partFeeds(invertible, spec, part), (v, p) => invertible.embeddings!(v.x, spec, p));
  assert.deepEqual(y.dims, [N, T, H]);

  const rows = N * T;
  const h1 = H / 2;
  const relu = (a: Float32Array) => a.map((v) => Math.max(0, v));
  const net = (n: typeof w.F, v: Float32Array) => linearJs(relu(linearJs(v, rows, n.in.w, n.in.b!.data)), rows, n.out.w, n.out.b!.data);
  const half = (a: Float32Array, from: number, width: number, of: number) => Float32Array.from({ length: rows * width }, (_, i) => a[Math.floor(i / width) * of + from + (i % width)]);
  const x1 = half(x, 0, h1, H);
  const x2 = half(x, h1, H - h1, H);
  const y1 = x1.map((v, i) => v + net(w.F, x2)[i]);
  const y2 = x2.map((v, i) => v + net(w.G, y1)[i]);
  assert.ok(maxDiff(half(y.data, 0, h1, H), y1) < 1e-5);
  assert.ok(maxDiff(half(y.data, h1, H - h1, H), y2) < 1e-5);
  assert.ok(maxDiff(y.data, x) > 1e-2, "the block changed its input");
  // the inverse AdapterHub uses for masked-LM outputs recovers x
  const gy1 = half(y.data, 0, h1, H);
  const back2 = half(y.data, h1, H - h1, H).map((v, i) => v - net(w.G, gy1)[i]);
  const back1 = gy1.map((v, i) => v - net(w.F, back2)[i]);
  assert.ok(maxDiff(back1, x1) < 1e-5 && maxDiff(back2, x2) < 1e-5);
});

test("the inverse hook (a translation model's decoder output before the LM head) undoes the block", async () => {
  const part = load("lang_de").find((p) => p.method === invertible)!;
  const spec = invertible.spec(part.config as never, part.weights as InvertibleWeights);
  const [N, T, H] = [2, 4, model.hidden];
  const x = random(N * T * H, 11);
  const feeds = partFeeds(invertible, spec, part);
  const y = await runHook({ x: { dims: [N, T, H], data: x } }, feeds, (v, p) => invertible.embeddings!(v.x, spec, p));
  const back = await runHook({ y: { dims: [N, T, H], data: y.data } }, feeds, (v, p) => invertible.embeddingsInverse!(v.y, spec, p));
  assert.ok(maxDiff(y.data, x) > 1e-2, "the block changed its input");
  assert.ok(maxDiff(back.data, x) < 1e-5, `the inverse recovers x: ${maxDiff(back.data, x)}`);
  const twice = await runHook({ x: { dims: [N, T, H], data: x } }, feeds, (v, p) => invertible.embeddingsInverse!(v.x, spec, p));
  assert.ok(maxDiff(twice.data, y.data) > 1e-2, "the inverse is not the forward block");
});
