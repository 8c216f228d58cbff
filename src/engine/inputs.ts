import { InputError } from "../core/errors.ts";
import { headType } from "../heads/index.ts";
import type { HeadConfig } from "../heads/head.ts";

// Inputs a task cannot read are refused before any work, naming the input:
// an answer about nothing, or QA's span of the question itself, would look
// like a real answer.

/** Empty texts (or only whitespace) are refused: there is nothing to classify, tag or translate. */
export function checkTexts(inputs: (string | [string, string])[]): void {
  for (const [i, input] of inputs.entries()) {
    const texts = typeof input === "string" ? [input] : input;
    for (const [j, t] of texts.entries()) {
      if (t.trim() === "") throw new InputError(`${typeof input === "string" ? `inputs[${i}]` : `inputs[${i}][${j}]`} is empty: give a text to read`, `inputs[${i}]`);
    }
  }
}

/** Heads that read [question, context] pairs (question answering) refuse a single text. */
export function checkPairs(branches: { rows: number[]; head: { config: HeadConfig } | null }[], inputs: (string | [string, string])[]): void {
  for (const b of branches) {
    if (!b.head || !headType(b.head.config).needsPair) continue;
    const single = b.rows.find((r) => typeof inputs[r] === "string");
    if (single !== undefined) {
      throw new InputError(`head "${b.head.config.name}" answers questions: give each input as a [question, context] pair; inputs[${single}] is a single text`, `inputs[${single}]`);
    }
  }
}
