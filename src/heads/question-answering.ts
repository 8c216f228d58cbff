import { z } from "zod";
import { round, softmax, type HeadType, type RowContext } from "./head.ts";

// Extractive question answering: start and end logits per token; the answer
// is the most probable span (p_start · p_end) inside the context: segment B
// of a pair (question, context). The API refuses single texts (needsPair);
// given one anyway, the span is taken from the text itself. Like Hugging Face's
// question-answering pipeline (align_to_words, its default), a span that starts
// or ends inside a word is widened to the whole word: a model that reads a name
// in pieces would otherwise answer "Nintend" for "Nintendo".

const MAX_ANSWER_TOKENS = 30;
/** what a pre-tokenizer keeps inside one word: letters, marks and digits */
const WORD = /[\p{L}\p{M}\p{N}]/u;

export const questionAnswering: HeadType = {
  type: "question_answering",
  read: "tokens",
  needsPair: true,
  fixedLabels: 2,
  resultTypes: ["question_answering"],
  resultType: () => "question_answering",
  output(_c, logits, ctx) {
    const real = ctx.enc.length[ctx.row];
    const start = Array.from({ length: real }, (_, t) => logits[t * 2]);
    const end = Array.from({ length: real }, (_, t) => logits[t * 2 + 1]);
    return { answer: bestSpan(start, end, ctx), ...(ctx.returnLogits ? { start_logits: start, end_logits: end } : {}) };
  },
  schema: z.object({
    answer: z.object({ text: z.string(), start: z.number(), end: z.number(), score: z.number() }),
    start_logits: z.array(z.number()).optional(),
    end_logits: z.array(z.number()).optional(),
  }),
};

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
  let a = ctx.enc.offsets[ctx.row][best.s][0];
  let b = ctx.enc.offsets[ctx.row][best.e][1];
  while (a > 0 && WORD.test(context[a - 1]) && WORD.test(context[a])) a--;
  while (b < context.length && b > 0 && WORD.test(context[b]) && WORD.test(context[b - 1])) b++;
  return { text: context.slice(a, b), start: a, end: b, score: round(best.p) };
}
