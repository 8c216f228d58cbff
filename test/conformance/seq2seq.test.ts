import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { post, startServer } from "../support/server.ts";
import { fixtureStores } from "../support/paths.ts";
import type { RunningServer } from "../../src/server/serve.ts";

// Every case of every AdapterHub seq2seq store (test/fixtures/seq2seq, seq2seq-extra, t5, t5-extra: cases with a "kind")
// through the HTTP API: generated ids exactly, beam scores within 1e-3, texts as the library decodes them,
// teacher-forced log-probabilities within the case's atol. A Parallel / BatchSplit case expects a list of
// branches ({name, rows, ...}), one result per branch in order; a num_return_sequences case also expects
// every returned sequence per row (token_ids_all, texts_all, sequence_scores_all).

const stores = fixtureStores()
  .filter((s) => existsSync(path.join(s.dir, "cases.json")))
  .map((s) => ({ ...s, cases: (JSON.parse(readFileSync(path.join(s.dir, "cases.json"), "utf8")) as any[]).filter((c) => c.kind) }))
  .filter((s) => s.cases.length > 0);

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) < tol, `${what}: ${a} vs ${b}`);

function checkGenerated(outputs: any[][], e: any, k: number) {
  assert.equal(outputs.length, e.token_ids.length, "rows");
  outputs.forEach((outs, i) => assert.equal(outs.length, k, `row ${i}: ${k} outputs`));
  const rows = outputs.map((outs) => outs[0]);
  assert.deepEqual(rows.map((x: any) => x.token_ids), e.token_ids);
  assert.deepEqual(rows.map((x: any) => x.text), e.texts);
  if (e.sequence_scores) rows.forEach((x: any, i: number) => close(x.sequence_score, e.sequence_scores[i], 1e-3, `row ${i}`));
  else assert.ok(rows.every((x: any) => x.sequence_score === undefined), "greedy outputs carry no beam score");
  if (k > 1) {
    assert.deepEqual(outputs.map((outs) => outs.map((x: any) => x.token_ids)), e.token_ids_all);
    assert.deepEqual(outputs.map((outs) => outs.map((x: any) => x.text)), e.texts_all);
    outputs.forEach((outs, i) => outs.forEach((x: any, j: number) => close(x.sequence_score, e.sequence_scores_all[i][j], 1e-3, `row ${i} sequence ${j}`)));
  }
}

function checkScored(outputs: any[], e: any, atol: number) {
  assert.deepEqual(outputs.map((x: any) => x.token_ids), e.target_ids);
  outputs.forEach((x: any, i: number) => {
    assert.equal(x.token_logprobs.length, e.token_logprobs[i].length, `row ${i}: one log-probability per target token`);
    x.token_logprobs.forEach((v: number, j: number) => assert.ok(Math.abs(v - e.token_logprobs[i][j]) <= atol, `row ${i} token ${j}: ${v} vs ${e.token_logprobs[i][j]}`));
    assert.ok(Math.abs(x.logprob - x.token_logprobs.reduce((a: number, b: number) => a + b, 0)) < 1e-6);
  });
}

// each store twice: as the CPU runs it, and with every graph's float inputs packed into one, as on a GPU (the
// decoder's kept state included: src/graph/pack-inputs.ts)
for (const packInputs of [false, true]) for (const { name, dir, cases } of stores) describe(`seq2seq golden cases over HTTP: ${name}${packInputs ? ", inputs packed into one as on a GPU" : ""}`, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(dir, { packInputs });
  });
  after(() => server.close());

  for (const c of cases) {
    test(`${c.kind}: ${c.id}`, async () => {
      const o = c.options ?? {};
      const langs = { ...(o.src_lang ? { src_lang: o.src_lang } : {}), ...(o.tgt_lang ? { tgt_lang: o.tgt_lang } : {}) };
      const tasks = [{ adapters: c.composition }];
      // per-branch expected values (Parallel / BatchSplit) or one object for the whole batch
      const branches: any[] = Array.isArray(c.expected) ? c.expected : [{ ...c.expected, rows: c.inputs.map((_: string, i: number) => i) }];
      if (c.kind === "generate") {
        const options: Record<string, unknown> = { ...langs };
        for (const k of ["max_new_tokens", "num_beams", "length_penalty", "num_return_sequences"]) if (o[k] !== undefined) options[k] = o[k];
        const r = await post(`${server.url}/v1/generate`, { model: c.model, inputs: c.inputs, tasks, options });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.results.length, branches.length, "one result per branch");
        branches.forEach((e, b) => {
          const res = r.json.results[b];
          assert.deepEqual(res.rows, e.rows, `branch ${b} rows`);
          checkGenerated(res.outputs, e, o.num_return_sequences ?? 1);
        });
      } else {
        const r = await post(`${server.url}/v1/score`, { model: c.model, inputs: c.inputs, targets: c.targets, tasks, options: langs });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.results.length, branches.length, "one result per branch");
        branches.forEach((e, b) => {
          const res = r.json.results[b];
          assert.deepEqual(res.rows, e.rows, `branch ${b} rows`);
          checkScored(res.outputs, e, c.atol);
        });
      }
    });
  }
});
