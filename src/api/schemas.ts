import { z } from "@hono/zod-openapi";
import { CompositionSchema, NAME_RE } from "../engine/composition.ts";

// The request and response bodies of the HTTP API. Types used by the routes
// are derived from these schemas; the engine takes plain data.

export const LIMITS = {
  maxInputs: 64,
  maxTextChars: 20_000,
  maxTasks: 16,
  maxLength: 512,
  maxBodyBytes: 4 * 1024 * 1024,
};

const ModelName = z.string().regex(NAME_RE, "a model folder name: letters, digits, '.', '_' or '-'");
// Heads may be named by AdapterHub's saved name, e.g. "sentiment,topic,formality".
const HeadName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._,-]{0,255}$/, "a head, adapter or fusion name");
const Text = z.string().max(LIMITS.maxTextChars, `a text has at most ${LIMITS.maxTextChars} characters`);

export const Composition = CompositionSchema.openapi("Composition", {
  description:
    'An adapter name, or {"stack": [..]}, {"fuse": [..], "fusion"?: name}, {"parallel": [..]}, {"batch_split": [..], "sizes": [..]}, {"average": [..], "weights"?: [..]}',
});

export const Task = z.strictObject({
  name: z.string().min(1).max(128).optional(),
  adapters: Composition.nullable().default(null),
  head: z.union([HeadName, z.array(HeadName).min(1).max(16)]).optional(),
});

export const PredictOptions = z.strictObject({
  max_length: z.number().int().min(2).max(LIMITS.maxLength).default(128),
  return_logits: z.boolean().default(false),
  return_hidden_states: z.boolean().default(false),
  return_fusion_attention: z.boolean().default(false),
});

export const PredictRequest = z
  .strictObject({
    model: ModelName,
    inputs: z.array(z.union([Text, z.tuple([Text, Text])])).min(1).max(LIMITS.maxInputs),
    tasks: z.array(Task).min(1).max(LIMITS.maxTasks),
    options: PredictOptions.default({ max_length: 128, return_logits: false, return_hidden_states: false, return_fusion_attention: false }),
  })
  .openapi("PredictRequest", {
    example: { model: "bert-tiny", inputs: ["what a great film"], tasks: [{ adapters: "sentiment" }] },
  });
export type PredictRequest = z.infer<typeof PredictRequest>;

export const TaskResult = z
  .object({
    name: z.string(),
    head: z.string().nullable(),
    type: z.enum(["classification", "regression", "multilabel_classification", "tagging", "question_answering", "hidden_states"]),
    rows: z.array(z.number().int()),
    outputs: z.array(z.record(z.string(), z.unknown())),
  })
  .openapi("TaskResult");

export const PredictResponse = z.object({ model: z.string(), results: z.array(TaskResult) }).openapi("PredictResponse");

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    field: z.string().optional(),
  })
  .openapi("Problem");
