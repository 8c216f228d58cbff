import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { columnScales, quantizeColumns } from "../../../src/graph/quantize.ts";

// The int8 weights --precision int8 feeds DynamicQuantizeMatMul: [in, out],
// symmetric, one scale per output column.

test("quantizeColumns: torch's [out, in] becomes int8 [in, out], each column within half a step of its weight", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 1000 }), fc.constantFrom(7 as const, 8 as const), (out, inp, seed, bits) => {
      let s = seed + 1;
      const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 4;
      const data = Float32Array.from({ length: out * inp }, rnd);
      const { q, scale } = quantizeColumns({ shape: [out, inp], data }, bits);
      const qmax = bits === 8 ? 127 : 63;
      assert.equal(q.length, out * inp);
      assert.equal(scale.length, out);
      for (let j = 0; j < out; j++) {
        let peak = 0;
        for (let i = 0; i < inp; i++) {
          const w = data[j * inp + i];
          const v = q[i * out + j];
          assert.ok(Math.abs(v) <= qmax);
          assert.ok(Math.abs(v * scale[j] - w) <= scale[j] / 2 + 1e-6, `w[${j},${i}] = ${w}, got ${v}·${scale[j]}`);
          peak = Math.max(peak, Math.abs(v));
        }
        assert.equal(peak, qmax, "each column uses its full range");
      }
    }),
  );
});

test("quantizeColumns: an all-zero column gets scale 1 and zeros, not NaN", () => {
  const { q, scale } = quantizeColumns({ shape: [2, 3], data: Float32Array.from([0, 0, 0, 1, -2, 0.5]) });
  assert.deepEqual([...scale], [1, Math.fround(2 / 127)]);
  assert.deepEqual([...q], [0, 64, 0, -127, 0, 32]);
});

test("columnScales: computed once per weight tensor and width", () => {
  const w = { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) };
  assert.equal(columnScales(w, 8), columnScales(w, 8));
  assert.notEqual(columnScales(w, 8), columnScales(w, 7));
  assert.deepEqual([...columnScales(w, 7)], [Math.fround(2 / 63), Math.fround(4 / 63)]);
});
