// Errors a client can act on: the wrong method, the wrong media type, and
// where a malformed body breaks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { answer, startServer } from "../support/server.ts";
import { ADAPTERHUB_FIXTURES } from "../support/paths.ts";

test("405 with Allow, 415 for a body that is not JSON, malformed JSON located by line and column, the closest model names", async () => {
  const server = await startServer(ADAPTERHUB_FIXTURES);
  try {
    const get = await answer(await fetch(`${server.url}/v1/predict`));
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    assert.equal(get.json.type.endsWith("method-not-allowed"), true);
    const post = await answer(await fetch(`${server.url}/v1/models`, { method: "POST" }));
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET");
    const plain = await answer(await fetch(`${server.url}/v1/predict`, { method: "POST", body: '{"model":"bert-tiny"}' }));
    assert.equal(plain.status, 415);
    assert.match(plain.json.detail, /content-type: application\/json/);
    const broken = await answer(await fetch(`${server.url}/v1/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"model": "bert-tiny",\n  "inputs": ["a"],\n}' }));
    assert.equal(broken.status, 400);
    assert.match(broken.json.detail, /line 3, column 1/);
    const typo = await answer(await fetch(`${server.url}/v1/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "bert-tny", inputs: ["a"], tasks: [{ adapters: null }] }) }));
    assert.equal(typo.status, 404);
    assert.match(typo.json.detail, /model "bert-tny" not found; did you mean "bert-tiny"\?/);
    const far = await answer(await fetch(`${server.url}/v1/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-neox", inputs: ["a"], tasks: [{ adapters: null }] }) }));
    assert.doesNotMatch(far.json.detail, /did you mean/, "nothing close, nothing suggested");
    const missing = await answer(await fetch(`${server.url}/v1/nothing`));
    assert.equal(missing.status, 404);
  } finally {
    await server.close();
  }
});
