import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { cutByLength } from "../../../src/engine/length-groups.ts";

const limits = { maxRows: 32, maxTokens: 8192, runCostTokens: 80 };
const padded = (sorted: number[], ends: number[]) => {
  let start = 0;
  let n = 0;
  for (const end of ends) {
    n += (end - start) * sorted[end - 1];
    start = end;
  }
  return n;
};

test("rows of equal length stay in one run", () => {
  assert.deepEqual(cutByLength(Array(8).fill(128), limits), [8]);
});

test("mixed lengths are cut where the padding saved pays for the extra run", () => {
  // 16 short rows and 16 long ones: one run pads the short ones to 128 (16 × 120 tokens wasted, far more than a run's price)
  const sorted = [...Array(16).fill(8), ...Array(16).fill(128)];
  assert.deepEqual(cutByLength(sorted, limits), [16, 32]);
  // a single short row next to long ones wastes less than a run costs: kept together
  assert.deepEqual(cutByLength([100, 128, 128, 128], limits), [4]);
});

test("a cheaper run price cuts finer; a dearer one coarser", () => {
  const sorted = Array.from({ length: 32 }, (_, i) => 8 + i * 4);
  const fine = cutByLength(sorted, { ...limits, runCostTokens: 8 });
  const coarse = cutByLength(sorted, { ...limits, runCostTokens: 5000 });
  assert.ok(fine.length > cutByLength(sorted, limits).length);
  assert.deepEqual(coarse, [32]);
  assert.ok(padded(sorted, fine) < padded(sorted, coarse));
});

test("row and token budgets hold for every run", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 512 }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 300 }), (xs, maxRows, cost) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const l = { maxRows, maxTokens: 4096, runCostTokens: cost };
      const ends = cutByLength(sorted, l);
      assert.equal(ends.at(-1), sorted.length);
      let start = 0;
      for (const end of ends) {
        assert.ok(end > start);
        const rows = end - start;
        // a single row over the token budget still runs (alone)
        if (rows > 1) assert.ok(rows <= maxRows && rows * sorted[end - 1] <= 4096);
        start = end;
      }
      // never worse than the greedy fill the batcher used before
      const greedy: number[] = [];
      let n = 0;
      sorted.forEach((len, i) => {
        if (n && (n + 1 > maxRows || (n + 1) * len > 4096)) {
          greedy.push(i);
          n = 0;
        }
        n++;
      });
      greedy.push(sorted.length);
      const price = (e: number[]) => padded(sorted, e) + cost * e.length;
      assert.ok(price(ends) <= price(greedy));
    }),
  );
});

test("unsorted lengths are a programming error", () => {
  assert.throws(() => cutByLength([5, 3], limits), /sorted/);
});
