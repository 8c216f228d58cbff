import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import type { Translator } from "../../engine/seq2seq.ts";
import { problems, type ApiEnv } from "../context.ts";
import { jsonBody } from "../json-body.ts";
import { GenerateRequest, GenerateResponse, ScoreRequest, ScoreResponse } from "../schemas.ts";
import { checkComposition } from "../tenants.ts";

// POST /v1/generate and POST /v1/score: encoder-decoder models (translation).

export interface TranslationDeps {
  translator: Pick<Translator, "generate" | "score">;
}

const generateRoute = createRoute({
  method: "post",
  path: "/v1/generate",
  summary: "Generate (translate) with an encoder-decoder model: greedy or beam search, adapters per task",
  request: { body: { required: true, content: { "application/json": { schema: GenerateRequest } } } },
  responses: {
    200: {
      description: "Per-task outputs (or, with options.stream, text/event-stream: `token` events, then one `result` event)",
      content: { "application/json": { schema: GenerateResponse } },
    },
    ...problems,
  },
});

const scoreRoute = createRoute({
  method: "post",
  path: "/v1/score",
  summary: "Score targets given sources (teacher forcing): each target token's log-probability",
  request: { body: { required: true, content: { "application/json": { schema: ScoreRequest } } } },
  responses: { 200: { description: "Per-task, per-row log-probabilities", content: { "application/json": { schema: ScoreResponse } } }, ...problems },
});

export function translationRoutes(app: OpenAPIHono<ApiEnv>, { translator }: TranslationDeps): void {
  app.openapi(generateRoute, async (c) => {
    const body = c.req.valid("json");
    const tenant = c.get("tenant");
    if (tenant !== undefined) for (const t of body.tasks) checkComposition(t.adapters, tenant);
    const o = body.options;
    const input = {
      model: body.model,
      inputs: body.inputs,
      tasks: body.tasks.map((t) => ({ name: t.name, adapters: t.adapters })),
      options: { maxNewTokens: o.max_new_tokens, numBeams: o.num_beams, lengthPenalty: o.length_penalty, numReturnSequences: o.num_return_sequences, srcLang: o.src_lang, tgtLang: o.tgt_lang, returnFusionAttention: o.return_fusion_attention },
    };
    if (!o.stream) return jsonBody(await translator.generate(input, c.req.raw.signal)) as never;
    // Streamed: problems found before the first token still answer as problem+json.
    const events: { task: string; row: number; token_id: number }[] = [];
    let wake: (() => void) | null = null;
    let done = false;
    const result = translator.generate({ ...input, onToken: (e) => (events.push(e), wake?.()) }, c.req.raw.signal).finally(() => ((done = true), wake?.()));
    await Promise.race([result, new Promise<void>((r) => (wake = r))]);
    return streamSSE(c, async (stream) => {
      for (;;) {
        while (events.length) await stream.writeSSE({ event: "token", data: JSON.stringify(events.shift()) });
        if (done) break;
        await new Promise<void>((r) => (wake = r));
      }
      try {
        await stream.writeSSE({ event: "result", data: JSON.stringify(await result) });
      } catch (e) {
        await stream.writeSSE({ event: "error", data: JSON.stringify({ detail: (e as Error).message }) });
      }
    }) as never;
  });

  app.openapi(scoreRoute, async (c) => {
    const body = c.req.valid("json");
    const tenant = c.get("tenant");
    if (tenant !== undefined) for (const t of body.tasks) checkComposition(t.adapters, tenant);
    const out = await translator.score({
      model: body.model,
      inputs: body.inputs,
      targets: body.targets,
      tasks: body.tasks.map((t) => ({ name: t.name, adapters: t.adapters })),
      options: { srcLang: body.options.src_lang, tgtLang: body.options.tgt_lang, returnFusionAttention: body.options.return_fusion_attention },
    }, c.req.raw.signal);
    return jsonBody(out) as never;
  });
}
