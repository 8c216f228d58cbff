import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { familyOf, parseModelConfig } from "../../../src/families/index.ts";
import { baseWeights } from "../../../src/families/base-weights.ts";
import { buildEncoder } from "../../../src/graph/encoder.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import { LOCAL_FIXTURES } from "../../support/paths.ts";

// The bare encoders of ALBERT and DeBERTa-v2 at every position of a padded
// batch, padding included, against what AdapterHub computed for it
// (families-tiny's base-only cases keep the library's whole padded output).
// Over the HTTP API only real tokens come back; padded positions matter
// where gates average over them (UniPELT). DeBERTa zeroes its embeddings at
// padding and its padded queries attend to nothing; ALBERT's attend as BERT's.

const STORE = path.join(LOCAL_FIXTURES, "families-tiny");
const cases = JSON.parse(readFileSync(path.join(STORE, "cases.json"), "utf8")) as { id: string; model: string; tokenized: Record<string, number[][]>; expected: { last_hidden_state: number[][][] } }[];

for (const id of ["albert-base-only", "deberta-unshared-base-only", "deberta-v3-base-only", "deberta-norel-base-only"]) {
  test(`${id}: every position of the padded batch, padding included`, async () => {
    const c = cases.find((x) => x.id === id)!;
    const dir = path.join(STORE, "models", c.model);
    const config = parseModelConfig(JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8")));
    const family = familyOf(config);
    const weights = baseWeights(readSafetensors(readFileSync(path.join(dir, "model.safetensors"))), family, config);
    const built = buildEncoder(family, config, weights, { block: null, slots: [], averages: 0, embeddings: null, uniform: true });
    const ids = c.tokenized.input_ids;
    const [N, T] = [ids.length, ids[0].length];
    const long = (rows: number[][]) => new ort.Tensor("int64", BigInt64Array.from(rows.flat().map(BigInt)), [N, T]);
    const mask = c.tokenized.attention_mask;
    assert.ok(mask.flat().includes(0), "the batch has padding");
    const all: Record<string, ort.Tensor> = {
      input_ids: long(ids),
      attention_mask: long(mask),
      token_type_ids: long(c.tokenized.token_type_ids ?? ids.map((r) => r.map(() => 0))),
      position_ids: long(ids.map((r) => r.map((_, t) => t))),
    };
    const session = await ort.InferenceSession.create(built.bytes);
    const feeds = Object.fromEntries(Object.entries(all).filter(([k]) => built.inputs.has(k)));
    const out = (await session.run(feeds)).last_hidden_state;
    const want = c.expected.last_hidden_state.flat(2);
    assert.deepEqual([...out.dims], [N, T, want.length / (N * T)]);
    const got = out.data as Float32Array;
    let worst = 0;
    let worstPad = 0;
    want.forEach((w, i) => {
      const d = Math.abs(got[i] - w);
      worst = Math.max(worst, d);
      const row = Math.floor(i / (want.length / N));
      const t = Math.floor(i / (want.length / (N * T))) % T;
      if (mask[row][t] === 0) worstPad = Math.max(worstPad, d);
    });
    assert.ok(worst < 1e-4, `max error ${worst} (at padding ${worstPad})`);
  });
}
