import { z } from "zod";
import { scoreMap, Scores, sigmoid, type HeadType } from "./head.ts";

// Multi-label classification: an independent sigmoid per label, labels over 0.5.

export const multilabel: HeadType = {
  type: "multilabel_classification",
  read: "first",
  resultTypes: ["multilabel_classification"],
  resultType: () => "multilabel_classification",
  output(c, logits, ctx) {
    const ps = Array.from(logits, sigmoid);
    return { labels: c.labels.filter((_, i) => ps[i] > 0.5), scores: scoreMap(c.labels, ps), ...(ctx.returnLogits ? { logits: Array.from(logits) } : {}) };
  },
  schema: z.object({ labels: z.array(z.string()), scores: Scores, logits: z.array(z.number()).optional() }),
};
