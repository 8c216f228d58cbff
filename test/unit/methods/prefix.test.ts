import { test } from "node:test";
import assert from "node:assert/strict";
import { prefix, prefixGraph, withPrefixes, type PrefixConfig, type PrefixWeights } from "../../../src/methods/prefix.ts";
import { add, matmul, scale, softmax } from "../../../src/graph/ops.ts";
import type { Value } from "../../../src/graph/onnx-builder.ts";
import type { StateDict } from "../../../src/core/tensor.ts";
import type { Part } from "../../../src/methods/method.ts";
import { allTokens, maxDiff, random, runHook, type Arr } from "../../support/hook-graph.ts";
import { adapterDict, adapterJson, bertM, loadParts } from "../../support/methods-store.ts";
import { parseAdapterConfig, readAdapterParts } from "../../../src/methods/index.ts";
import { familyFor, parseModelConfig } from "../../../src/families/index.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import { LOCAL_FIXTURES } from "../../support/paths.ts";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

const H = bertM.hidden;
const nh = bertM.heads;
const dh = H / nh;
const L = bertM.layers;
// the registry drops training-only options (dropout) before a method parses its config
const { dropout: _, ...config } = adapterJson("bert-prefix").config;
const ROOT = "bert.prefix_tuning.prefix_tunings.prefix.self_prefix";

const prefixPart = (parts: Part[]) => parts.find((p) => p.method === prefix)! as Part<PrefixConfig, PrefixWeights>;

/** The prefix MLP written out plainly: wte → Linear → tanh → Linear, [P, L·2·H]. */
function mlp(dict: StateDict, P: number): Float64Array {
  const t = (k: string) => dict.get(`${ROOT}.${k}`)!;
  const wte = t("wte.weight").data;
  const lin = (x: ArrayLike<number>, w: Float32Array, b: Float32Array, I: number, O: number) =>
    Float64Array.from({ length: P * O }, (_, i) => {
      const [r, o] = [Math.floor(i / O), i % O];
      let s = b[o];
      for (let j = 0; j < I; j++) s += x[r * I + j] * w[o * I + j];
      return s;
    });
  const B = t("control_trans.0.bias").data.length;
  const h = lin(wte, t("control_trans.0.weight").data, t("control_trans.0.bias").data, H, B).map(Math.tanh);
  return lin(h, t("control_trans.2.weight").data, t("control_trans.2.bias").data, B, L * 2 * H);
}

/** The same adapter saved flat (AdapterHub's eject): the MLP's output as one vector. */
function flatDict(P: number, layers = L): StateDict {
  const flat = Float32Array.from(mlp(adapterDict("bert-prefix"), P).slice(0, P * layers * 2 * H));
  return new Map([[`${ROOT}.control_trans`, { shape: [flat.length], data: flat }]]);
}

test("a prefix-tuning config reads as AdapterHub saves it; options it cannot serve are refused", () => {
  assert.deepEqual(prefix.parse(config), { prefixLength: 6, encoderPrefix: true, crossPrefix: true, flat: false, act: "tanh", leaveOut: [], gated: false, sharedGating: true });
  assert.equal(prefix.parse({ architecture: "bottleneck" }), null);
  assert.throws(() => prefix.parse({ ...config, prefix_projection: true }), /prefix_projection/);
  assert.throws(() => prefix.parse({ ...config, non_linearity: "softsign" }), /activation/);
});

test("the prefix MLP is computed at load: keys and values per layer and head, as the MLP's output viewed [P, layers·2, heads, head_dim]", () => {
  const w = prefixPart(loadParts("bert-prefix")).weights;
  const P = 6;
  assert.equal(w.length, P);
  assert.deepEqual([...w.places.keys()], Array.from({ length: L }, (_, l) => `${l}.self`));
  const out = mlp(adapterDict("bert-prefix"), P);
  let m = 0;
  for (let l = 0; l < L; l++) {
    const { keys, values } = w.places.get(`${l}.self`)!;
    for (let p = 0; p < P; p++)
      for (let h = 0; h < nh; h++)
        for (let d = 0; d < dh; d++) {
          m = Math.max(m, Math.abs(keys[(h * dh + d) * P + p] - out[p * L * 2 * H + 2 * l * H + h * dh + d]));
          m = Math.max(m, Math.abs(values[(h * P + p) * dh + d] - out[p * L * 2 * H + (2 * l + 1) * H + h * dh + d]));
        }
  }
  assert.ok(m < 1e-5, `max difference ${m}`);
  assert.ok(Math.max(...w.places.get("1.self")!.keys.map(Math.abs)) > 1e-2, "the prefix is not zero");
});

test("a flat prefix (saved after eject) reads to the same keys and values", () => {
  const mlpW = prefixPart(loadParts("bert-prefix")).weights;
  const flatW = prefixPart(loadParts("bert-prefix", { config: { ...config, flat: true }, dict: flatDict(6) })).weights;
  for (const [place, p] of mlpW.places) {
    assert.ok(maxDiff(p.keys, flatW.places.get(place)!.keys) < 1e-6);
    assert.ok(maxDiff(p.values, flatW.places.get(place)!.values) < 1e-6);
  }
});

test("leave_out: the prefix holds only the other layers; a prefix of the wrong size is refused", () => {
  const one = prefixPart(loadParts("bert-prefix", { config: { ...config, flat: true, leave_out: [0] }, dict: flatDict(6, 1) })).weights;
  assert.deepEqual([...one.places.keys()], ["1.self"]);
  assert.throws(() => loadParts("bert-prefix", { config: { ...config, flat: true, leave_out: [0] }, dict: flatDict(6) }), /holds \d+ numbers, expected/);
  assert.throws(() => loadParts("bert-prefix", { dict: new Map() }), /prefix tuning "prefix": no weights \(expected prefix_tuning\.prefix_tunings\.prefix\.self_prefix\.wte\.weight/);
  const noGate = { ...config, use_gating: true };
  assert.throws(() => loadParts("bert-prefix", { config: noGate }), /use_gating is set but the file has no gate \(expected encoder\.layer\.0\.attention\.self\.prefix_tuning\.prefix_gates\.prefix\.weight\)/);
});

/** softmax(q·[Kp | K]ᵀ/√d + [bias_p | mask]) · [Vp | V] in JS, with gate factors on the prefix. */
function attentionJs(q: Float32Array, k: Float32Array, v: Float32Array, N: number, T: number, pre: { keys: Float32Array; values: Float32Array; P: number; real: number; gk: number[]; gv: number[] }) {
  const out = new Float32Array(N * nh * T * dh);
  for (let n = 0; n < N; n++)
    for (let h = 0; h < nh; h++)
      for (let t = 0; t < T; t++) {
        const qv = (d: number) => q[((n * nh + h) * T + t) * dh + d];
        const scores: number[] = [];
        const vals: ((d: number) => number)[] = [];
        for (let p = 0; p < pre.real; p++) {
          let s = 0;
          for (let d = 0; d < dh; d++) s += qv(d) * pre.keys[(h * dh + d) * pre.P + p] * pre.gk[n];
          scores.push(s / Math.sqrt(dh));
          vals.push((d) => pre.values[(h * pre.P + p) * dh + d] * pre.gv[n]);
        }
        for (let u = 0; u < T; u++) {
          let s = 0;
          for (let d = 0; d < dh; d++) s += qv(d) * k[((n * nh + h) * dh + d) * T + u];
          scores.push(s / Math.sqrt(dh));
          vals.push((d) => v[((n * nh + h) * T + u) * dh + d]);
        }
        const mx = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - mx));
        const z = e.reduce((a, b) => a + b, 0);
        for (let d = 0; d < dh; d++) out[((n * nh + h) * T + t) * dh + d] = e.reduce((a, w, i) => a + (w / z) * vals[i](d), 0);
      }
  return out;
}

async function attentionGraph(part: Part, feeds: Record<string, Arr>, N: number, T: number, x: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array) {
  const rows = (w: Value) => w.g.op("Expand", [w, w.g.constI([N, 1, 1, 1])]);
  return runHook(
    { x: { dims: [N, T, H], data: x }, q: { dims: [N, nh, T, dh], data: q }, k: { dims: [N, nh, dh, T], data: k }, v: { dims: [N, nh, T, dh], data: v }, mask: { dims: [N, 1, 1, T], data: new Float32Array(N * T) } },
    feeds,
    (i, p) => {
      const kv = withPrefixes([prefixGraph(part.spec, "1.self", p, i.x, allTokens, rows)], i.k, i.v, i.mask);
      return matmul(softmax(add(scale(matmul(i.q, kv.keys), 1 / Math.sqrt(dh)), kv.bias)), kv.values);
    },
  );
}

/** The feeds of bank member `i` of a bank of parts (what a row gathers), keyed "<place>.<param>". */
function memberFeeds(bank: Part[], i: number): Record<string, Arr> {
  const out: Record<string, Arr> = {};
  prefix.feeds(bank[0].spec, bank as never, (place, param, parts, shape) => (out[`${place}.${param}`] = { dims: shape, data: parts[i] }));
  return out;
}

test("the graph puts the prefix before the keys and values; a shorter prefix padded in a bank gets masked slots", async () => {
  const [N, T] = [2, 3];
  const x = random(N * T * H, 1);
  const q = random(N * nh * T * dh, 2);
  const k = random(N * nh * dh * T, 3);
  const v = random(N * nh * T * dh, 4);
  const six = prefixPart(loadParts("bert-prefix"));
  const got = await attentionGraph(six, memberFeeds([six], 0), N, T, x, q, k, v);
  const w = six.weights.places.get("1.self")!;
  const ones = [1, 1];
  const want = attentionJs(q, k, v, N, T, { keys: w.keys, values: w.values, P: 6, real: 6, gk: ones, gv: ones });
  assert.ok(maxDiff(got.data, want) < 1e-5, `prefix attention differs by ${maxDiff(got.data, want)}`);
  const bare = attentionJs(q, k, v, N, T, { keys: w.keys, values: w.values, P: 6, real: 0, gk: ones, gv: ones });
  assert.ok(maxDiff(got.data, bare) > 1e-3, "the prefix changed the attention");

  // the same adapter's first 3 prefix positions: its own prefix_length 3
  const dict = adapterDict("bert-prefix");
  for (const [key, t] of dict) if (key.endsWith("wte.weight")) dict.set(key, { shape: [3, H], data: t.data.slice(0, 3 * H) });
  const three = prefixPart(loadParts("bert-prefix", { config: { ...config, prefix_length: 3 }, dict }));
  const alone = await attentionGraph(three, memberFeeds([three], 0), N, T, x, q, k, v);
  const padded = memberFeeds([six, three], 1);
  assert.deepEqual(padded["1.self.keys"].dims, [nh, dh, 6], "padded to the bank's longest prefix");
  assert.deepEqual([...padded["1.self.mask"].data].map((m) => m < -1e29), [false, false, false, true, true, true]);
  const inBank = await attentionGraph(three, padded, N, T, x, q, k, v);
  assert.ok(maxDiff(inBank.data, alone.data) < 1e-5, `masked slots take no attention (difference ${maxDiff(inBank.data, alone.data)})`);
  assert.ok(maxDiff(alone.data, got.data) > 1e-3);
});

test("a gated prefix (UniPELT) scales keys and values by the mean of the gate's sigmoid over the tokens", async () => {
  const [N, T] = [2, 3];
  const x = random(N * T * H, 5);
  const q = random(N * nh * T * dh, 6);
  const k = random(N * nh * dh * T, 7);
  const v = random(N * nh * T * dh, 8);
  const part = prefixPart(loadParts("bert-unipelt"));
  assert.equal(part.spec.shape?.gated, true);
  const got = await attentionGraph(part, memberFeeds([part], 0), N, T, x, q, k, v);
  const w = part.weights.places.get("1.self")!;
  const gate = Array.from({ length: N }, (_, n) => {
    let s = 0;
    for (let t = 0; t < T; t++) {
      let z = w.gate!.b!.data[0];
      for (let i = 0; i < H; i++) z += x[(n * T + t) * H + i] * w.gate!.w.data[i];
      s += 1 / (1 + Math.exp(-z));
    }
    return s / T;
  });
  const want = attentionJs(q, k, v, N, T, { keys: w.keys, values: w.values, P: part.weights.length, real: part.weights.length, gk: gate, gv: gate });
  assert.ok(maxDiff(got.data, want) < 1e-5, `gated prefix attention differs by ${maxDiff(got.data, want)}`);
});

test("encoder-decoder models: a prefix per location (encoder self, decoder self, decoder cross), as encoder_prefix and cross_prefix say", () => {
  const store = path.join(LOCAL_FIXTURES, "seq2seq-prefix");
  const read = (p: string) => JSON.parse(readFileSync(path.join(store, p), "utf8"));
  const model = parseModelConfig(read("models/bart-x/config.json"));
  const load = (name: string, patch: Record<string, unknown> = {}) => {
    const j = read(`adapters/${name}/adapter_config.json`);
    const dict = readSafetensors(new Uint8Array(readFileSync(path.join(store, `adapters/${name}/adapter.safetensors`))));
    return prefixPart(readAdapterParts(parseAdapterConfig({ ...j, config: { ...j.config, ...patch } }), dict, familyFor("bart"), model));
  };
  assert.deepEqual(load("bart-prefix").spec.places, ["0.self", "1.self", "2.self", "3.cross", "3.self", "4.cross", "4.self"]);
  const self = load("bart-prefix_self");
  assert.deepEqual(self.spec.places, ["3.self", "4.self"], "encoder_prefix and cross_prefix false: the decoder's self-attention only");
  assert.equal(self.weights.length, 4);
  assert.throws(() => load("bart-prefix_self", { encoder_prefix: true }), /\(encoder_prefix\): no weights/);
  // gates are read on translation models too (bart-unipelt has them); a file saved without them is refused
  assert.throws(() => load("bart-prefix", { use_gating: true }), /use_gating is set but the file has no gate \(expected encoder\.layers\.0\.self_attn\.prefix_tuning\.prefix_gates\.prefix\.weight\)/);
});

test("prefix tuning on T5: the three locations over each stack; a partial leave_out and heads narrower or wider than hidden / heads are refused by name", () => {
  const store = path.join(LOCAL_FIXTURES, "t5-prefix");
  const read = (p: string) => JSON.parse(readFileSync(path.join(store, p), "utf8"));
  const load = (model: string, name: string, patch: Record<string, unknown> = {}, modelPatch: Record<string, unknown> = {}) => {
    const m = parseModelConfig({ ...read(`models/${model}/config.json`), ...modelPatch });
    const j = read(`adapters/${name}/adapter_config.json`);
    const dict = readSafetensors(new Uint8Array(readFileSync(path.join(store, `adapters/${name}/adapter.safetensors`))));
    return prefixPart(readAdapterParts(parseAdapterConfig({ ...j, config: { ...j.config, ...patch } }), dict, familyFor("t5"), m));
  };
  // t5g-x: encoder layers 0, 1; decoder layers 2, 3, 4
  assert.deepEqual(load("t5g-x", "t5g-prefix").spec.places, ["0.self", "1.self", "2.cross", "2.self", "3.cross", "3.self", "4.cross", "4.self"]);
  assert.deepEqual(load("t5g-x", "t5g-prefix_flat").spec.places, ["0.self", "1.self", "2.self", "3.self", "4.self"], "cross_prefix false");
  assert.deepEqual(load("t5g-x", "t5g-prefix_dec").spec.places, ["2.cross", "2.self", "3.cross", "3.self", "4.cross", "4.self"], "leave_out [0, 1]: the whole encoder");
  // AdapterHub 3.2.1 fails when some layers of one stack have the prefix and others do not (T5's shared position bias)
  assert.throws(() => load("t5g-x", "t5g-prefix", { leave_out: [3] }), /prefix tuning "prefix": leave_out takes the prefix from some of the decoder's layers and not all; AdapterHub 3.2.1 fails on that on t5/);
  assert.throws(() => load("t5g-x", "t5g-prefix", { leave_out: [0] }), /some of the encoder's layers/);
  assert.doesNotThrow(() => load("t5g-x", "t5g-prefix_flat", { encoder_prefix: false, leave_out: [0] }), "no encoder prefix: nothing to leave out there");
  // d_kv · heads != d_model: the library's prefix (hidden / heads wide) does not fit the keys
  assert.throws(() => load("t5g-x", "t5g-prefix", {}, { d_kv: 12 }), /the attention heads are 12 wide, hidden \/ heads is 8; AdapterHub 3.2.1 cannot put such a prefix before the keys/);
});
