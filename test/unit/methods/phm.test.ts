import { test } from "node:test";
import assert from "node:assert/strict";
import { phmLinearOf } from "../../../src/methods/phm.ts";
import type { BottleneckWeights } from "../../../src/methods/bottleneck.ts";
import { parseAdapterConfig } from "../../../src/methods/index.ts";
import { under } from "../../../src/methods/method.ts";
import type { Tensor } from "../../../src/core/tensor.ts";
import { maxDiff } from "../../support/hook-graph.ts";
import { adapterDict, adapterJson, bertM, loadParts } from "../../support/methods-store.ts";

const H = bertM.hidden;
const MODULE = "bert.encoder.layer.0.output.adapters.compacter";
const opts = { sharedPhmRule: false, sharedWPhm: false };

/** Kronecker product of a [p, q] and b [r, s] matrices, [p·r, q·s]. */
function kron(a: Tensor, b: Tensor): Tensor {
  const [p, q] = a.shape;
  const [r, s] = b.shape;
  const out = new Float32Array(p * r * q * s);
  for (let i = 0; i < p; i++) for (let j = 0; j < q; j++) for (let k = 0; k < r; k++) for (let l = 0; l < s; l++) out[(i * r + k) * (q * s) + j * s + l] = a.data[i * q + j] * b.data[k * s + l];
  return { shape: [p * r, q * s], data: out };
}
const matmul = (a: Tensor, b: Tensor): Tensor => {
  const [m, k] = a.shape;
  const n = b.shape[1];
  return { shape: [m, n], data: Float32Array.from({ length: m * n }, (_, i) => Array.from({ length: k }, (_, j) => a.data[Math.floor(i / n) * k + j] * b.data[j * n + (i % n)]).reduce((x, y) => x + y, 0)) };
};
const slice = (t: Tensor, i: number): Tensor => {
  const [, r, c] = t.shape;
  return { shape: [r, c], data: t.data.slice(i * r * c, (i + 1) * r * c) };
};

test("a PHM layer is Σ_i rule_i ⊗ (W_left_i · W_right_i): one dense [in, out] matrix, as AdapterHub's PHMLayer multiplies", () => {
  const w = under(adapterDict("bert-compacter"), MODULE);
  const got = phmLinearOf(w, "adapter_down.0", "test", H, null, opts);
  const rule = w.get("adapter_down.0.phm_rule")!;
  const n = rule.shape[0];
  let want: Float32Array | null = null;
  for (let i = 0; i < n; i++) {
    const k = kron(slice(rule, i), matmul(slice(w.get("adapter_down.0.W_left")!, i), slice(w.get("adapter_down.0.W_right")!, i)));
    want = want ? want.map((v, j) => v + k.data[j]) : k.data;
  }
  assert.deepEqual(got.w.shape, [H, H / 4]);
  assert.ok(maxDiff(got.w.data, want!) < 1e-7);
  assert.deepEqual(got.b!.data, w.get("adapter_down.0.b")!.data);
  assert.ok(Math.max(...got.w.data.map(Math.abs)) > 1e-6, "the product is not zero");
});

test("factorised rules and unfactorised weights give the same matrix as their product", () => {
  const w = under(adapterDict("bert-compacter"), MODULE);
  const base = phmLinearOf(w, "adapter_up", "test", null, H, opts);
  const rule = w.get("adapter_up.phm_rule")!;
  const n = rule.shape[0];
  // rule_i = left_i · right_i with left_i = rule_i (n×n) and right_i = I: store them as [n, n, n]·[n, n, n]
  const eye = Float32Array.from({ length: n * n * n }, (_, i) => (Math.floor(i / n) % n === i % n ? 1 : 0));
  const W = new Float32Array(n * (H / 4 / n) * (H / n));
  const left = w.get("adapter_up.W_left")!;
  const right = w.get("adapter_up.W_right")!;
  for (let i = 0; i < n; i++) W.set(matmul(slice(left, i), slice(right, i)).data, i * (H / 4 / n) * (H / n));
  const other = new Map(w);
  for (const k of ["phm_rule", "W_left", "W_right"]) other.delete(`adapter_up.${k}`);
  other.set("adapter_up.phm_rule_left", rule);
  other.set("adapter_up.phm_rule_right", { shape: [n, n, n], data: eye });
  other.set("adapter_up.W", { shape: [n, H / 4 / n, H / n], data: W });
  const alt = phmLinearOf(other, "adapter_up", "test", null, H, opts);
  assert.ok(maxDiff(alt.w.data, base.w.data) < 1e-6);
});

test("a shared PHM rule or shared PHM weights, which AdapterHub 3.2.1 does not save, are refused with that reason", () => {
  const w = under(adapterDict("bert-compacter"), MODULE);
  const noRule = new Map([...w].filter(([k]) => !k.includes("phm_rule")));
  assert.throws(() => phmLinearOf(noRule, "adapter_up", "adapter x", null, H, { sharedPhmRule: true, sharedWPhm: false }), /shared_phm_rule is set, and the shared PHM rule is not in the file: AdapterHub 3\.2\.1 does not save it/);
  const noW = new Map([...w].filter(([k]) => !k.includes(".W_")));
  assert.throws(() => phmLinearOf(noW, "adapter_up", "adapter x", null, H, { sharedPhmRule: false, sharedWPhm: true }), /shared_W_phm is set.*does not save them/);
  // the whole adapter: the config says shared_phm_rule and the file has none
  const j = adapterJson("bert-compacter");
  const dict = new Map([...adapterDict("bert-compacter")].filter(([k]) => !k.includes("phm_rule")));
  assert.throws(() => loadParts("bert-compacter", { config: { ...j.config, shared_phm_rule: true }, dict }), /adapter "compacter" layer 0 mh_adapter: shared_phm_rule is set/);
});

test("Compacter and Compacter++ are bottleneck adapters with PHM projections (same graph as a bottleneck of that shape)", () => {
  for (const [name, places] of [["bert-compacter", ["0.mh", "0.out", "1.mh", "1.out"]], ["bert-compacterpp", ["0.out", "1.out"]]] as const) {
    const file = parseAdapterConfig(adapterJson(name));
    assert.deepEqual(file.parts.map((p) => p.method.name), ["bottleneck"]);
    const [part] = loadParts(name);
    assert.deepEqual(part.spec.places, places);
    assert.deepEqual(part.spec.dims, places.map(() => H / 4));
    const w = part.weights as BottleneckWeights;
    assert.deepEqual(w.get("0.out")!.down.w.shape, [H, H / 4]);
    assert.deepEqual(w.get("0.out")!.up.w.shape, [H / 4, H]);
  }
  // Compacter++ is Pfeiffer's placement with gelu: with Pfeiffer's activation, the same compiled graph
  const [pfeiffer] = loadParts("bert-pfeiffer");
  const [pp] = loadParts("bert-compacterpp", { config: { ...adapterJson("bert-compacterpp").config, non_linearity: "relu" } });
  assert.deepEqual(pp.spec, pfeiffer.spec, "Compacter++ (relu) has Pfeiffer's graph shape");
});
