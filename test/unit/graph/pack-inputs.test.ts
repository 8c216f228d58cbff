import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import { GraphBuilder } from "../../../src/graph/onnx-builder.ts";
import { PACKED, PACKED_INDEX, packFeeds, packGraph } from "../../../src/graph/pack-inputs.ts";
import { WorkerPool } from "../../../src/engine/worker-pool.ts";

/** y = (x·W + b) * s, gathered by ids: float inputs of rank 2, 2, 1 and 0, and an int64 one. */
function graph(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input("x", "float32", ["n", 3]);
  const w = g.input("w", "float32", [3, "m"]);
  const b = g.input("b", "float32", ["m"]);
  const s = g.input("s", "float32", []);
  const ids = g.input("ids", "int64", ["k"]);
  g.output(g.op("Gather", [g.op("Mul", [g.op("Add", [g.op("MatMul", [x, w]), b]), s]), ids], { axis: 0 }), "y");
  return g.encode();
}
const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 97 + i * 1.7));
const feeds = (m: number) => ({
  x: new ort.Tensor("float32", rand(4 * 3, 1), [4, 3]),
  w: new ort.Tensor("float32", rand(3 * m, 2), [3, m]),
  b: new ort.Tensor("float32", rand(m, 3), [m]),
  s: new ort.Tensor("float32", Float32Array.of(0.5), []),
  ids: new ort.Tensor("int64", BigInt64Array.of(3n, 0n), [2]),
});

test("a packed graph takes its float inputs as one and answers exactly as the original, whatever their dims", async () => {
  const p = packGraph(graph())!;
  assert.deepEqual(p.packing, { names: ["x", "w", "b", "s"], ranks: [2, 2, 1, 0] });
  const inputs = onnxProto.onnx.ModelProto.decode(p.bytes).graph!.input!.map((i) => i.name);
  assert.deepEqual(inputs, ["ids", PACKED, PACKED_INDEX]);
  const [plain, packed] = await Promise.all([ort.InferenceSession.create(graph()), ort.InferenceSession.create(p.bytes)]);
  // one graph, two widths of w and b: the index carries each run's dims
  for (const m of [5, 2]) {
    const f = feeds(m);
    const { rest, packed: data, index } = packFeeds(p.packing, f);
    assert.deepEqual(Object.keys(rest), ["ids"]);
    assert.equal(data.length, 12 + 3 * m + m + 1);
    const want = (await plain.run(f)).y;
    const got = (await packed.run({ ...rest, [PACKED]: new ort.Tensor("float32", data, [data.length]), [PACKED_INDEX]: new ort.Tensor("int64", index, [index.length]) })).y;
    assert.deepEqual(got.dims, [2, m]);
    assert.deepEqual(Array.from(got.data as Float32Array), Array.from(want.data as Float32Array));
  }
});

test("nothing to pack under two float inputs; a missing or misshapen feed is named", () => {
  const g = new GraphBuilder();
  g.output(g.op("Relu", [g.input("x", "float32", [2])]), "y");
  assert.equal(packGraph(g.encode()), null);
  const { packing } = packGraph(graph())!;
  const f = feeds(2);
  assert.throws(() => packFeeds(packing, { ...f, w: undefined as never }), /input 'w' is missing/);
  assert.throws(() => packFeeds(packing, { ...f, b: new ort.Tensor("float32", rand(4, 1), [2, 2]) }), /input 'b': expected rank 1, got dims \[2, 2\]/);
});

test("a pool with packInputs runs a graph file packed (written beside it) and answers as one without", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "polyhead-pack-"));
  const file = path.join(dir, "g.onnx");
  writeFileSync(file, graph());
  const [packedPool, plainPool] = [new WorkerPool({ threads: 1, intraOpThreads: 1, packInputs: true }), new WorkerPool({ threads: 1, intraOpThreads: 1 })];
  try {
    const f = feeds(3);
    const wire = Object.fromEntries(Object.entries(f).map(([k, t]) => [k, { type: t.type as "float32" | "int64", dims: [...t.dims], data: t.data as Float32Array | BigInt64Array }]));
    const [a, b] = await Promise.all([packedPool.run({ graphKey: "g", model: file, feeds: wire, transfer: false }), plainPool.run({ graphKey: "g", model: file, feeds: wire, transfer: false })]);
    assert.deepEqual(Array.from(a.outputs.y.data), Array.from(b.outputs.y.data));
    assert.equal(readdirSync(dir).filter((n) => /^g\.packed-\d+\.onnx$/.test(n)).length, 1, "the packed graph lies beside the original");
  } finally {
    await Promise.all([packedPool.close(), plainPool.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
});
