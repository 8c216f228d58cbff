import { HEAD_TYPES, RESULT_TYPES } from "../heads/index.ts";
import { z } from "@hono/zod-openapi";
import { CompositionSchema, MAX_WIDTH } from "../engine/composition.ts";
import { NAME_RE, QUALIFIED_RE } from "../core/names.ts";

// The request and response bodies of the HTTP API. Types used by the routes
// are derived from these schemas; the engine takes plain data.

export const LIMITS = {
  maxInputs: 64,
  /** generation: tokens per output and beams per input */
  maxNewTokens: 256,
  maxBeams: 8,
  maxTextChars: 20_000,
  maxTasks: 16,
  maxLength: 512,
  maxBodyBytes: 4 * 1024 * 1024,
};

const ModelName = z.string().regex(NAME_RE, "a model folder name: letters, digits, '.', '_' or '-'");
// Heads may be named by AdapterHub's saved name, e.g. "sentiment,topic,formality".
// A tenant's adapter or fusion folder is "tenant/name".
const HeadName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._,-]{0,255}(?:\/[A-Za-z0-9][A-Za-z0-9._-]{0,127})?$/, "a head, adapter or fusion name");
const Text = z.string().max(LIMITS.maxTextChars, `a text has at most ${LIMITS.maxTextChars} characters`);
const QualifiedFolderName = z.string().regex(QUALIFIED_RE, "a folder name: letters, digits, '.', '_' or '-', optionally after a tenant and '/'");
const Inputs = z.array(z.union([Text, z.tuple([Text, Text])])).min(1).max(LIMITS.maxInputs);

// zod 4 schemas made before @hono/zod-openapi extended zod (composition.ts may
// load first) have no own .openapi(): call it through the prototype. It must
// name CompositionSchema itself (not a z.lazy wrapper around it): for a lazy
// schema .openapi() also tags the original with the refId, and that is what
// turns the grammar's recursion into a $ref instead of an endless document.
type OpenApiFn = (this: unknown, refId: string, meta: { description: string }) => typeof CompositionSchema;
const openapi = (z.ZodType.prototype as unknown as { openapi: OpenApiFn }).openapi;
export const Composition = openapi.call(CompositionSchema, "Composition", {
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
    inputs: Inputs,
    tasks: z.array(Task).min(1).max(LIMITS.maxTasks),
    options: PredictOptions.default({ max_length: 128, return_logits: false, return_hidden_states: false, return_fusion_attention: false }),
  })
  .openapi("PredictRequest", {
    example: { model: "demo-bert", inputs: ["what a great film"], tasks: [{ adapters: "sentiment" }] },
  });
export type PredictRequest = z.infer<typeof PredictRequest>;

export const TaskResult = z
  .object({
    name: z.string(),
    head: z.string().nullable(),
    type: z.string().openapi({ description: `one of ${RESULT_TYPES.join(", ")}` }),
    rows: z.array(z.number().int()),
    outputs: z.array(z.record(z.string(), z.unknown())).openapi({ description: "one per row, as the head type gives it (see HeadOutput)" }),
  })
  .openapi("TaskResult");

/** What each head type answers per row: every head module brings its own schema. */
export const HeadOutput = z.union(HEAD_TYPES.map((h) => h.schema) as [z.ZodType, z.ZodType, ...z.ZodType[]]).openapi("HeadOutput");

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

// ---- POST /v1/fuse -------------------------------------------------------

export const FuseOptions = z.strictObject({
  max_length: z.number().int().min(2).max(LIMITS.maxLength).default(128),
  return_logits: z.boolean().default(false),
  return_fusion_attention: z.boolean().default(false),
});

export const FuseRequest = z
  .strictObject({
    model: ModelName,
    inputs: Inputs,
    fuse: z.array(QualifiedFolderName).min(1).max(MAX_WIDTH).optional().openapi({ description: "the fused adapters, in the fusion's order" }),
    fusion: QualifiedFolderName.optional().openapi({ description: "a fusion folder; found from `fuse` when left out" }),
    head: HeadName.optional().openapi({ description: "default: the fusion's own head" }),
    options: FuseOptions.default({ max_length: 128, return_logits: false, return_fusion_attention: false }),
  })
  .refine((b) => b.fuse !== undefined || b.fusion !== undefined, { message: 'give "fuse" (adapter names) or "fusion" (a fusion folder)', path: ["fuse"] })
  .openapi("FuseRequest", {
    example: { model: "demo-bert", inputs: ["what a great film"], fuse: ["sentiment", "topic"], options: { return_fusion_attention: true } },
  });
export type FuseRequest = z.infer<typeof FuseRequest>;

const FusionAttention = z
  .record(z.string(), z.record(z.string(), z.array(z.array(z.number()))))
  .openapi("FusionAttention", { description: "{layer: {mh_adapter|output_adapter: [real tokens][adapters]}}: softmax weights, columns in `adapters` order" });

export const FuseResponse = z
  .object({
    model: z.string(),
    fusion: z.string(),
    adapters: z.array(z.string()).openapi({ description: "the fused adapters: the order of the fusion_attention columns" }),
    head: z.string().nullable(),
    type: TaskResult.shape.type,
    outputs: z.array(z.looseObject({ fusion_attention: FusionAttention.optional() })),
  })
  .openapi("FuseResponse");

// ---- POST /v1/generate, POST /v1/score (encoder-decoder models) -------------

const LangCode = z.string().regex(/^[a-z]{2,3}_[A-Z]{2}$/, "a language code such as en_XX or de_DE");
const Texts = z.array(Text).min(1).max(LIMITS.maxInputs);

export const Seq2SeqTask = z.strictObject({
  name: z.string().min(1).max(128).optional(),
  adapters: Composition.nullable().default(null),
});

export const GenerateOptions = z
  .strictObject({
    max_new_tokens: z.number().int().min(1).max(LIMITS.maxNewTokens).optional().openapi({ description: `default: the model's max_length - 1; at most ${LIMITS.maxNewTokens}` }),
    num_beams: z.number().int().min(1).max(LIMITS.maxBeams).optional().openapi({ description: `default: the model's num_beams; at most ${LIMITS.maxBeams}` }),
    length_penalty: z.number().finite().optional(),
    num_return_sequences: z.number().int().min(1).max(LIMITS.maxBeams).optional(),
    src_lang: LangCode.optional().openapi({ description: "mBART-50-style models: the source language (replaces the tokenizer template's)" }),
    tgt_lang: LangCode.optional().openapi({ description: "mBART-50-style models: the target language (the forced first token)" }),
    stream: z.boolean().default(false).openapi({ description: "answer text/event-stream: one event per new token per row (greedy), then the result" }),
    return_fusion_attention: z.boolean().default(false).openapi({ description: "fused compositions: each row's best output gets the fusion's attention over its adapters, per layer (encoder layers over the source tokens, decoder layers over the generated tokens)" }),
  })
  .refine((o) => (o.num_return_sequences ?? 1) <= (o.num_beams ?? o.num_return_sequences ?? 1), { message: "num_return_sequences must not exceed num_beams", path: ["num_return_sequences"] });

export const GenerateRequest = z
  .strictObject({
    model: ModelName,
    inputs: Texts,
    tasks: z.array(Seq2SeqTask).min(1).max(LIMITS.maxTasks),
    options: GenerateOptions.default({ stream: false, return_fusion_attention: false }),
  })
  .openapi("GenerateRequest", { example: { model: "bart-s2s", inputs: ["The movie was great!"], tasks: [{ adapters: "bart-news" }], options: { max_new_tokens: 20, num_beams: 4 } } });
export type GenerateRequest = z.infer<typeof GenerateRequest>;

const Generated = z.object({
  text: z.string().openapi({ description: "decoded without special tokens" }),
  token_ids: z.array(z.number().int()).openapi({ description: "the ids after the decoder start token, a forced first token included, up to and including the end token" }),
  tokens: z.array(z.string()).optional().openapi({ description: "the vocabulary's string of each of token_ids (e.g. Ġfilm, ▁Film, </s>)" }),
  sequence_score: z.number().optional().openapi({ description: "beam search: the beam's length-normalised score, as transformers reports it" }),
  fusion_attention: FusionAttention.optional(),
  truncated: z.literal(true).optional().openapi({ description: "the source was cut to the model's maximum length" }),
});

export const GenerateResponse = z
  .object({
    model: z.string(),
    results: z.array(z.object({ name: z.string(), rows: z.array(z.number().int()), outputs: z.array(z.array(Generated)).openapi({ description: "per row: num_return_sequences outputs, best first" }) })),
  })
  .openapi("GenerateResponse");

export const ScoreRequest = z
  .strictObject({
    model: ModelName,
    inputs: Texts,
    targets: Texts.openapi({ description: "one target per input: the text whose tokens are scored" }),
    tasks: z.array(Seq2SeqTask).min(1).max(LIMITS.maxTasks),
    options: z.strictObject({ src_lang: LangCode.optional(), tgt_lang: LangCode.optional(), return_fusion_attention: z.boolean().default(false) }).default({ return_fusion_attention: false }),
  })
  .refine((b) => b.targets.length === b.inputs.length, { message: "give one target per input", path: ["targets"] })
  .openapi("ScoreRequest", { example: { model: "bart-s2s", inputs: ["The movie was great!"], targets: ["Der Film war toll!"], tasks: [{ adapters: "bart-news" }] } });
export type ScoreRequest = z.infer<typeof ScoreRequest>;

const Scored = z.object({
  token_ids: z.array(z.number().int()).openapi({ description: "the target's tokens as the model's tokenizer builds labels" }),
  token_logprobs: z.array(z.number()).openapi({ description: "log-probability of each target token given the source and the tokens before it" }),
  logprob: z.number().openapi({ description: "their sum" }),
  fusion_attention: FusionAttention.optional(),
  truncated: z.literal(true).optional().openapi({ description: "the source or the target was cut to the model's maximum length" }),
});

export const ScoreResponse = z
  .object({ model: z.string(), results: z.array(z.object({ name: z.string(), rows: z.array(z.number().int()), outputs: z.array(Scored) })) })
  .openapi("ScoreResponse");

// ---- GET /v1/models, /v1/adapters ----------------------------------------

export const ModelInfo = z
  .object({
    name: z.string(),
    model_type: z.string().nullable(),
    hidden_size: z.number().int().nullable(),
    layers: z.number().int().nullable(),
    attention_heads: z.number().int().nullable(),
    max_position_embeddings: z.number().int().nullable(),
    encoder_decoder: z.boolean().optional().openapi({ description: "true for encoder-decoder (translation) models, served by /v1/generate and /v1/score; absent for encoders" }),
    encoder_layers: z.number().int().nullable().optional().openapi({ description: "encoder-decoder models: the encoder's depth (decoder layers are numbered after it)" }),
    decoder_layers: z.number().int().nullable().optional(),
    languages: z.array(z.string()).optional().openapi({ description: "encoder-decoder models: the language codes src_lang / tgt_lang take (mBART-50 style); empty when the model takes none" }),
    supported: z.boolean(),
    error: z.string().optional(),
  })
  .openapi("ModelInfo");

export const ModelsResponse = z.object({ models: z.array(ModelInfo) }).openapi("ModelsResponse");

export const HeadInfo = z
  .object({ name: z.string(), type: z.string(), num_labels: z.number().int(), labels: z.array(z.string()), layers: z.number().int() })
  .openapi("HeadInfo");

export const AdapterSummary = z
  .object({
    name: z.string(),
    type: z.string().openapi({ description: "bottleneck, lora, ia3, or the saved architecture when unsupported" }),
    saved_name: z.string().nullable(),
    hidden_size: z.number().int().nullable(),
    model_type: z.string().nullable(),
    head: HeadInfo.nullable(),
    size: z.number().int().openapi({ description: "bytes, summed over the folder's files" }),
    etag: z.string().openapi({ description: "the polyhead.json manifest's ETag, else adapter_config.json's" }),
    fusions: z.array(z.string()).openapi({ description: "fusion folders that fuse this adapter" }),
    supported: z.boolean(),
    error: z.string().optional(),
  })
  .openapi("AdapterSummary");

export const AdapterDetail = AdapterSummary.extend({
  config: z.record(z.string(), z.unknown()).openapi({ description: "the `config` of adapter_config.json, as saved" }),
  files: z.array(z.object({ name: z.string(), size: z.number().int(), etag: z.string() })),
}).openapi("AdapterDetail");

export const AdaptersResponse = z.object({ adapters: z.array(AdapterSummary) }).openapi("AdaptersResponse");

export const AdapterParams = z.object({
  // a tenant's adapter is "tenant/name", sent as tenant%2Fname
  name: QualifiedFolderName.openapi({ param: { name: "name", in: "path" }, example: "sentiment" }),
});

/** GET /v1/adapters/{tenant}/{name}: a tenant's adapter with the slash as it is. */
export const TenantAdapterParams = z.object({
  tenant: z.string().regex(NAME_RE, "a tenant name").openapi({ param: { name: "tenant", in: "path" }, example: "acme" }),
  name: z.string().regex(NAME_RE, "an adapter folder name").openapi({ param: { name: "name", in: "path" }, example: "sentiment" }),
});

// ---- operations ------------------------------------------------------------

export const ReadyResponse = z.object({ status: z.literal("ready"), models: z.array(z.string()) }).openapi("Ready");
