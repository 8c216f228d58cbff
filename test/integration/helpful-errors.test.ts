// Mistakes a new user makes, answered so that they can fix them: what is
// wrong with a composition and where, the names that were probably meant,
// inputs that were cut or cannot be read.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { post, startServer } from "../support/server.ts";
import { ADAPTERHUB_FIXTURES } from "../support/paths.ts";
import type { RunningServer } from "../../src/server/serve.ts";

describe("helpful errors", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(ADAPTERHUB_FIXTURES, { models: ["bert-tiny"] });
  });
  after(() => server?.close());

  const predict = (adapters: unknown, inputs: unknown[] = ["a fine day"], extra: Record<string, unknown> = {}) =>
    post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs, tasks: [{ adapters, ...extra }] });

  test("a composition that does not parse says what is wrong and where", async () => {
    const cases: [unknown, RegExp][] = [
      [["sentiment", "topic"], /^tasks\.0\.adapters: a list is not a composition: use \{"stack": \[\.\.\.\]\} or \{"parallel": \[\.\.\.\]\}$/],
      [{ stak: ["sentiment", "topic"] }, /^tasks\.0\.adapters: unknown key "stak" — did you mean "stack"\?$/],
      [{ paralel: ["sentiment"] }, /did you mean "parallel"\?/],
      [{ stack: ["sentiment", 5] }, /stack\[1\]: expected an adapter name or a composition/],
      [{ stack: ["sentiment", { parallel: ["topic", ["ner"]] }] }, /stack\[1\]: parallel\[1\]: a list is not a composition/],
      [{ stack: ["a"], parallel: ["b"] }, /"stack" and "parallel" in one object: nest one inside the other/],
      [{ fuse: ["sentiment", "topic"], fusoin: "x" }, /unknown key "fusoin" in a "fuse" block — did you mean "fusion"\?/],
      [{ batch_split: ["sentiment"] }, /"batch_split" needs "sizes"/],
      [{ stack: [] }, /stack: a block needs at least one member/],
    ];
    for (const [adapters, want] of cases) {
      const res = await predict(adapters);
      assert.equal(res.status, 400, res.text);
      assert.match(res.json.field, /^tasks\.0\.adapters/);
      assert.match(res.json.detail, want, `${JSON.stringify(adapters)}: ${res.json.detail}`);
    }
  });

  test("unknown adapter and fusion names come with the closest existing ones", async () => {
    const adapter = await predict("sentimnt");
    assert.equal(adapter.status, 404, adapter.text);
    assert.equal(adapter.json.detail, 'adapter "sentimnt" not found; did you mean "sentiment"?');
    const fusion = await post(`${server.url}/v1/fuse`, { model: "bert-tiny", inputs: ["x"], fusion: "sentiment-fuson" });
    assert.equal(fusion.status, 404, fusion.text);
    assert.match(fusion.json.detail, /did you mean "sentiment-fusion"\?/);
    const far = await predict("zzzzzzzzzzzz");
    assert.equal(far.status, 404);
    assert.equal(far.json.detail, 'adapter "zzzzzzzzzzzz" not found', "nothing close, nothing suggested");
    const head = await predict("sentiment", ["a fine day"], { head: "topik" });
    assert.equal(head.status, 404, head.text);
    assert.match(head.json.detail, /^head "topik" not found; did you mean "topic"/);
  });

  test("a text cut to the maximum length is flagged truncated; one that fits is not", async () => {
    const long = Array.from({ length: 200 }, (_, i) => `word${i % 7}`).join(" ");
    const res = await predict("sentiment", [long, "a fine day", ["what is it", long]], { head: undefined });
    assert.equal(res.status, 200, res.text);
    const [cut, fits, pair] = res.json.results[0].outputs;
    assert.equal(cut.truncated, true);
    assert.equal("truncated" in fits, false);
    assert.equal(pair.truncated, true);
    const roomy = await post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs: ["a fine day"], tasks: [{ adapters: "sentiment" }], options: { max_length: 8 } });
    assert.equal("truncated" in roomy.json.results[0].outputs[0], false);
    const tight = await post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs: ["a fine day it was, truly a fine day"], tasks: [{ adapters: "sentiment" }], options: { max_length: 4 } });
    assert.equal(tight.json.results[0].outputs[0].truncated, true);
  });

  test("an empty text is refused with 422 naming the input", async () => {
    for (const [inputs, field] of [[[""], "inputs[0]"], [["fine", "   \n"], "inputs[1]"], [[["a question", ""]], "inputs[0]"]] as const) {
      const res = await predict("sentiment", [...inputs]);
      assert.equal(res.status, 422, res.text);
      assert.equal(res.json.type, "https://polyhead.dev/problems/invalid-input");
      assert.equal(res.json.field, field);
      assert.match(res.json.detail, /is empty/);
    }
  });

  test("question answering with a single text is refused: it needs a [question, context] pair", async () => {
    const single = await predict("qa", ["who wrote the book?"]);
    assert.equal(single.status, 422, single.text);
    assert.equal(single.json.type, "https://polyhead.dev/problems/invalid-input");
    assert.match(single.json.detail, /\[question, context\] pair; inputs\[0\] is a single text/);
    const pair = await predict("qa", [["who wrote the book?", "The book was written by Anna in Paris."]]);
    assert.equal(pair.status, 200, pair.text);
    assert.equal(typeof pair.json.results[0].outputs[0].answer.text, "string");
  });
});
