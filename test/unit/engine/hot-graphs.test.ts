import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import onnxProto from "onnx-proto";
import { HotGraphs } from "../../../src/engine/hot-graphs.ts";
import { WorkerPool } from "../../../src/engine/worker-pool.ts";

const policy = { slots: 2, after: 4, halfLifeMs: 1000 };

test("a graph becomes hot after enough runs, while a slot is free", () => {
  const h = new HotGraphs(policy);
  for (let i = 0; i < 3; i++) assert.deepEqual(h.ran("a", 0), {});
  assert.deepEqual(h.ran("a", 0), { promote: "a" });
  assert.deepEqual(h.ran("a", 0), {}, "already hot");
  for (let i = 0; i < 3; i++) h.ran("b", 0);
  assert.deepEqual(h.ran("b", 0), { promote: "b" });
  assert.equal(h.size, 2);
  assert.equal(h.promotions, 2);
});

test("runs long ago count less: the same runs spread over half-lives make nothing hot", () => {
  const h = new HotGraphs(policy);
  for (let i = 0; i < 20; i++) assert.deepEqual(h.ran("a", i * 1000), {}, `run ${i}`);
  assert.equal(h.size, 0);
});

test("slots full: only a clearly busier graph takes the coldest one's slot", () => {
  const h = new HotGraphs(policy);
  for (let i = 0; i < 4; i++) (h.ran("a", 0), h.ran("b", 0));
  assert.equal(h.size, 2);
  // c as busy as a and b: no swap
  for (let i = 0; i < 8; i++) assert.deepEqual(h.ran("c", 0), {});
  // a cools down; c keeps running
  h.ran("b", 3000);
  let change = {};
  for (let i = 0; i < 3 && !("promote" in change); i++) change = h.ran("c", 3000);
  assert.deepEqual(change, { promote: "c", demote: "a" });
  assert.equal(h.has("a"), false);
  assert.equal(h.has("c"), true);
  assert.equal(h.size, 2);
});

test("no slots: nothing is ever hot; a released graph gives its slot back", () => {
  const none = new HotGraphs({ ...policy, slots: 0 });
  for (let i = 0; i < 10; i++) assert.deepEqual(none.ran("a", 0), {});
  const h = new HotGraphs({ ...policy, slots: 1 });
  for (let i = 0; i < 4; i++) h.ran("a", 0);
  assert.equal(h.has("a"), true);
  h.forget("a");
  assert.equal(h.size, 0);
  for (let i = 0; i < 3; i++) assert.deepEqual(h.ran("b", 0), {});
  assert.deepEqual(h.ran("b", 0), { promote: "b" });
});

// ---- in the worker pool: graph files (as shared weights are) get a prepacked session once busy

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const dir = mkdtempSync(path.join(os.tmpdir(), "polyhead-hot-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Y = X·W with X [n, 64], W [64, 64] = k·identity: a MatMul onnxruntime prepacks. */
function graphFile(name: string, k: number): string {
  const w = new Float32Array(64 * 64);
  for (let i = 0; i < 64; i++) w[i * 64 + i] = k;
  const vi = (n: string) => ({ name: n, type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: "n" }, { dimValue: 64 }] } } } });
  const bytes = onnx.ModelProto.encode({
    irVersion: 8, opsetImport: [{ domain: "", version: 17 }],
    graph: { name, node: [{ opType: "MatMul", input: ["X", "W"], output: ["Y"] }], initializer: [{ name: "W", dims: [64, 64], dataType: FLOAT, rawData: new Uint8Array(w.buffer) }], input: [vi("X")], output: [vi("Y")] },
  }).finish();
  const file = path.join(dir, `${name}.onnx`);
  writeFileSync(file, bytes);
  return file;
}

test("the pool: a busy graph file gets a prepacked session, answers stay the same, a busier one takes the slot", async () => {
  const pool = new WorkerPool({ threads: 1, intraOpThreads: 1, hotGraphs: 1, hot: { after: 3, halfLifeMs: 3_600_000 } });
  try {
    const files = { two: graphFile("two", 2), three: graphFile("three", 3) };
    const x = Float32Array.from({ length: 2 * 64 }, (_, i) => (i % 7) - 3);
    const run = async (key: "two" | "three") => {
      const r = await pool.run({ graphKey: key, model: files[key], feeds: { X: { type: "float32", dims: [2, 64], data: x.slice() } } });
      const k = key === "two" ? 2 : 3;
      assert.deepEqual([...r.outputs.Y.data], [...x].map((v) => v * k), `${key}: ${r.hot ? "hot" : "shared"} session`);
      return r.hot === true;
    };
    const hot: boolean[] = [];
    // the prepacked session is built between runs, which go on meanwhile on the shared one
    while (hot.length < 30 && !hot.at(-1)) hot.push(await run("two"));
    assert.deepEqual(hot.slice(0, 3), [false, false, false], "shared until the third run has been answered");
    assert.equal(hot.at(-1), true, `never hot: ${hot}`);
    for (let i = 0; i < 3; i++) assert.equal(await run("two"), true, "once built, every run takes it");
    assert.deepEqual({ hot: pool.stats().hot, promotions: pool.stats().promotions }, { hot: 1, promotions: 1 });

    // "three", interleaved with "two" and many at once: it takes the slot once it has run more than twice as much
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => run(i % 8 === 0 ? "two" : "three")));
    assert.equal(answers.length, 40);
    assert.equal(pool.stats().promotions, 2);
    assert.equal(pool.stats().hot, 1);
    let three = false;
    for (let i = 0; i < 30 && !three; i++) three = await run("three");
    assert.equal(three, true);
    assert.equal(await run("two"), false, "demoted: back on the shared session");
  } finally {
    await pool.close();
  }
});

test("the pool: graphs given as bytes (their own weights, prepacked already) are never promoted", async () => {
  const pool = new WorkerPool({ threads: 1, intraOpThreads: 1, hotGraphs: 2, hot: { after: 1 } });
  try {
    const bytes = await import("node:fs").then((fs) => fs.readFileSync(graphFile("bytes", 1)));
    for (let i = 0; i < 5; i++) {
      const r = await pool.run({ graphKey: "b", model: new Uint8Array(bytes), feeds: { X: { type: "float32", dims: [1, 64], data: new Float32Array(64).fill(1) } } });
      assert.equal(r.hot, undefined);
    }
    assert.equal(pool.stats().promotions, 0);
  } finally {
    await pool.close();
  }
});

test("a graph whose prepacked session failed frees its slot and is not tried again until released", () => {
  const h = new HotGraphs({ ...policy, slots: 1 });
  for (let i = 0; i < 4; i++) h.ran("a", 0);
  h.failed("a");
  assert.equal(h.size, 0);
  for (let i = 0; i < 10; i++) assert.deepEqual(h.ran("a", 0), {});
  for (let i = 0; i < 3; i++) h.ran("b", 0);
  assert.deepEqual(h.ran("b", 0), { promote: "b" }, "the slot went to another graph");
  h.forget("a");
  for (let i = 0; i < 3; i++) h.ran("a", 0);
  // slot taken by b; a must be clearly busier to take it
  assert.equal(h.has("a"), false);
});

test("the pool: a prepacked session that cannot be built is reported, and the graph keeps answering", async () => {
  const pool = new WorkerPool({ threads: 1, intraOpThreads: 1, hotGraphs: 1, hot: { after: 2, halfLifeMs: 3_600_000 } });
  const failures: string[] = [];
  pool.onHotFailure = (key, error) => failures.push(`${key}: ${error}`);
  try {
    const file = graphFile("gone", 5);
    const x = new Float32Array(64).fill(1);
    const run = () => pool.run({ graphKey: "gone", model: file, feeds: { X: { type: "float32", dims: [1, 64], data: x.slice() } } });
    await run();
    rmSync(file); // the shared session holds the graph; a second session cannot read the file any more
    for (let i = 0; i < 10 && failures.length === 0; i++) {
      const r = await run();
      assert.deepEqual([...r.outputs.Y.data], Array(64).fill(5));
      assert.notEqual(r.hot, true);
    }
    assert.equal(failures.length, 1, "reported once");
    assert.match(failures[0], /^gone: /);
    assert.deepEqual({ hot: pool.stats().hot, promotions: pool.stats().promotions }, { hot: 0, promotions: 1 });
    for (let i = 0; i < 5; i++) await run();
    assert.equal(pool.stats().promotions, 1, "not tried again");
  } finally {
    await pool.close();
  }
});
