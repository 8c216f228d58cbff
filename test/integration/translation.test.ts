// The translation API over a real server: what a client can get wrong gets a
// clear 4xx, rows of one request may use different adapters, generation
// streams, and the CLI runs generate and score in-process.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { copyStore, get, post, startServer } from "../support/server.ts";
import { ADAPTERHUB_FIXTURES, LOCAL_FIXTURES, ROOT } from "../support/paths.ts";
import type { RunningServer } from "../../src/server/serve.ts";

const STORE = path.join(LOCAL_FIXTURES, "seq2seq");
const cases: any[] = JSON.parse(readFileSync(path.join(STORE, "cases.json"), "utf8"));
const mbart = { src_lang: "en_XX", tgt_lang: "de_DE" };
const texts = ["The movie was great!", "Stocks fell quickly today after the bank report.", "Paris is a beautiful city in France.", "I did not like it."];

describe("translation over HTTP", () => {
  let server: RunningServer;
  let cleanup = () => {};
  before(async () => {
    let dir: string;
    ({ dir, cleanup } = copyStore(STORE, () => true));
    // an encoder beside the translation models
    cpSync(path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny"), path.join(dir, "models/bert-tiny"), { recursive: true });
    // the same BART with generation settings of its own: beam search by default
    cpSync(path.join(dir, "models/bart-s2s"), path.join(dir, "models/bart-gen"), { recursive: true });
    writeFileSync(path.join(dir, "models/bart-gen/generation_config.json"), JSON.stringify({ num_beams: 3, length_penalty: 2.0, max_length: 7 }));
    server = await startServer(dir);
  });
  after(async () => {
    await server.close();
    cleanup();
  });
  const generate = (body: Record<string, unknown>) => post(`${server.url}/v1/generate`, { model: "bart-s2s", inputs: texts, tasks: [{ adapters: null }], ...body });

  test("rows of one request with different adapters: each row as its adapter alone", async () => {
    const split = await generate({ tasks: [{ adapters: { batch_split: ["bart-news", "bart-legal"], sizes: [2, 2] } }], options: { max_new_tokens: 8, num_beams: 2 } });
    assert.equal(split.status, 200, split.text);
    const alone = async (adapter: string, rows: string[]) => (await generate({ inputs: rows, tasks: [{ adapters: adapter }], options: { max_new_tokens: 8, num_beams: 2 } })).json.results[0].outputs;
    const [news, legal] = split.json.results;
    assert.deepEqual(news.rows, [0, 1]);
    assert.deepEqual(legal.rows, [2, 3]);
    assert.deepEqual(news.outputs, await alone("bart-news", texts.slice(0, 2)));
    assert.deepEqual(legal.outputs, await alone("bart-legal", texts.slice(2)));
    assert.notDeepEqual(news.outputs, await alone("bart-legal", texts.slice(0, 2)), "the adapters differ on these rows");
  });

  test("parallel: every row under each domain adapter, in one request", async () => {
    const r = await generate({ tasks: [{ name: "domains", adapters: { parallel: ["bart-news", "bart-medical"] } }], options: { max_new_tokens: 6 } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.results.map((x: any) => x.name), ["domains[0]", "domains[1]"]);
    assert.ok(r.json.results.every((x: any) => x.outputs.length === texts.length));
  });

  test("num_return_sequences: several beams per input, best first", async () => {
    const r = await generate({ options: { max_new_tokens: 6, num_beams: 4, num_return_sequences: 3 } });
    assert.equal(r.status, 200, r.text);
    for (const outs of r.json.results[0].outputs) {
      assert.equal(outs.length, 3);
      assert.ok(outs[0].sequence_score >= outs[1].sequence_score && outs[1].sequence_score >= outs[2].sequence_score);
    }
  });

  test("streaming: token events per row, then the same result as without streaming", async () => {
    const body = { model: "mbart-s2s", inputs: texts.slice(0, 2), tasks: [{ adapters: "mbart-legal" }], options: { max_new_tokens: 8, ...mbart } };
    const plain = await post(`${server.url}/v1/generate`, body);
    const res = await fetch(`${server.url}/v1/generate`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, options: { ...body.options, stream: true } }) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const events = (await res.text()).split("\n\n").filter(Boolean).map((block) => ({
      event: /^event: (.*)$/m.exec(block)?.[1],
      data: JSON.parse(/^data: (.*)$/m.exec(block)![1]),
    }));
    const last = events.pop()!;
    assert.equal(last.event, "result");
    assert.deepEqual(last.data, plain.json);
    const perRow = [0, 1].map((row) => events.filter((e) => e.event === "token" && e.data.row === row).map((e) => e.data.token_id));
    assert.deepEqual(perRow, plain.json.results[0].outputs.map((o: any) => o[0].token_ids), "the streamed tokens are the generated ones, in order");
  });

  test("fusion attention: source tokens in encoder layers, generated tokens in decoder layers, the same in generate and score", async () => {
    const fuse = { fuse: ["bart-news", "bart-legal", "bart-medical"] };
    const g = await generate({ inputs: texts.slice(0, 2), tasks: [{ adapters: fuse }], options: { max_new_tokens: 6, num_beams: 2, return_fusion_attention: true } });
    assert.equal(g.status, 200, g.text);
    const best = g.json.results[0].outputs.map((o: any) => o[0]);
    const layers = (a: any) => Object.keys(a).map(Number).sort((x, y) => x - y);
    for (const [i, o] of best.entries()) {
      const a = o.fusion_attention;
      assert.deepEqual(layers(a), [0, 1, 2, 3], "2 encoder + 2 decoder layers");
      const src = a["0"].output_adapter;
      const tgt = a["3"].output_adapter;
      assert.equal(tgt.length, o.token_ids.length, "one row of weights per generated token");
      for (const row of [...src, ...tgt]) {
        assert.equal(row.length, 3, "one weight per fused adapter");
        assert.ok(Math.abs(row.reduce((x: number, y: number) => x + y, 0) - 1) < 1e-5);
      }
      // scoring the generated tokens shows the same attention
      const s = await post(`${server.url}/v1/score`, { model: "bart-s2s", inputs: [texts[i]], targets: ["x"], tasks: [{ adapters: fuse }], options: { return_fusion_attention: true } });
      assert.deepEqual(s.json.results[0].outputs[0].fusion_attention["0"], a["0"], "the encoder side does not depend on the target");
    }
    const plain = await generate({ inputs: texts.slice(0, 1), tasks: [{ adapters: "bart-news" }], options: { max_new_tokens: 3, return_fusion_attention: true } });
    assert.equal(plain.json.results[0].outputs[0][0].fusion_attention, undefined, "no fusion, no attention");
  });

  test("generation_config.json sets the defaults a request leaves out", async () => {
    const byConfig = await generate({ model: "bart-gen", options: {} });
    const explicit = await generate({ options: { num_beams: 3, length_penalty: 2.0, max_new_tokens: 6 } });
    assert.equal(byConfig.status, 200, byConfig.text);
    assert.deepEqual(byConfig.json.results[0].outputs, explicit.json.results[0].outputs);
    assert.ok(byConfig.json.results[0].outputs[0][0].sequence_score !== undefined, "beam search, from the config");
  });

  test("bad requests: clear problems, and the server keeps serving", async () => {
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ model: "mbart-s2s", options: { src_lang: "en_XX", tgt_lang: "xx_YY" } }, 422, /tgt_lang "xx_YY".*en_XX, de_DE/],
      [{ model: "mbart-s2s", options: { tgt_lang: "de_DE" } }, 422, /needs src_lang/],
      [{ options: { src_lang: "en_XX" } }, 422, /no language codes/],
      [{ options: { max_new_tokens: 100000 } }, 400, /max_new_tokens/],
      [{ options: { num_beams: 64 } }, 400, /num_beams/],
      [{ options: { num_beams: 2, num_return_sequences: 3 } }, 400, /num_return_sequences/],
      [{ model: "bert-tiny" }, 422, /encoder.*\/v1\/predict/],
      [{ model: "nope-s2s" }, 404, /nope-s2s/],
      [{ tasks: [{ adapters: "no-such-adapter" }] }, 404, /no-such-adapter/],
      [{ inputs: ["fine", " "] }, 422, /inputs\[1\] is empty/],
    ];
    for (const [body, status, detail] of cases) {
      const r = await generate(body);
      assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
      assert.match(r.headers.get("content-type") ?? "", /problem\+json/);
      assert.match(`${r.json.detail} ${JSON.stringify(r.json)}`, detail, JSON.stringify(body));
    }
    const mismatch = await post(`${server.url}/v1/score`, { model: "bart-s2s", inputs: texts, targets: texts.slice(1), tasks: [{ adapters: null }] });
    assert.equal(mismatch.status, 400, mismatch.text);
    assert.match(JSON.stringify(mismatch.json), /one target per input/);
    const classify = await post(`${server.url}/v1/predict`, { model: "bart-s2s", inputs: texts, tasks: [{ adapters: "bart-news" }] });
    assert.equal(classify.status, 422, classify.text);
    assert.match(classify.json.detail, /encoder-decoder.*\/v1\/generate/);
    const ok = await generate({ options: { max_new_tokens: 3 } });
    assert.equal(ok.status, 200);
  });

  test("a source cut to the model's maximum length is flagged truncated, in generate and score; one that fits is not", async () => {
    const long = Array.from({ length: 400 }, (_, i) => `word${i % 9}`).join(" ");
    const g = await post(`${server.url}/v1/generate`, { model: "bart-s2s", inputs: [long, texts[0]], tasks: [{ adapters: null }], options: { max_new_tokens: 3 } });
    assert.equal(g.status, 200, g.text);
    const [cut, fits] = g.json.results[0].outputs;
    assert.equal(cut[0].truncated, true);
    assert.equal("truncated" in fits[0], false);
    const s = await post(`${server.url}/v1/score`, { model: "bart-s2s", inputs: [long, texts[0]], targets: ["x", "y"], tasks: [{ adapters: null }] });
    assert.equal(s.status, 200, s.text);
    assert.equal(s.json.results[0].outputs[0].truncated, true);
    assert.equal("truncated" in s.json.results[0].outputs[1], false);
  });

  test("the OpenAPI document describes both routes", async () => {
    const doc = (await get(`${server.url}/openapi.json`)).json;
    for (const p of ["/v1/generate", "/v1/score"]) assert.ok(doc.paths[p]?.post, p);
    assert.ok(doc.components.schemas.GenerateRequest && doc.components.schemas.ScoreResponse);
  });
});

test("CLI: polyhead generate and polyhead score answer as the API does", async () => {
  const c = cases.find((x) => x.id === "mbart-news-score")!;
  const g = cases.find((x) => x.id === "bart-news-beam3")!;
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [path.join(ROOT, "bin/polyhead.js"), ...args], { cwd: ROOT }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
    );
  const gen = await run(["generate", "--store", STORE, "--model", g.model, "--adapters", "bart-news", "--num-beams", "3", "--max-new-tokens", String(g.options.max_new_tokens), ...g.inputs]);
  assert.equal(gen.code, 0, gen.stderr);
  assert.deepEqual(JSON.parse(gen.stdout).results[0].outputs.map((o: any) => o[0].token_ids), g.expected.token_ids);
  const sc = await run(["score", "--store", STORE, "--model", c.model, "--adapters", "mbart-news", "--src-lang", "en_XX", "--tgt-lang", "de_DE", "--target", ...c.targets, "--", ...c.inputs]);
  assert.equal(sc.code, 0, sc.stderr);
  const rows = JSON.parse(sc.stdout).results[0].outputs;
  rows.forEach((r: any, i: number) => r.token_logprobs.forEach((v: number, j: number) => assert.ok(Math.abs(v - c.expected.token_logprobs[i][j]) < 1e-4)));
});
