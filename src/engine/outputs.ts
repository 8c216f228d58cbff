import type { HeadConfig } from "../formats/adapter-config.ts";
import type { Encoded } from "./tokenize.ts";

// Head logits → what a caller wants: labels and scores per task and row.

export type ResultType = "classification" | "regression" | "multilabel_classification" | "tagging" | "question_answering" | "hidden_states";

export interface RowContext {
  enc: Encoded;
  /** the row in the request */
  row: number;
  inputs: (string | [string, string])[];
  returnLogits: boolean;
}

export function resultType(h: HeadConfig | null): ResultType {
  if (!h) return "hidden_states";
  if (h.headType === "classification" && h.numLabels === 1) return "regression";
  return h.headType;
}

const round = (x: number) => Number(x.toPrecision(7));

function softmax(xs: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(xs));
  const e = Array.from(xs, (x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function argmax(xs: number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

const scoreMap = (labels: string[], ps: number[]) => Object.fromEntries(labels.map((l, i) => [l, round(ps[i])]));

/** One row's output from its logits: [labels] for sequence heads, [tokens][labels] for token heads. */
export function rowOutput(head: HeadConfig, logits: Float32Array, seqLen: number, ctx: RowContext): Record<string, unknown> {
  const L = head.numLabels;
  const real = ctx.enc.length[ctx.row];
  const tokenLogits = () => Array.from({ length: real }, (_, t) => Array.from(logits.subarray(t * L, t * L + L)));
  switch (resultType(head)) {
    case "regression":
      return { value: logits[0], ...(ctx.returnLogits ? { logits: [logits[0]] } : {}) };
    case "classification": {
      const ps = softmax(logits);
      const k = argmax(ps);
      return { label: head.labels[k], score: round(ps[k]), scores: scoreMap(head.labels, ps), ...(ctx.returnLogits ? { logits: Array.from(logits) } : {}) };
    }
    case "multilabel_classification": {
      const ps = Array.from(logits, sigmoid);
      return {
        labels: head.labels.filter((_, i) => ps[i] > 0.5),
        scores: scoreMap(head.labels, ps),
        ...(ctx.returnLogits ? { logits: Array.from(logits) } : {}),
      };
    }
    case "tagging": {
      const tokens = [];
      for (let t = 0; t < real; t++) {
        const seg = ctx.enc.segments[ctx.row][t];
        if (seg < 0) continue; // special tokens carry no text
        const ps = softmax(logits.subarray(t * L, t * L + L));
        const k = argmax(ps);
        const [start, end] = ctx.enc.offsets[ctx.row][t];
        tokens.push({ token: ctx.enc.tokens[ctx.row][t], label: head.labels[k], score: round(ps[k]), start, end, ...(seg === 1 ? { segment: 1 } : {}) });
      }
      return { tokens, ...(ctx.returnLogits ? { logits: tokenLogits() } : {}) };
    }
    case "question_answering": {
      const start = Array.from({ length: real }, (_, t) => logits[t * 2]);
      const end = Array.from({ length: real }, (_, t) => logits[t * 2 + 1]);
      return {
        answer: bestSpan(start, end, ctx),
        ...(ctx.returnLogits ? { start_logits: start, end_logits: end } : {}),
      };
    }
    default:
      void seqLen;
      return {};
  }
}

const MAX_ANSWER_TOKENS = 30;

/**
 * The most probable span (p_start · p_end) inside the context: segment B of a
 * pair (the usual question/context order), or the text itself.
 */
function bestSpan(start: number[], end: number[], ctx: RowContext) {
  const segs = ctx.enc.segments[ctx.row];
  const input = ctx.inputs[ctx.row];
  const contextSeg = typeof input === "string" ? 0 : 1;
  const context = typeof input === "string" ? input : input[1];
  const ps = softmax(start);
  const pe = softmax(end);
  let best = { s: -1, e: -1, p: -1 };
  for (let s = 0; s < start.length; s++) {
    if (segs[s] !== contextSeg) continue;
    for (let e = s; e < Math.min(end.length, s + MAX_ANSWER_TOKENS); e++) {
      if (segs[e] !== contextSeg) break;
      const p = ps[s] * pe[e];
      if (p > best.p) best = { s, e, p };
    }
  }
  if (best.s < 0) return { text: "", start: 0, end: 0, score: 0 };
  const a = ctx.enc.offsets[ctx.row][best.s][0];
  const b = ctx.enc.offsets[ctx.row][best.e][1];
  return { text: context.slice(a, b), start: a, end: b, score: round(best.p) };
}

/** [real tokens][hidden] for one row of a [N, T, H] output. */
export function hiddenRows(data: Float32Array, n: number, T: number, H: number, real: number): number[][] {
  return Array.from({ length: real }, (_, t) => Array.from(data.subarray((n * T + t) * H, (n * T + t + 1) * H)));
}
