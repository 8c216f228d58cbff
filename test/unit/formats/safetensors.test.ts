import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { readSafetensors, writeSafetensors } from "../../../src/formats/safetensors.ts";
import { readStateDict } from "../../../src/formats/state-dict.ts";
import type { StateDict } from "../../../src/core/tensor.ts";
import { ADAPTERHUB_FIXTURES } from "../../support/paths.ts";

/** Builds a safetensors file from a header (object or raw text) and a data section. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0), headerLen?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
const u16 = (...v: number[]) => new Uint8Array(Uint16Array.from(v).buffer);

test("writeSafetensors → readSafetensors round-trips, with the reference layout", () => {
  const dict: StateDict = new Map([
    ["b.weight", { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-30, -0, 65536.125]) }],
    ["a.bias", { shape: [3], data: Float32Array.from([Math.PI, NaN, -Infinity]) }],
    ["scalar", { shape: [], data: Float32Array.from([7]) }],
    ["empty", { shape: [0, 5], data: new Float32Array(0) }],
  ]);
  const bytes = writeSafetensors(dict, { format: "pt", note: "x" });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLen) % 8, 0, "header is padded to 8 bytes");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  assert.deepEqual(header.__metadata__, { format: "pt", note: "x" });
  assert.deepEqual(header["a.bias"], { dtype: "F32", shape: [3], data_offsets: [0, 12] });
  assert.equal(bytes.length, 8 + headerLen + 4 * (6 + 3 + 1));
  const back = readSafetensors(bytes);
  assert.deepEqual([...back.keys()].sort(), [...dict.keys()].sort());
  for (const [k, t] of dict) assert.deepEqual(back.get(k), t, k);
  // Unaligned input takes the copying path and gives the same values.
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  for (const [k, t] of readSafetensors(shifted.subarray(3))) assert.deepEqual(t, dict.get(k), k);
  assert.throws(() => writeSafetensors(new Map([["x", { shape: [2], data: new Float32Array(3) }]])), /shape \[2\] but 3 values/);
});

test("F16, BF16, F64, I64, I32 and BOOL convert to float32", () => {
  const f16 = u16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x7e00, 0x8000, 0x3555);
  const bf16 = u16(0x3fc0, 0xc000, 0x7f80, 0x0001, 0x3c00, 0xff80, 0x4049);
  const f64 = new Uint8Array(Float64Array.from([0.1, -1e300]).buffer);
  const i64 = new Uint8Array(BigInt64Array.from([-5n, 1n << 40n]).buffer);
  const i32 = new Uint8Array(Int32Array.from([-7, 123456]).buffer);
  const bool = Uint8Array.from([1, 0, 1]);
  const parts = [f16, bf16, f64, i64, i32, bool];
  const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  const offsets: Array<[number, number]> = [];
  let pos = 0;
  for (const p of parts) { data.set(p, pos); offsets.push([pos, pos + p.length]); pos += p.length; }
  const sd = readSafetensors(build({
    h: { dtype: "F16", shape: [2, 4], data_offsets: offsets[0] },
    b: { dtype: "BF16", shape: [7], data_offsets: offsets[1] },
    d: { dtype: "F64", shape: [2], data_offsets: offsets[2] },
    l: { dtype: "I64", shape: [2], data_offsets: offsets[3] },
    i: { dtype: "I32", shape: [2, 1], data_offsets: offsets[4] },
    z: { dtype: "BOOL", shape: [3], data_offsets: offsets[5] },
  }, data));
  assert.deepEqual(sd.get("h")!.shape, [2, 4]);
  assert.deepEqual(Array.from(sd.get("h")!.data), [1, -2, 65504, 2 ** -24, Infinity, NaN, -0, Math.fround(0.333251953125)]);
  assert.deepEqual(Array.from(sd.get("b")!.data), [1.5, -2, Infinity, 2 ** -133, 0.0078125, -Infinity, 3.140625]);
  assert.deepEqual(Array.from(sd.get("d")!.data), [Math.fround(0.1), -Infinity]);
  assert.deepEqual(Array.from(sd.get("l")!.data), [-5, 2 ** 40]);
  assert.deepEqual(Array.from(sd.get("i")!.data), [-7, 123456]);
  assert.deepEqual(Array.from(sd.get("z")!.data), [1, 0, 1]);
});

test("malformed files are refused with a message naming the file and the problem", () => {
  const good = { w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] } };
  const data = new Uint8Array(16);
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ["truncated", new Uint8Array(5), /truncated file \(5 bytes/],
    ["header longer than file", build(good, data, 4096), /header length 4096 runs past the end of the file/],
    ["header length absurd", build(good, data, 2 ** 40), /header length 1099511627776 exceeds the 100000000-byte limit/],
    ["not JSON", build("{not json", data), /header is not valid UTF-8 JSON/],
    ["not UTF-8", build('{"ab": 1}', data).map((b, i) => (i === 10 ? 0xff : b)), /not valid UTF-8 JSON/],
    ["JSON array", build([1, 2], data), /header is not a JSON object/],
    ["JSON null", build("null", data), /header is not a JSON object/],
    ["offsets out of range", build({ w: { dtype: "F32", shape: [2, 2], data_offsets: [8, 24] } }, data), /"w" data_offsets \[8, 24\] lie outside the 16-byte data section/],
    ["offsets reversed", build({ w: { dtype: "F32", shape: [0], data_offsets: [8, 4] } }, data), /data_offsets \[8, 4\] lie outside/],
    ["data section cut short", build(good, data.subarray(0, 10)), /lie outside the 10-byte data section/],
    ["overlap", build({
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
    }, data), /tensors "a" and "b" overlap/],
    ["shape/length mismatch", build({ w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }, data), /"w" shape \[2,2\] of F32 needs 16 bytes but data_offsets span 12/],
    ["unknown dtype", build({ w: { dtype: "F8_E4M3", shape: [16], data_offsets: [0, 16] } }, data), /"w" has unsupported dtype "F8_E4M3"/],
    ["missing dtype", build({ w: { shape: [4], data_offsets: [0, 16] } }, data), /unsupported dtype undefined/],
    ["negative dim", build({ w: { dtype: "F32", shape: [-2, -2], data_offsets: [0, 16] } }, data), /invalid shape \[-2,-2\]/],
    ["fractional dim", build({ w: { dtype: "F32", shape: [2.5], data_offsets: [0, 10] } }, data), /invalid shape/],
    ["missing offsets", build({ w: { dtype: "F32", shape: [4] } }, data), /invalid data_offsets undefined/],
    ["entry not an object", build({ w: 3 }, data), /tensor "w" is not an object/],
    ["bad metadata", build({ __metadata__: { n: 1 }, ...good }, data), /__metadata__ must map strings to strings/],
  ];
  for (const [what, bytes, message] of cases) {
    assert.throws(() => readSafetensors(bytes, "bad.safetensors"), (e: unknown) => {
      assert.ok(e instanceof Error && e.name === "FormatError", `${what}: ${String(e)}`);
      assert.match(e.message, /^bad\.safetensors: /, what);
      assert.match(e.message, message, what);
      return true;
    }, what);
  }
  // Control: the well-formed version of the same file reads.
  assert.deepEqual(readSafetensors(build({ __metadata__: { format: "pt" }, ...good }, data)).get("w")!.shape, [2, 2]);
});

test("fixture safetensors files read through readStateDict", () => {
  const file = path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny/model.safetensors");
  const sd = readStateDict(new Uint8Array(readFileSync(file)), "model.safetensors");
  const emb = [...sd.entries()].find(([k]) => k.endsWith("word_embeddings.weight"));
  assert.ok(emb, "word embeddings present");
  assert.equal(emb[1].shape.length, 2);
  assert.equal(emb[1].data.length, emb[1].shape[0] * emb[1].shape[1]);
  const total = [...sd.values()].reduce((n, t) => n + t.data.byteLength, 0);
  assert.ok(total > 100_000 && total < 130_192, `tensor bytes ${total} fit the file`);
  assert.throws(() => readStateDict(new Uint8Array(12), "model.safetensors"), { name: "FormatError", message: /^model\.safetensors: / });
});
