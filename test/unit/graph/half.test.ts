import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import { halfMatMulWeights, toHalf } from "../../../src/graph/half.ts";
import { buildEncoder } from "../../../src/graph/encoder.ts";
import { Catalog } from "../../../src/store/catalog.ts";
import { LocalStore } from "../../../src/store/local-store.ts";
import { writeRandomStore } from "../../support/random-store.ts";

const { onnx } = onnxProto;

test("toHalf rounds to the nearest half, ties to even, with subnormals, overflow and NaN", () => {
  const cases: [number, number][] = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00],
    [-Infinity, 0xfc00], [2 ** -24, 0x0001], [2 ** -14, 0x0400], [2 ** -26, 0x0000],
    [1 + 2 ** -11, 0x3c00], // a tie: stays on the even 1.0
    [1 + 3 * 2 ** -11, 0x3c02], // a tie: goes up to the even neighbour
  ];
  for (const [x, h] of cases) assert.equal(toHalf(x), h, `toHalf(${x}) = 0x${toHalf(x).toString(16)}, expected 0x${h.toString(16)}`);
  assert.equal(toHalf(NaN) & 0x7c00, 0x7c00);
  assert.notEqual(toHalf(NaN) & 0x3ff, 0);
});

test("fp16 MatMul weights: the graph halves the base weights only, runs on onnxruntime's CPU provider, and stays close to fp32", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "polyhead-half-"));
  try {
    // hidden 128: every q/k/v/out weight is 64 KiB, the threshold
    writeRandomStore(dir, { hidden: 128, layers: 2, heads: 4, intermediate: 256, maxPositions: 64, adapters: 1, seed: 3 });
    const model = await new Catalog(new LocalStore(dir)).model("random");
    const spec = { block: null, slots: [], averages: 0, embeddings: null, uniform: true };
    const fp32 = buildEncoder(model.family, model.config, model.weights, spec).bytes;
    const fp16 = halfMatMulWeights(fp32);
    const g = onnx.ModelProto.decode(fp16).graph!;
    const halves = g.initializer!.filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT16);
    assert.equal(halves.length, 2 * 6, "six linear weights per layer");
    assert.ok(!g.initializer!.some((t) => halves.some((h) => h.name === `${t.name}.fp16`)), "no fp32 copy of a halved weight is left");
    assert.equal(g.node!.filter((n) => n.opType === "Cast").length - onnx.ModelProto.decode(fp32).graph!.node!.filter((n) => n.opType === "Cast").length, 2 * 12);
    const N = 2;
    const T = 16;
    const ids = BigInt64Array.from({ length: N * T }, (_, i) => BigInt(1 + ((i * 37) % 300)));
    const feeds = {
      input_ids: new ort.Tensor("int64", ids, [N, T]),
      position_ids: new ort.Tensor("int64", BigInt64Array.from({ length: N * T }, (_, i) => BigInt(i % T)), [N, T]),
      attention_mask: new ort.Tensor("int64", BigInt64Array.from({ length: N * T }, (_, i) => (i >= T && i % T >= 10 ? 0n : 1n)), [N, T]),
      token_type_ids: new ort.Tensor("int64", new BigInt64Array(N * T), [N, T]),
    };
    const run = async (bytes: Uint8Array) => {
      const s = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] });
      const out = (await s.run(feeds)).last_hidden_state.data as Float32Array;
      await s.release();
      return out;
    };
    const a = await run(fp32);
    const b = await run(fp16);
    let diff = 0;
    let size = 0;
    a.forEach((x, i) => ((diff = Math.max(diff, Math.abs(x - b[i]))), (size = Math.max(size, Math.abs(x)))));
    assert.ok(diff > 0, "fp16 changes the numbers (the pass did something)");
    assert.ok(diff < 0.02 * size, `fp16 is within 2% of fp32's largest value: |Δ| ${diff}, largest ${size}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
