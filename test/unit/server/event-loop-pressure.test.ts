import { test } from "node:test";
import assert from "node:assert/strict";
import { EventLoopPressure, type LoopClock } from "../../../src/server/event-loop-pressure.ts";

// The shedding policy on a clock the test moves: ticks every 10 ms that come
// late by as much as the test says.

function fakeClock() {
  let t = 0;
  let tick: (() => void) | null = null;
  const clock: LoopClock = {
    now: () => t,
    every: (_ms, f) => {
      tick = f;
      return { stop: () => (tick = null) };
    },
  };
  return {
    clock,
    /** the loop's next tick, `lateMs` after it was due */
    tick(lateMs = 0) {
      t += 10 + lateMs;
      tick?.();
    },
    /** time passing inside one turn of the loop, no tick */
    busy(ms: number) {
      t += ms;
    },
    get running() {
      return tick !== null;
    },
  };
}

const MANY = 100;

test("a loop on time takes everything; a late one with many requests held refuses, saying how late and when to retry", () => {
  const c = fakeClock();
  const p = new EventLoopPressure(50, 32, 10, c.clock).start();
  for (let i = 0; i < 5; i++) c.tick(5);
  assert.equal(p.check(MANY), null);
  c.tick(80);
  assert.equal(p.check(MANY), null, "one late tick is a long task, not yet an overload");
  c.tick(80);
  const refused = p.check(MANY);
  assert.ok(refused, "refused while 80 ms late");
  assert.match(refused.detail, /event loop runs 80 ms late, limit 50 ms: --max-event-loop-delay/);
  assert.equal(refused.retryAfter, 1);
  assert.equal(p.shed, 1);
});

test("a late loop holding few requests is busy, not overloaded: a lone request is never refused", () => {
  const c = fakeClock();
  const p = new EventLoopPressure(50, 32, 10, c.clock).start();
  c.tick(2000); // e.g. a new composition's graph built on this thread
  c.tick(60);
  assert.equal(p.check(1), null);
  assert.equal(p.check(31), null);
  assert.ok(p.check(32));
});

test("hysteresis: once on, shedding stays on until ten ticks in a row come well within the limit", () => {
  const c = fakeClock();
  const p = new EventLoopPressure(50, 32, 10, c.clock).start();
  c.tick(60);
  c.tick(60);
  assert.ok(p.check(MANY));
  c.tick(40); // under the limit, not well under it
  assert.ok(p.check(MANY), "still shedding at 40 ms late");
  for (let i = 0; i < 9; i++) c.tick(5);
  assert.ok(p.check(MANY), "nine calm ticks are not enough");
  c.tick(30); // not calm: the count starts again
  for (let i = 0; i < 9; i++) c.tick(5);
  assert.ok(p.check(MANY), "the count started again after a tick over half the limit");
  c.tick(5);
  assert.equal(p.check(MANY), null, "off after ten calm ticks in a row");
  c.tick(40);
  assert.equal(p.check(MANY), null, "off stays off under the limit");
});

test("a burst read in one turn is taken while the turn is within the limit; one late tick after it starts nothing", () => {
  const c = fakeClock();
  const p = new EventLoopPressure(50, 32, 10, c.clock).start();
  c.tick(0);
  for (let i = 0; i < 25; i++) {
    c.busy(2); // 25 requests read and handled in one turn of 50 ms
    assert.equal(p.check(i + 1), null, `request ${i} of the burst`);
  }
  c.tick(40);
  assert.equal(p.check(MANY), null, "one late tick after it: not an overload");
  c.tick(60);
  assert.ok(p.check(MANY), "a second late tick: what arrives now is refused");
});

test("a turn that runs past the limit refuses what it reads next: the onset of an overload, before any tick could see it", () => {
  const c = fakeClock();
  const p = new EventLoopPressure(50, 32, 10, c.clock).start();
  c.tick(0);
  c.busy(55);
  assert.equal(p.check(MANY), null, "45 ms into the turn");
  c.busy(20);
  const refused = p.check(MANY);
  assert.ok(refused, "65 ms into the turn");
  assert.match(refused.detail, /runs 65 ms late/);
  assert.equal(p.check(10), null, "still never with few requests in flight");
});

test("0 turns it off; stop() stops the ticks", () => {
  const off = fakeClock();
  const p0 = new EventLoopPressure(0, 32, 10, off.clock).start();
  assert.equal(off.running, false, "no ticker when off");
  off.busy(10_000);
  assert.equal(p0.check(MANY), null);

  const c = fakeClock();
  const p = new EventLoopPressure(50, 32, 10, c.clock).start();
  c.tick(100);
  c.tick(100);
  assert.ok(p.check(MANY));
  p.stop();
  assert.equal(c.running, false);
  assert.equal(p.check(MANY), null, "a stopped monitor refuses nothing");
});
