import { test } from "node:test";
import assert from "node:assert/strict";
import { jsonBody } from "../../../src/api/json-body.ts";

const samples: unknown[] = [
  null,
  { a: 1, b: "x\"y\n", c: [1, 2.5, NaN, null], d: undefined, e: { f: [] }, g: [{ h: true }, [1, [2]]], i: [undefined, () => 1] },
  [],
  "text",
  { when: new Date(0) },
];

test("the same text as JSON.stringify, small answers as one plain body", async () => {
  for (const v of samples) {
    const res = jsonBody(v);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(await res.text(), JSON.stringify(v));
  }
  const created = jsonBody({ ok: true }, 201);
  assert.equal(created.status, 201);
});

test("a large answer streams in slices, letting the event loop turn between them", async () => {
  // ~4 MiB of hidden states: 64 rows × 64 tokens × 64 floats
  const big = { results: [{ outputs: Array.from({ length: 64 }, (_, r) => ({ last_hidden_state: Array.from({ length: 64 }, (_, t) => Array.from({ length: 64 }, (_, k) => Math.sin(r * 1e4 + t * 100 + k))) })) }] };
  const res = jsonBody(big);
  const reader = res.body!.getReader();
  let turns = 0;
  let chunks = 0;
  let text = "";
  const utf8 = new TextDecoder();
  // counts turns of the event loop while the body is read
  const tick = () => setImmediate(() => (turns++, reading && tick()));
  let reading = true;
  tick();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks++;
    text += utf8.decode(value, { stream: true });
  }
  reading = false;
  assert.equal(text, JSON.stringify(big));
  assert.ok(chunks > 10, `${chunks} slices`);
  assert.ok(turns >= chunks - 2, `the event loop turned ${turns} times over ${chunks} slices`);
});
