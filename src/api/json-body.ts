// Answers as JSON written in slices: JSON.stringify of a 30 MiB answer (hidden states) holds the event loop
// for most of a second, and every other request (/healthz too) waits. A small answer is one slice, sent as
// a plain body; a large one streams, one slice of about 64 KiB per turn of the event loop. Runtime-neutral.

const SLICE = 64 * 1024;

/** A JSON Response of `value`, the same text as JSON.stringify gives, never more than a slice per turn. */
export function jsonBody(value: unknown, status = 200): Response {
  const parts = pieces(value);
  const first = slice(parts);
  const headers = { "content-type": "application/json" };
  if (first.done) return new Response(first.text, { status, headers });
  const utf8 = new TextEncoder();
  let pending: string | null = first.text;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending !== null) {
        controller.enqueue(utf8.encode(pending));
        pending = null;
        return;
      }
      await nextTurn();
      const s = slice(parts);
      if (s.text) controller.enqueue(utf8.encode(s.text));
      if (s.done) controller.close();
    },
    cancel() {
      parts.return(undefined);
    },
  });
  return new Response(body, { status, headers });
}

function slice(parts: Generator<string>): { text: string; done: boolean } {
  let text = "";
  for (;;) {
    const n = parts.next();
    if (n.done) return { text, done: true };
    text += n.value;
    if (text.length >= SLICE) return { text, done: false };
  }
}

const nextTurn = () => new Promise<void>((r) => (typeof setImmediate === "function" ? setImmediate(r) : setTimeout(r, 0)));

/** Values up to this many leaves are stringified at once (JSON.stringify is far faster than walking them here). */
const SMALL = 4096;

/** Leaves left of `budget` after counting v's, or -1 when v has more. */
function leavesLeft(v: unknown, budget: number): number {
  if (v === null || typeof v !== "object") return budget - 1;
  const items = Array.isArray(v) ? v : Object.values(v);
  for (const x of items) {
    budget = leavesLeft(x, budget);
    if (budget < 0) return -1;
  }
  return budget;
}

/** JSON.stringify's text of `v`, in pieces: small parts (a row of floats, a whole small answer) are one piece each. */
function* pieces(v: unknown): Generator<string> {
  if (v === null || typeof v !== "object" || typeof (v as { toJSON?: unknown }).toJSON === "function" || leavesLeft(v, SMALL) >= 0) {
    yield JSON.stringify(v) ?? "null";
    return;
  }
  if (Array.isArray(v)) {
    yield "[";
    for (let i = 0; i < v.length; i++) {
      if (i) yield ",";
      yield* pieces(v[i] === undefined || typeof v[i] === "function" ? null : v[i]);
    }
    yield "]";
    return;
  }
  yield "{";
  let first = true;
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined || typeof x === "function" || typeof x === "symbol") continue;
    yield `${first ? "" : ","}${JSON.stringify(k)}:`;
    first = false;
    yield* pieces(x);
  }
  yield "}";
}
