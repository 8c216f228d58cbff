import { bartLike } from "./seq2seq.ts";

/** BART: post-LN blocks, learned positions offset by 2, a LayerNorm on the embeddings. */
export const bart = bartLike("bart", ["bart"], { preLN: false, positions: { kind: "learned", offset: 2 }, embeddingNorm: true, finalNorm: false });
