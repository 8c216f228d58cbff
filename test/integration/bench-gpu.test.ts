import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

// `npm run bench:gpu` where it cannot run: one clear line and exit code 2, before any store is written. No GPU is
// visible to it (CUDA_VISIBLE_DEVICES empty), so it refuses the same way on a machine that has CUDA.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bench = (args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "bench/gpu.ts"), ...args], { cwd: ROOT, env: { ...process.env, CUDA_VISIBLE_DEVICES: "" }, encoding: "utf8", timeout: 60_000 });

test("bench:gpu without a usable CUDA provider refuses clearly", () => {
  const r = bench([]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^bench:gpu: refusing to run: .*CUDA/m);
  assert.doesNotMatch(r.stderr, /writing a random/);
  assert.equal(r.stdout, "");
});

test("bench:gpu refuses an unknown precision", () => {
  const r = bench(["--precision", "fp8"]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--precision: expected fp32 or int8 or fp16, got "fp8"/);
});
