import { z } from "zod";
import { argmax, round, scoreMap, Scores, softmax, type HeadType } from "./head.ts";

// Sequence classification over the first token; one output is regression, as
// in transformers (num_labels == 1).

export const classification: HeadType = {
  type: "classification",
  read: "first",
  resultTypes: ["classification", "regression"],
  resultType: (c) => (c.numLabels === 1 ? "regression" : "classification"),
  output(c, logits, ctx) {
    const raw = ctx.returnLogits ? { logits: Array.from(logits) } : {};
    if (c.numLabels === 1) return { value: logits[0], ...raw };
    const ps = softmax(logits);
    const k = argmax(ps);
    return { label: c.labels[k], score: round(ps[k]), scores: scoreMap(c.labels, ps), ...raw };
  },
  schema: z.union([
    z.object({ label: z.string(), score: z.number(), scores: Scores, logits: z.array(z.number()).optional() }),
    z.object({ value: z.number(), logits: z.array(z.number()).optional() }),
  ]),
};
