import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Admission, type Cost } from "../../../src/engine/admission.ts";
import { OverBudgetError, OverloadedError } from "../../../src/core/errors.ts";
import { toProblem } from "../../../src/core/problem.ts";

const cost = (rows: number, tokens: number, responseBytes = 1000): Cost => ({ rows, tokens, responseBytes, shape: `${rows} rows` });
const limits = { maxQueuedRows: 10, maxQueuedTokens: 100, maxRequestTokens: 80, maxResponseBytes: 10_000, maxQueueMs: 60_000 };

/** Both steps of a request: its rows before tokenizing, its tokens after. */
function admit(a: Admission, model: string, c: Cost) {
  const t = a.reserve(model, c.rows);
  t.admit(c);
  return t;
}

describe("admission", () => {
  test("admits up to the queue's rows and tokens, refuses beyond with 503 overloaded + Retry-After, admits again once released", () => {
    const a = new Admission(limits);
    const t1 = admit(a, "m", cost(6, 50));
    const t2 = admit(a, "m", cost(4, 40));
    assert.deepEqual(a.queued("m"), { rows: 10, tokens: 90 });
    assert.throws(() => a.reserve("m", 1), OverloadedError, "rows full: refused before any tokenizing");
    // another model has a queue of its own
    admit(a, "other", cost(10, 10)).release();
    t1.release();
    t1.release(); // twice is once
    assert.deepEqual(a.queued("m"), { rows: 4, tokens: 40 });
    // rows fit, tokens do not: refused once they are known, and the reserved rows are given back
    const late = a.reserve("m", 2);
    assert.throws(() => late.admit(cost(2, 61)), OverloadedError, "tokens would pass 100");
    assert.deepEqual(a.queued("m"), { rows: 4, tokens: 40 });
    const p = toProblem(catchIt(() => admit(a, "m", cost(2, 61))));
    assert.equal(p.status, 503);
    assert.equal(p.slug, "overloaded");
    assert.match(p.headers["Retry-After"], /^[1-9]\d*$/);
    assert.match(p.message, /--max-queued-rows/);
    admit(a, "m", cost(2, 60));
    t2.release();
  });

  test("over the per-request budget: 413 over-budget naming the budget and its setting, even with an empty queue", () => {
    const a = new Admission(limits);
    const tokens = toProblem(catchIt(() => admit(a, "m", cost(5, 81))));
    assert.equal(tokens.status, 413);
    assert.equal(tokens.slug, "over-budget");
    assert.match(tokens.message, /81 encoder tokens .* budget of 80 .*--max-request-tokens/);
    const bytes = catchIt(() => admit(a, "m", cost(1, 1, 20_000)));
    assert.ok(bytes instanceof OverBudgetError);
    assert.match(bytes.message, /--max-response-bytes/);
    assert.deepEqual(a.queued("m"), { rows: 0, tokens: 0 }, "a refused request holds nothing");
  });

  test("a request alone is admitted even when it is larger than the queue", () => {
    const a = new Admission({ ...limits, maxQueuedRows: 2, maxQueuedTokens: 10 });
    const t = admit(a, "m", cost(5, 50));
    assert.throws(() => a.reserve("m", 1), OverloadedError);
    t.release();
    admit(a, "m", cost(1, 1));
  });

  test("Retry-After follows the measured throughput: the time the queue needs to drain, at least 1 s, at most 60", () => {
    let now = 0;
    const a = new Admission({ ...limits, maxQueuedTokens: 100_000, maxRequestTokens: 100_000, maxQueueMs: 10 ** 9 }, () => now);
    // 1,000 tokens per second: each request of 1,000 tokens takes one second
    for (let i = 0; i < 5; i++) {
      const t = admit(a, "m", cost(1, 1000));
      now += 1000;
      t.release();
    }
    admit(a, "m", cost(1, 5000));
    admit(a, "m", cost(1, 4000));
    const wait = a.retryAfter("m");
    assert.ok(wait >= 8 && wait <= 10, `9,000 tokens at ~1,000/s: ${wait} s`);
    admit(a, "m", cost(1, 90_000));
    assert.equal(a.retryAfter("m"), 60);
    assert.equal(new Admission(limits).retryAfter("m"), 1, "nothing measured yet");
  });

  test("the queue is bounded in time too: work that would take longer than maxQueueMs to drain is refused", () => {
    let now = 0;
    const a = new Admission({ ...limits, maxQueuedTokens: 100_000, maxRequestTokens: 100_000, maxQueueMs: 3000 }, () => now);
    // a cold start (a model loading, graphs compiling) is not a throughput: 10 tokens in 3 s refuse nothing
    const cold = admit(a, "m", cost(1, 10));
    now += 3000;
    cold.release();
    const warm = [admit(a, "m", cost(1, 20)), admit(a, "m", cost(1, 20))];
    for (const t of warm) t.release();
    now += 10 ** 6; // long ago
    for (let i = 0; i < 5; i++) {
      const t = admit(a, "m", cost(1, 1000));
      now += 1000;
      t.release();
    }
    const first = admit(a, "m", cost(1, 2000));
    assert.throws(() => admit(a, "m", cost(1, 1500)), OverloadedError, "3.5 s of work at ~1,000 tokens/s");
    const second = admit(a, "m", cost(1, 900));
    assert.throws(() => admit(a, "m", cost(1, 200)), /about 2,\d{3} ms of work.*--max-queue-ms/);
    now += 2900;
    first.release();
    second.release();
    // alone, a long request is let through; behind it, the queue is refused before any tokenizing
    admit(a, "m", cost(1, 4000));
    assert.throws(() => a.reserve("m", 1), OverloadedError);
  });

  test("rows still being tokenized count as work ahead, at the measured tokens per row", () => {
    let now = 0;
    const a = new Admission({ ...limits, maxQueuedTokens: 100_000, maxRequestTokens: 100_000, maxQueueMs: 2500 }, () => now);
    for (let i = 0; i < 5; i++) {
      const t = admit(a, "m", cost(1, 1000));
      now += 1000;
      t.release();
    }
    // 1,000 tokens a row, 1,000 tokens a second: three rows waiting for the tokenizer are ~3 s of work
    const waiting = [a.reserve("m", 1), a.reserve("m", 1), a.reserve("m", 1)];
    assert.throws(() => a.reserve("m", 1), /about [23],\d{3} ms of work/);
    waiting[0].release(); // its client went away before it was tokenized
    const last = a.reserve("m", 1);
    assert.deepEqual(a.queued("m"), { rows: 3, tokens: 0 });
    for (const t of [...waiting, last]) t.release();
    assert.deepEqual(a.queued("m"), { rows: 0, tokens: 0 });
  });
});

function catchIt(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a throw");
}
