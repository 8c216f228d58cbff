import { z } from "zod";
import type { Linear } from "../formats/linear.ts";
import type { Encoded } from "../formats/tokenizer.ts";

// The contract of a prediction head type (classification, tagging, ...): how
// many outputs its config asks for, which tokens it reads, and how a row's
// logits become what a caller wants. All head types share one config reader,
// one weight reader and one small graph (heads/graph.ts).

export interface HeadConfig {
  name: string;
  headType: string;
  numLabels: number;
  layers: number;
  activation: string;
  usePooler: boolean;
  bias: boolean;
  /** index → label, from label2id */
  labels: string[];
  hiddenSize: number | null;
  modelType: string | null;
  modelName: string | null;
}

export interface HeadWeights {
  layers: Linear[];
}

/** What a head's row output may refer to besides its logits. */
export interface RowContext {
  enc: Encoded;
  /** the row in the request */
  row: number;
  inputs: (string | [string, string])[];
  returnLogits: boolean;
}

export interface HeadType {
  /** head_type in head_config.json */
  type: string;
  /** "first" reads the first token (sequence heads), "tokens" every token */
  read: "first" | "tokens";
  /** the head reads [question, context] pairs: a single text is refused, not answered with a span of itself */
  needsPair?: boolean;
  /** the number of outputs, when fixed by the head type (QA: start and end) */
  fixedLabels?: number;
  /** result types this head can answer with (the API's `type`) */
  resultTypes: string[];
  resultType(c: HeadConfig): string;
  /** One row's answer from its logits: [labels] for "first", [tokens][labels] for "tokens". */
  output(c: HeadConfig, logits: Float32Array, ctx: RowContext): Record<string, unknown>;
  /** the row output's schema, for the API's documentation */
  schema: z.ZodType;
}

export const round = (x: number) => Number(x.toPrecision(7));

export function softmax(xs: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(xs));
  const e = Array.from(xs, (x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function argmax(xs: number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

export const scoreMap = (labels: string[], ps: number[]) => Object.fromEntries(labels.map((l, i) => [l, round(ps[i])]));

export const Scores = z.record(z.string(), z.number());
