import { test, after } from "node:test";
import assert from "node:assert/strict";
import onnxProto from "onnx-proto";
import type { onnx as Onnx } from "onnx-proto";
import { WorkerPool } from "../../../src/engine/worker-pool.ts";

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

const valueInfo = (name: string, dims: (number | string)[]): Onnx.IValueInfoProto => ({
  name,
  type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
});
const initializer = (name: string, dims: number[], data: Float32Array): Onnx.ITensorProto => ({
  name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
});
const encode = (graph: Onnx.IGraphProto) =>
  onnx.ModelProto.encode({ irVersion: 8, producerName: "polyhead-test", opsetImport: [{ domain: "", version: 17 }], graph }).finish();

/** Y = X·W + B with X [n, 3]. */
const W = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // [3, 4]
const B = Float32Array.from([0.5, -1, 2, 0]);
/** Model bytes are moved to the worker (detached here), so every call builds fresh ones. */
const affine = () => encode({
  name: "affine",
  node: [{ opType: "MatMul", input: ["X", "W"], output: ["XW"] }, { opType: "Add", input: ["XW", "B"], output: ["Y"] }],
  initializer: [initializer("W", [3, 4], W), initializer("B", [4], B)],
  input: [valueInfo("X", ["n", 3])],
  output: [valueInfo("Y", ["n", 4])],
});

/** 50 chained MatMuls by a cyclic shift P (512x512): Y[i, j] = X[i, (j + 50) % 512], exact in float32, and slow. */
const D = 512, STEPS = 50;
const P = new Float32Array(D * D);
for (let j = 0; j < D; j++) P[((j + 1) % D) * D + j] = 1;
const chain = () => encode({
  name: "chain",
  node: Array.from({ length: STEPS }, (_, i) => ({ opType: "MatMul", input: [i ? `h${i}` : "X", "P"], output: [i === STEPS - 1 ? "Y" : `h${i + 1}`] })),
  initializer: [initializer("P", [D, D], P)],
  input: [valueInfo("X", ["n", D])],
  output: [valueInfo("Y", ["n", D])],
});

// one intra-op thread keeps the slow run slow (> 200 ms) on machines with many cores
const pool = new WorkerPool({ threads: 1, intraOpThreads: 1 });
after(() => pool.close());

const affineFeeds = (x: number[]) => ({ X: { type: "float32" as const, dims: [x.length / 3, 3], data: Float32Array.from(x) } });
function affineExpected(x: number[]): number[] {
  const y: number[] = [];
  for (let i = 0; i < x.length / 3; i++) for (let j = 0; j < 4; j++) y.push(B[j] + x[i * 3] * W[j] + x[i * 3 + 1] * W[4 + j] + x[i * 3 + 2] * W[8 + j]);
  return y;
}
const randomX = (rows: number) => Float32Array.from({ length: rows * D }, () => Math.random() * 2 - 1);

test("compiles a graph on first use, caches it by key and computes correctly", async () => {
  assert.equal(pool.has("affine"), false);
  const x = [1, 0, -1, 0.5, 2, 3];
  const r = await pool.run({ graphKey: "affine", model: affine(), feeds: affineFeeds(x) });
  assert.equal(pool.has("affine"), true);
  assert.deepEqual(r.outputs.Y.dims, [2, 4]);
  assert.ok(r.outputs.Y.data instanceof Float32Array);
  assert.deepEqual([...r.outputs.Y.data], affineExpected(x));
  // no bytes needed once compiled
  const r2 = await pool.run({ graphKey: "affine", feeds: affineFeeds([2, 2, 2]), outputs: ["Y"] });
  assert.deepEqual([...r2.outputs.Y.data], affineExpected([2, 2, 2]));
});

test("the main thread keeps ticking while a slow run is in flight", async () => {
  const rows = 2048;
  const x = randomX(rows);
  await pool.run({ graphKey: "chain", model: chain(), feeds: { X: { type: "float32", dims: [rows, D], data: x.slice() } } }); // compile + warm up
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const t0 = performance.now();
  const r = await pool.run({ graphKey: "chain", feeds: { X: { type: "float32", dims: [rows, D], data: x.slice() } } });
  const elapsed = performance.now() - t0;
  clearInterval(timer);
  assert.ok(elapsed > 150, `the run should be slow enough to measure (${elapsed.toFixed(0)} ms)`);
  assert.ok(ticks >= Math.floor(elapsed / 10 / 3), `${ticks} ticks in ${elapsed.toFixed(0)} ms`);
  assert.ok(ticks >= 5, `${ticks} ticks`);
  assert.deepEqual(r.outputs.Y.dims, [rows, D]);
  for (let i = 0; i < rows; i += 97) for (let j = 0; j < D; j++) assert.equal(r.outputs.Y.data[i * D + j], x[i * D + ((j + STEPS) % D)]);
});

test("two graph keys coexist in one worker", async () => {
  const x = randomX(4);
  const [a, c] = await Promise.all([
    pool.run({ graphKey: "affine", feeds: affineFeeds([1, 2, 3]) }),
    pool.run({ graphKey: "chain", feeds: { X: { type: "float32", dims: [4, D], data: x } } }),
  ]);
  assert.deepEqual([...a.outputs.Y.data], affineExpected([1, 2, 3]));
  assert.deepEqual(c.outputs.Y.dims, [4, D]);
  assert.ok(pool.has("affine") && pool.has("chain"));
});

test("a bad feed rejects its own run with onnxruntime's message; the next run works", async () => {
  const bad = pool.run({ graphKey: "affine", feeds: { X: { type: "float32", dims: [2, 2], data: new Float32Array(4) } } });
  const good = pool.run({ graphKey: "affine", feeds: affineFeeds([1, 1, 1]) });
  await assert.rejects(bad, (e: Error) => /onnxruntime \(graph "affine"\)/.test(e.message) && /dim|shape|index/i.test(e.message));
  assert.deepEqual([...(await good).outputs.Y.data], affineExpected([1, 1, 1]));
  await assert.rejects(pool.run({ graphKey: "nope", feeds: affineFeeds([1, 1, 1]) }), /"nope" is not loaded/);
  await assert.rejects(pool.run({ graphKey: "affine", feeds: { X: { type: "float32", dims: [2, 3], data: new Float32Array(5) } } }), /"X" has 5 elements but dims \[2,3\] need 6/);
  await assert.rejects(pool.run({ graphKey: "broken", model: new Uint8Array([1, 2, 3]), feeds: affineFeeds([1, 1, 1]) }), /onnxruntime/);
  assert.equal(pool.has("broken"), false);
  assert.deepEqual([...(await pool.run({ graphKey: "affine", feeds: affineFeeds([0, 0, 1]) })).outputs.Y.data], affineExpected([0, 0, 1]));
});

test("feed buffers are transferred unless told otherwise; partial views are copied", async () => {
  const moved = Float32Array.from([1, 2, 3]);
  await pool.run({ graphKey: "affine", feeds: { X: { type: "float32", dims: [1, 3], data: moved } } });
  assert.equal(moved.length, 0, "transferred buffers are detached");
  await assert.rejects(pool.run({ graphKey: "affine", feeds: { X: { type: "float32", dims: [1, 3], data: moved } } }), /detached/);
  const model = new Uint8Array(affine()); // its own buffer (protobufjs returns a Buffer view into a shared pool, which is copied)
  await pool.run({ graphKey: "affine-2", model, feeds: affineFeeds([1, 2, 3]) });
  await assert.rejects(pool.run({ graphKey: "affine-3", model, feeds: affineFeeds([1, 2, 3]) }), /model bytes are empty.*detached/);
  const kept = Float32Array.from([1, 2, 3]);
  await pool.run({ graphKey: "affine", feeds: { X: { type: "float32", dims: [1, 3], data: kept } }, transfer: false });
  assert.deepEqual([...kept], [1, 2, 3]);
  const big = new Float32Array(1000).fill(1);
  const r = await pool.run({ graphKey: "affine", feeds: { X: { type: "float32", dims: [1, 3], data: big.subarray(10, 13) } } });
  assert.equal(big.length, 1000);
  assert.deepEqual([...r.outputs.Y.data], affineExpected([1, 1, 1]));
});

test("a crashed worker is restarted and its pending runs are rejected", async () => {
  // simulate a crash: the worker dies behind the pool's back with a request on its way
  // (idle: terminating a worker inside a forward pass aborts the process, see WorkerPool.close)
  void (pool as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots[0].worker.terminate();
  const running = pool.run({ graphKey: "affine", feeds: affineFeeds([1, 2, 3]) });
  await assert.rejects(running, /session worker crashed/);
  assert.equal(pool.has("affine"), false, "the new worker starts empty");
  const r = await pool.run({ graphKey: "affine", model: affine(), feeds: affineFeeds([1, 2, 3]) });
  assert.deepEqual([...r.outputs.Y.data], affineExpected([1, 2, 3]));
});

test("close() during a slow run rejects pending runs and lets the worker finish and exit", async () => {
  const p = new WorkerPool({ intraOpThreads: 1 });
  await p.run({ graphKey: "chain", model: chain(), feeds: { X: { type: "float32", dims: [1, D], data: randomX(1) } } });
  const runs = [0, 1].map(() => p.run({ graphKey: "chain", feeds: { X: { type: "float32", dims: [1024, D], data: randomX(1024) } } }));
  const rejected = Promise.all(runs.map((r) => assert.rejects(r, /worker pool closed/)));
  await new Promise((r) => setTimeout(r, 20)); // the first run is inside onnxruntime now
  await p.close();
  await rejected;
  await assert.rejects(p.run({ graphKey: "chain", feeds: {} }), /closed/);
});

test("several workers share the load", async () => {
  const two = new WorkerPool({ threads: 2, intraOpThreads: 1 });
  try {
    const runs = [1, 2, 3, 4].map((v) => two.run({ graphKey: "affine", model: affine(), feeds: affineFeeds([v, v, v]) }));
    const results = await Promise.all(runs);
    results.forEach((r, i) => assert.deepEqual([...r.outputs.Y.data], affineExpected([i + 1, i + 1, i + 1])));
    assert.equal(two.has("affine"), true);
    assert.deepEqual([...(await two.run({ graphKey: "affine", feeds: affineFeeds([1, 0, 0]) })).outputs.Y.data], affineExpected([1, 0, 0]));
  } finally {
    await two.close();
  }
  await assert.rejects(two.run({ graphKey: "affine", feeds: affineFeeds([1, 0, 0]) }), /closed/);
});

test("compiled graphs are bounded: the least recently used one without runs is released, and counted", async () => {
  const pool = new WorkerPool({ threads: 1, maxGraphs: 2 });
  try {
    const x = () => ({ X: { type: "float32" as const, dims: [1, 3], data: Float32Array.from([1, 0, 0]) } });
    const y = async (key: string, model?: Uint8Array) => Array.from((await pool.run({ graphKey: key, model, feeds: x() })).outputs.Y.data);
    const want = [1.5, 1, 5, 4];
    assert.deepEqual(await y("a", affine()), want);
    assert.deepEqual(await y("b", affine()), want);
    assert.deepEqual(await y("a"), want, "a is used again: b is now the least recent");
    assert.deepEqual(await y("c", affine()), want);
    assert.deepEqual(pool.stats().graphs, 2);
    assert.equal(pool.stats().evictions, 1);
    assert.equal(pool.has("b"), false, "b went");
    assert.equal(pool.has("a") && pool.has("c"), true);
    await assert.rejects(y("b"), /not loaded/, "the worker released b's session");
    assert.deepEqual(await y("b", affine()), want, "b compiles again when its bytes come back");
    assert.ok(pool.stats().bytes > 0);
  } finally {
    await pool.close();
  }
});

test("a graph with a run in flight is never the one released", async () => {
  const pool = new WorkerPool({ threads: 1, maxGraphs: 1 });
  try {
    const slow = pool.run({ graphKey: "slow", model: chain(), feeds: { X: { type: "float32", dims: [64, D], data: new Float32Array(64 * D).fill(1) } } });
    // loading a second graph while "slow" runs: over the limit, but "slow" is busy, so it stays
    const fast = pool.run({ graphKey: "fast", model: affine(), feeds: { X: { type: "float32", dims: [1, 3], data: Float32Array.from([1, 0, 0]) } } });
    assert.equal(pool.has("slow"), true);
    await Promise.all([slow, fast]);
    // the next load releases the least recent idle graph
    await pool.run({ graphKey: "third", model: affine(), feeds: { X: { type: "float32", dims: [1, 3], data: Float32Array.from([1, 0, 0]) } } });
    assert.ok(pool.stats().graphs <= 2);
    assert.ok(pool.stats().evictions >= 1);
  } finally {
    await pool.close();
  }
});

test("constant feeds go to a worker once: later runs name them, and the worker keeps its copy", async () => {
  // Y = X·W + B with W fed as a constant (the caller's array, never detached)
  const w = W.slice();
  const x = [1, 0, -1];
  const run = (p: WorkerPool, key = "w") =>
    p.run({ graphKey: "affine-w", model: p.has("affine-w") ? undefined : affineWithInputW(), feeds: { X: { type: "float32", dims: [1, 3], data: Float32Array.from(x) }, W: { type: "float32", dims: [3, 4], data: w, constant: key } } });
  const expected = (m: Float32Array) => [0, 1, 2, 3].map((j) => B[j] + x[0] * m[j] + x[1] * m[4 + j] + x[2] * m[8 + j]);
  const kept = new WorkerPool({ threads: 1, intraOpThreads: 1 });
  const dropped = new WorkerPool({ threads: 1, intraOpThreads: 1, constantBytes: 1 });
  try {
    for (const p of [kept, dropped]) {
      w.set(W);
      assert.deepEqual([...(await run(p)).outputs.Y.data], expected(W));
      assert.equal(w.length, 12, "the caller's array is not detached");
    }
    // the same key with other data (which a constant must never have): the keeping worker still has the first
    w.fill(1);
    assert.deepEqual([...(await run(kept)).outputs.Y.data], expected(W), "named, not sent again");
    // a worker over its constant budget keeps the ones the last run used, and drops the older ones
    assert.deepEqual([...(await run(dropped)).outputs.Y.data], expected(W), "the last run's constant is kept");
    assert.deepEqual([...(await run(dropped, "w2")).outputs.Y.data], expected(w));
    assert.deepEqual([...(await run(dropped)).outputs.Y.data], expected(w), "dropped for w2, then sent again");
  } finally {
    await kept.close();
    await dropped.close();
  }
});

/** Y = X·W + B with W an input. */
const affineWithInputW = () => encode({
  name: "affine-w",
  node: [{ opType: "MatMul", input: ["X", "W"], output: ["XW"] }, { opType: "Add", input: ["XW", "B"], output: ["Y"] }],
  initializer: [initializer("B", [4], B)],
  input: [valueInfo("X", ["n", 3]), valueInfo("W", [3, 4])],
  output: [valueInfo("Y", ["n", 4])],
});

test("a graph sent with cpu: true runs on the CPU whatever the pool's device (heads on a GPU server)", async () => {
  // webgpu needs a GPU with a Vulkan driver: CI has none, so there the device's graph fails and names it
  const gpu = new WorkerPool({ threads: 1, intraOpThreads: 1, device: "webgpu" });
  try {
    const x = [1, 0, -1, 0.5, 2, 3];
    const onCpu = await gpu.run({ graphKey: "affine-cpu", model: affine(), feeds: affineFeeds(x), cpu: true });
    assert.deepEqual(Array.from(onCpu.outputs.Y.data as Float32Array), affineExpected(x));
    const onDevice = await gpu.run({ graphKey: "affine-gpu", model: affine(), feeds: affineFeeds(x) }).then(
      (r) => ({ ok: true as const, y: Array.from(r.outputs.Y.data as Float32Array) }),
      (e: Error) => ({ ok: false as const, message: e.message }),
    );
    if (onDevice.ok) assert.deepEqual(onDevice.y, affineExpected(x));
    else assert.match(onDevice.message, /WebGPU execution provider is not available .*Vulkan/);
  } finally {
    await gpu.close();
  }
});
