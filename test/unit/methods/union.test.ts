import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAdapterConfig, readAdapterParts } from "../../../src/methods/index.ts";
import { familyFor, parseModelConfig } from "../../../src/families/index.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import { LOCAL_FIXTURES } from "../../support/paths.ts";
import { readFileSync } from "node:fs";
import path from "node:path";
import { lora, type LoraWeights } from "../../../src/methods/lora.ts";
import { forward, type BottleneckWeights, type BottleneckShape } from "../../../src/methods/bottleneck.ts";
import { buildFeeds, runLength, type Job, type RowJob } from "../../../src/engine/plan.ts";
import { GATE_MASK, hasGates, type GraphSpec } from "../../../src/graph/spec.ts";
import type { LoadedAdapter, LoadedModel } from "../../../src/store/catalog.ts";
import { allTokens, linearJs, maxDiff, partFeeds, random, runHook } from "../../support/hook-graph.ts";
import { adapterJson, bertFamily, bertM, loadParts } from "../../support/methods-store.ts";

// AdapterHub's ConfigUnion (MAM, UniPELT) and UniPELT's gates.

const H = bertM.hidden;
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const configs = (name: string) => adapterJson(name).config.configs as Record<string, unknown>[];

/** mean over the T tokens of sigmoid(x·w + b), per row. */
function gateJs(x: Float32Array, N: number, T: number, w: Float32Array, b: number): number[] {
  const inDim = w.length;
  return Array.from({ length: N }, (_, n) => {
    let s = 0;
    for (let t = 0; t < T; t++) {
      let z = b;
      for (let i = 0; i < inDim; i++) z += x[(n * T + t) * inDim + i] * w[i];
      s += sigmoid(z);
    }
    return s / T;
  });
}

test("a config union is one part per config, in registry order: UniPELT is gated LoRA + prefix + bottleneck, MAM a prefix + a parallel adapter", () => {
  const unipelt = parseAdapterConfig(adapterJson("bert-unipelt"));
  assert.deepEqual(unipelt.parts.map((p) => p.method.name), ["bottleneck", "lora", "prefix"]);
  assert.ok(unipelt.parts.every((p) => (p.config as { gated: boolean }).gated));
  const mam = parseAdapterConfig(adapterJson("bert-mam"));
  assert.deepEqual(mam.parts.map((p) => p.method.name), ["bottleneck", "prefix"]);
  const [b, pre] = mam.parts.map((p) => p.config as Record<string, unknown>);
  assert.equal(b.isParallel, true);
  assert.equal(b.scaling, 4);
  assert.equal(pre.prefixLength, 30);
  assert.equal(pre.gated, false);
  // the order of the configs does not matter
  const j = adapterJson("bert-mam");
  const swapped = parseAdapterConfig({ ...j, config: { ...j.config, configs: [...configs("bert-mam")].reverse() } });
  assert.deepEqual(swapped.parts.map((p) => p.method.name), ["bottleneck", "prefix"]);
});

test("unions polyhead cannot serve are refused by name", () => {
  const j = adapterJson("bert-mam");
  const [pre, bottle] = configs("bert-mam");
  const union = (...cs: unknown[]) => parseAdapterConfig({ ...j, config: { architecture: "union", configs: cs } });
  assert.throws(() => union(pre, bottle, { ...bottle, mh_adapter: true, output_adapter: false }), /a config union with two bottleneck configs is not supported/);
  assert.throws(() => union(pre, { architecture: "union", configs: [bottle] }), /cannot contain another union/);
  assert.throws(() => union(pre, { architecture: "prompt_tuning" }), /architecture "prompt_tuning" is not supported/);
  assert.throws(() => parseAdapterConfig({ ...j, config: { architecture: "union" } }), /"configs": a list/);
});

test("gated LoRA: the update is scaled by the gate of the layer's input instead of alpha / r", async () => {
  const part = loadParts("bert-unipelt").find((p) => p.method === lora)!;
  assert.equal(part.spec.shape?.gated, true);
  const [N, T] = [2, 3];
  const x = random(N * T * H, 11);
  const y = random(N * T * H, 12);
  const out = await runHook({ x: { dims: [N, T, H], data: x }, y: { dims: [N, T, H], data: y } }, partFeeds(lora, part.spec, part), (v, p) => lora.linear!(v.y, v.x, "1.v", part.spec, p, allTokens));
  const w = (part.weights as LoraWeights).get("1.v")!;
  const g = gateJs(x, N, T, w.gate!.w.data, w.gate!.b!.data[0]);
  const delta = linearJs(linearJs(x, N * T, w.a!, null), N * T, w.b, null);
  const want = y.map((v, i) => v + g[Math.floor(i / (T * H))] * delta[i]);
  assert.ok(maxDiff(out.data, want) < 1e-5, `differs by ${maxDiff(out.data, want)}`);
  assert.ok(Math.abs(g[0] - g[1]) > 1e-6, "the gate depends on the input");
});

test("gated bottleneck: the up-projection is scaled by the gate of the adapter's input before the residual", async () => {
  const part = loadParts("bert-unipelt").find((p) => p.method.name === "bottleneck")!;
  const shape = part.spec.shape as unknown as BottleneckShape;
  assert.equal(shape.gated, true);
  const [N, T] = [2, 4];
  const x = random(N * T * H, 13);
  const r = random(N * T * H, 14);
  const out = await runHook({ x: { dims: [N, T, H], data: x }, r: { dims: [N, T, H], data: r } }, partFeeds(part.method, part.spec, part), (v, p) => {
    const ctx = { place: "0.out", x: v.x, ln: (u: typeof v.x) => u, hidden: H, mean: allTokens };
    return forward(shape, p, 0, { hidden: v.x, residual: v.r, up: null, last: null }, ctx).hidden;
  });
  const w = (part.weights as BottleneckWeights).get("0.out")!;
  const g = gateJs(x, N, T, w.gate!.w.data, w.gate!.b!.data[0]);
  const up = linearJs(linearJs(x, N * T, w.down.w, w.down.b!.data).map((v) => Math.max(0, v)), N * T, w.up.w, w.up.b!.data);
  const want = r.map((v, i) => v + g[Math.floor(i / (T * H))] * up[i]);
  assert.ok(maxDiff(out.data, want) < 1e-5, `differs by ${maxDiff(out.data, want)}`);
});

test("a run with gates is padded to each row's request length, and the gate mask marks it (AdapterHub averages over its padded batch)", () => {
  const adapter: LoadedAdapter = { name: "unipelt", savedName: "unipelt", type: "bottleneck+lora+prefix", parts: loadParts("bert-unipelt"), head: null };
  const spec: GraphSpec = { block: { t: "adapter", slot: 0 }, slots: [{ kind: "adapter", parts: adapter.parts.map((p) => p.spec) }], averages: 0, embeddings: null };
  const model = { name: "bert-m", family: bertFamily, config: bertM } as LoadedModel;
  const row = (len: number, padTo: number): RowJob => ({ ids: Array(len).fill(5), types: Array(len).fill(0), positions: [...Array(len).keys()], members: [adapter], averages: [], fused: {}, padTo });
  // rows of two requests in one run: one padded to 5 by its own longest row (not in this run), one to 3
  const { feeds, seqLen } = buildFeeds({ key: "k", model, spec, rows: [row(2, 5), row(3, 3)] } as Job);
  assert.equal(seqLen, 5);
  assert.equal(runLength(spec, row(2, 5)), 5, "the batcher cuts runs by this length");
  assert.deepEqual(feeds[GATE_MASK].dims, [2, 5]);
  assert.deepEqual([...feeds[GATE_MASK].data as Float32Array], [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual([...feeds.attention_mask.data as BigInt64Array].map(Number), [1, 1, 0, 0, 0, 1, 1, 1, 0, 0]);
  // without gates, the run is as long as its longest row and has no gate mask
  const plain = loadParts("bert-pfeiffer");
  const bare = buildFeeds({ key: "k", model, spec: { ...spec, slots: [{ kind: "adapter", parts: plain.map((p) => p.spec) }] }, rows: [row(2, 5), row(3, 3)].map((r) => ({ ...r, members: [{ ...adapter, parts: plain }] })) } as Job);
  assert.equal(bare.seqLen, 3);
  assert.equal(runLength({ ...spec, slots: [{ kind: "adapter", parts: plain.map((p) => p.spec) }] }, row(2, 5)), 2);
  assert.equal(bare.feeds[GATE_MASK], undefined);
});

test("UniPELT on translation models: gated LoRA, prefix tuning and bottleneck parts, whose runs feed gate masks", () => {
  for (const [store, model, name] of [["seq2seq-prefix", "bart-x", "bart-unipelt"], ["t5-prefix", "t5g-x", "t5g-unipelt"]]) {
    const read = (p: string) => JSON.parse(readFileSync(path.join(LOCAL_FIXTURES, store, p), "utf8"));
    const config = parseModelConfig(read(`models/${model}/config.json`));
    const dict = readSafetensors(new Uint8Array(readFileSync(path.join(LOCAL_FIXTURES, store, `adapters/${name}/adapter.safetensors`))));
    const parts = readAdapterParts(parseAdapterConfig(read(`adapters/${name}/adapter_config.json`)), dict, familyFor(config.modelType), config);
    assert.deepEqual(parts.map((p) => [p.method.name, p.spec.shape?.gated]).sort(), [["bottleneck", true], ["lora", true], ["prefix", true]], name);
    assert.ok(hasGates({ block: { t: "adapter", slot: 0 }, slots: [{ kind: "adapter", parts: parts.map((p) => p.spec) }], averages: 0, embeddings: null }), name);
  }
});
