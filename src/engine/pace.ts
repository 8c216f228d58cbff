// Long loops on the HTTP thread (shaping a large answer: hidden states of many rows) give the event loop a
// turn every few milliseconds, so /healthz and cheap refusals are not held behind them.

const SLICE_MS = 8;
let since = performance.now();

/** Resolves at once, or after a turn of the event loop when the thread has run for a slice since the last one. */
export function pace(): Promise<void> | undefined {
  const now = performance.now();
  if (now - since < SLICE_MS) return undefined;
  return new Promise((r) =>
    setImmediate(() => {
      since = performance.now();
      r();
    }),
  );
}
