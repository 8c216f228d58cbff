import { bartLike } from "./seq2seq.ts";

/** Marian (opus-mt): post-LN blocks, sinusoidal positions computed (not stored), no embeddings' LayerNorm. */
export const marian = bartLike("marian", ["marian"], { preLN: false, positions: { kind: "sinusoidal" }, embeddingNorm: false, finalNorm: false });
