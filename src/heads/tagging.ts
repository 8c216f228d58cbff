import { z } from "zod";
import { argmax, round, softmax, type HeadType } from "./head.ts";

// Token classification: a label per token of the text, with its characters.

export const tagging: HeadType = {
  type: "tagging",
  read: "tokens",
  resultTypes: ["tagging"],
  resultType: () => "tagging",
  output(c, logits, ctx) {
    const L = c.numLabels;
    const real = ctx.enc.length[ctx.row];
    const tokens = [];
    for (let t = 0; t < real; t++) {
      const seg = ctx.enc.segments[ctx.row][t];
      if (seg < 0) continue; // special tokens carry no text
      const ps = softmax(logits.subarray(t * L, t * L + L));
      const k = argmax(ps);
      const [start, end] = ctx.enc.offsets[ctx.row][t];
      tokens.push({ token: ctx.enc.tokens[ctx.row][t], label: c.labels[k], score: round(ps[k]), start, end, ...(seg === 1 ? { segment: 1 } : {}) });
    }
    const logitRows = () => Array.from({ length: real }, (_, t) => Array.from(logits.subarray(t * L, t * L + L)));
    return { tokens, ...(ctx.returnLogits ? { logits: logitRows() } : {}) };
  },
  schema: z.object({
    tokens: z.array(z.object({ token: z.string(), label: z.string(), score: z.number(), start: z.number(), end: z.number(), segment: z.literal(1).optional() })),
    logits: z.array(z.array(z.number())).optional(),
  }),
};
