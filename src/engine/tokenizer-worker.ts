// Runs inside a worker thread (see tokenizer-pool.ts): tokenizing (and aligning tokens back to the text) is
// the largest share of a request's work on the HTTP thread, so it runs here and the HTTP thread stays free.
import { parentPort } from "node:worker_threads";
import { TextTokenizer } from "../formats/tokenizer.ts";
import type { TokenizeRequest, TokenizeResponse } from "./tokenizer-pool.ts";

/** Tokenizers by the pool's id, least recently used first: a few models' worth. */
const tokenizers = new Map<number, TextTokenizer>();
const KEEP = 8;

function handle(req: TokenizeRequest): TokenizeResponse {
  try {
    let tok = tokenizers.get(req.tokenizer);
    if (!tok && req.source) tok = TextTokenizer.fromJson(req.source.json, req.source.config, req.source.modelType);
    if (!tok) return { id: req.id, missing: true };
    tokenizers.delete(req.tokenizer);
    tokenizers.set(req.tokenizer, tok);
    while (tokenizers.size > KEEP) tokenizers.delete(tokenizers.keys().next().value!);
    return { id: req.id, encoded: tok.encodeBatch(req.inputs, req.maxLength, req.language) };
  } catch (e) {
    return { id: req.id, error: e instanceof Error ? e.message : String(e) };
  }
}

// requests come in batches (those of one turn of the HTTP thread's event loop) and are answered one batch at a time
parentPort!.on("message", (batch: TokenizeRequest[]) => parentPort!.postMessage(batch.map(handle)));
