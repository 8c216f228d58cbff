import { bartLike } from "./seq2seq.ts";

/** mBART: pre-LN blocks with a final LayerNorm per stack, learned positions offset by 2, embeddings' LayerNorm; language codes in the tokenizer. */
export const mbart = bartLike("mbart", ["mbart"], { preLN: true, positions: { kind: "learned", offset: 2 }, embeddingNorm: true, finalNorm: true });
