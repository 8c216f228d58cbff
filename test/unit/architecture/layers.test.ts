// Dependencies point one way, down: each folder of src/ may import only from
// folders below it (and from itself). The order is DESIGN.md's layout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../../support/paths.ts";

/** Lower first. Graph primitives (the ONNX builder and op helpers) sit under the rooms that emit ops. */
const LAYERS: string[][] = [
  ["core"],
  ["formats", "graph/primitives"],
  ["families"],
  ["methods", "heads"],
  ["graph", "store"],
  ["engine"],
  ["api"],
  ["edge", "server"],
  ["cli"],
];
const PRIMITIVES = new Set(["graph/onnx-builder.ts", "graph/ops.ts", "graph/fold.ts"]);

function areaOf(rel: string): string {
  if (PRIMITIVES.has(rel)) return "graph/primitives";
  return rel.split("/")[0];
}
const rank = (area: string) => LAYERS.findIndex((l) => l.includes(area));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

test("every folder of src/ has a place in the layers", () => {
  const src = path.join(ROOT, "src");
  for (const f of files(src)) {
    const area = areaOf(path.relative(src, f));
    assert.ok(rank(area) >= 0, `${path.relative(ROOT, f)}: folder "${area}" is in no layer`);
  }
});

test("imports point down (or stay in their folder)", () => {
  const src = path.join(ROOT, "src");
  const wrong: string[] = [];
  for (const f of files(src)) {
    const from = areaOf(path.relative(src, f));
    for (const m of readFileSync(f, "utf8").matchAll(/^(?:import|export)[^"']*?from\s+["'](\.[^"']+)["']/gm)) {
      const target = path.relative(src, path.resolve(path.dirname(f), m[1]));
      if (target.startsWith("..")) continue;
      const to = areaOf(target);
      if (to === from) continue;
      if (rank(to) >= rank(from)) wrong.push(`${path.relative(ROOT, f)} (${from}) imports ${target} (${to})`);
    }
  }
  assert.deepEqual(wrong, []);
});
