import { test } from "node:test";
import assert from "node:assert/strict";
import { CompositionError } from "../../../src/core/errors.ts";
import { MAX_BRANCHES, MAX_BRANCH_ROWS, toBranches } from "../../../src/engine/composition.ts";

const rows = (n: number) => Array.from({ length: n }, (_, i) => i);
const parallel = (n: number, child: unknown = "a") => ({ parallel: Array.from({ length: n }, (_, i) => (typeof child === "string" ? `${child}${i}` : child)) });

test("parallel blocks that multiply under a stack are refused while they expand, not after", () => {
  const P = parallel(16);
  const started = performance.now();
  assert.throws(() => toBranches({ stack: [P, P, P, P] } as never, rows(2)), (e: Error) => e instanceof CompositionError && /more than 64 branches/.test(e.message) && e.path.includes("stack[1]"));
  assert.ok(performance.now() - started < 500, "refused before building 65,536 branches");
  // within the bound: a stack of two parallels of 8 is 64 branches
  assert.equal(toBranches({ stack: [parallel(8), parallel(8, "b")] } as never, rows(2)).length, MAX_BRANCHES);
});

test("the rows the branches run are bounded too", () => {
  assert.equal(toBranches(parallel(16) as never, rows(64)).reduce((n, b) => n + b.rows.length, 0), MAX_BRANCH_ROWS);
  assert.throws(() => toBranches({ parallel: Array(16).fill(parallel(4)) } as never, rows(64)), /runs 4096 rows over its branches, at most 1024/);
});
