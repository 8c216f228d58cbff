import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { METHODS_STORE, fixtureStores } from "./paths.ts";

// Golden cases: the expected outputs for a store, in cases.json (its format:
// test/fixtures/adapterhub/README.md).

export interface GoldenCase {
  id: string;
  model: string;
  inputs: (string | [string, string])[];
  max_length: number;
  composition: unknown;
  head: string | string[] | Record<string, unknown> | null;
  expected: Record<string, any> | Record<string, any>[];
  atol: number;
}

export interface GoldenStore {
  name: string;
  dir: string;
  cases: GoldenCase[];
}

/**
 * Every store under test/fixtures with a cases.json: the AdapterHub store
 * first, then the generated ones. The methods store (test/conformance/methods.test.ts)
 * holds models of families still being added, so it has its own runner.
 */
export function goldenStores(): GoldenStore[] {
  const dirs = fixtureStores().filter((d) => d.name !== METHODS_STORE && existsSync(path.join(d.dir, "cases.json")));
  // encoder cases only: seq2seq stores (cases with a "kind": generate / score) have their own runner
  return dirs
    .map((d) => ({ ...d, cases: storeCases(d.dir) }))
    .filter((d) => d.cases.length > 0);
}

/** One golden store's encoder cases (cases.json beside models/ and adapters/). */
export function storeCases(dir: string): GoldenCase[] {
  return (JSON.parse(readFileSync(path.join(dir, "cases.json"), "utf8")) as (GoldenCase & { kind?: string })[]).filter((c) => !c.kind);
}

/** The /v1/predict body that asks polyhead for what the case's library call computed. */
export function requestFor(c: GoldenCase) {
  const head = typeof c.head === "string" || Array.isArray(c.head) ? c.head : undefined;
  return {
    model: c.model,
    inputs: c.inputs,
    tasks: [{ adapters: c.composition, ...(head ? { head } : {}) }],
    options: { max_length: c.max_length, return_logits: true, return_hidden_states: true, return_fusion_attention: true },
  };
}

/** Largest |a - b| over the real tokens/rows polyhead returns (expected arrays may carry padding). */
export function maxAbsDiff(got: unknown, want: unknown, where = "value"): number {
  if (Array.isArray(want)) {
    if (!Array.isArray(got)) throw new Error(`${where}: expected an array, got ${JSON.stringify(got)?.slice(0, 80)}`);
    if (got.length > want.length || got.length === 0) throw new Error(`${where}: got ${got.length} entries, expected up to ${want.length}`);
    let m = 0;
    got.forEach((g, i) => (m = Math.max(m, maxAbsDiff(g, want[i], `${where}[${i}]`))));
    return m;
  }
  if (typeof got !== "number" || typeof want !== "number") throw new Error(`${where}: not numbers: ${got} vs ${want}`);
  return Math.abs(got - want);
}
