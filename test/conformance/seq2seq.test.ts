import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { post, startServer } from "../support/server.ts";
import { LOCAL_FIXTURES } from "../support/paths.ts";
import type { RunningServer } from "../../src/server/serve.ts";

// Every case of the AdapterHub seq2seq store (test/fixtures/seq2seq) through
// the HTTP API: generated ids exactly, beam scores within 1e-3, texts as the
// library decodes them, teacher-forced log-probabilities within the case's atol.

const STORE = path.join(LOCAL_FIXTURES, "seq2seq");
const cases: any[] = JSON.parse(readFileSync(path.join(STORE, "cases.json"), "utf8"));

describe("seq2seq golden cases over HTTP", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(STORE);
  });
  after(() => server.close());

  for (const c of cases) {
    test(`${c.kind}: ${c.id}`, async () => {
      const o = c.options ?? {};
      const langs = { ...(o.src_lang ? { src_lang: o.src_lang } : {}), ...(o.tgt_lang ? { tgt_lang: o.tgt_lang } : {}) };
      const tasks = [{ adapters: c.composition }];
      if (c.kind === "generate") {
        const r = await post(`${server.url}/v1/generate`, { model: c.model, inputs: c.inputs, tasks, options: { max_new_tokens: o.max_new_tokens, num_beams: o.num_beams, ...langs } });
        assert.equal(r.status, 200, r.text);
        const rows = r.json.results[0].outputs.map((outs: any[]) => outs[0]);
        assert.deepEqual(rows.map((x: any) => x.token_ids), c.expected.token_ids);
        assert.deepEqual(rows.map((x: any) => x.text), c.expected.texts);
        if (c.expected.sequence_scores) {
          rows.forEach((x: any, i: number) => assert.ok(Math.abs(x.sequence_score - c.expected.sequence_scores[i]) < 1e-3, `row ${i}: ${x.sequence_score} vs ${c.expected.sequence_scores[i]}`));
        } else assert.ok(rows.every((x: any) => x.sequence_score === undefined), "greedy outputs carry no beam score");
      } else {
        const r = await post(`${server.url}/v1/score`, { model: c.model, inputs: c.inputs, targets: c.targets, tasks, options: langs });
        assert.equal(r.status, 200, r.text);
        const rows = r.json.results[0].outputs;
        assert.deepEqual(rows.map((x: any) => x.token_ids), c.expected.target_ids);
        rows.forEach((x: any, i: number) => {
          x.token_logprobs.forEach((v: number, j: number) => assert.ok(Math.abs(v - c.expected.token_logprobs[i][j]) <= c.atol, `row ${i} token ${j}: ${v} vs ${c.expected.token_logprobs[i][j]}`));
          assert.ok(Math.abs(x.logprob - x.token_logprobs.reduce((a: number, b: number) => a + b, 0)) < 1e-6);
        });
      }
    });
  }
});
