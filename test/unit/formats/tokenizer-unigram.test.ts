import { test } from "node:test";
import assert from "node:assert/strict";
import { TextTokenizer } from "../../../src/formats/tokenizer.ts";

// DeBERTa-v3 checkpoints ship a SentencePiece Unigram tokenizer; the fast
// tokenizer.json that transformers' DebertaV2Converter writes has this
// shape: Strip + Precompiled (the model's character map) + a Replace of
// repeated spaces, Metaspace pre-tokenization, Unigram pieces with scores,
// and a [CLS] A [SEP] (B:1 [SEP]:1) template. A small one, made by hand, so
// that the segmentation can be worked out on paper.

const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
const piece = (t: string) => ({ SpecialToken: { id: t, type_id: 0 } });

function debertaV3Tokenizer(metaspace: Record<string, unknown>) {
  const pieces: [string, number][] = [
    ["[PAD]", 0], ["[CLS]", 0], ["[SEP]", 0], ["[UNK]", 0],
    ["▁hello", -1], ["▁world", -1], ["▁wor", -3], ["ld", -3], ["▁", -2],
    ["h", -5], ["e", -5], ["l", -5], ["o", -5], ["w", -5], ["r", -5], ["d", -5], [",", -2],
  ];
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(0, "[PAD]"), special(1, "[CLS]"), special(2, "[SEP]"), special(3, "[UNK]"), special(17, "[MASK]")],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Strip", strip_left: true, strip_right: true },
        // @huggingface/tokenizers does not read the map: it folds the text with NFKC (SentencePiece's nmt_nfkc
        // map, for common text), drops control characters and turns odd spaces into " "; a placeholder here
        { type: "Precompiled", precompiled_charsmap: "AA==" },
        { type: "Replace", pattern: { Regex: " {2,}" }, content: " " },
      ],
    },
    pre_tokenizer: { type: "Metaspace", replacement: "▁", ...metaspace },
    post_processor: {
      type: "TemplateProcessing",
      single: [piece("[CLS]"), { Sequence: { id: "A", type_id: 0 } }, piece("[SEP]")],
      pair: [piece("[CLS]"), { Sequence: { id: "A", type_id: 0 } }, piece("[SEP]"), { Sequence: { id: "B", type_id: 1 } }, { SpecialToken: { id: "[SEP]", type_id: 1 } }],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [1], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [2], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "Metaspace", replacement: "▁", ...metaspace },
    model: { type: "Unigram", unk_id: 3, vocab: pieces, byte_fallback: false },
  };
}

// tokenizers < 0.14 wrote add_prefix_space, later ones prepend_scheme
for (const [label, metaspace] of [
  ["add_prefix_space", { add_prefix_space: true }],
  ["prepend_scheme", { prepend_scheme: "always", split: true }],
] as const) {
  test(`a DeBERTa-v3 style SentencePiece Unigram tokenizer.json (${label}) loads and segments by the best score`, () => {
    const tok = TextTokenizer.fromJson(debertaV3Tokenizer(metaspace), { model_max_length: 512 }, "deberta-v2");
    const enc = tok.encodeBatch(["  hello   world ", "worldd,wor", ["hello", "world"], "\uff48\uff45\uff4c\uff4c\uff4f\u3000world"], 16);
    const row = <T>(x: T[][], r: number) => x[r].slice(0, enc.length[r]);
    // "▁world" (-1) beats "▁wor" + "ld" (-6); "d" and "," are pieces of their own
    assert.deepEqual(row(enc.tokens, 0), ["[CLS]", "▁hello", "▁world", "[SEP]"]);
    assert.deepEqual(row(enc.inputIds, 0), [1, 4, 5, 2]);
    assert.deepEqual(row(enc.tokens, 1), ["[CLS]", "▁world", "d", ",", "w", "o", "r", "[SEP]"]);
    assert.deepEqual(row(enc.inputIds, 2), [1, 4, 2, 5, 2]);
    assert.deepEqual(row(enc.tokenTypeIds, 2), [0, 0, 0, 1, 1]);
    // full-width letters and an ideographic space fold as the character map folds them
    assert.deepEqual(row(enc.inputIds, 3), [1, 4, 5, 2]);
    assert.equal(tok.numSpecialTokens(false), 2);
    // unknown characters map to [UNK], padding uses [PAD]
    const unk = tok.encodeBatch(["hello zebra", "hello"], 16);
    assert.ok(unk.inputIds[0].includes(3));
    assert.equal(unk.inputIds[1][unk.inputIds[1].length - 1], 0, "padded with [PAD]");
    assert.equal(tok.decode([1, 4, 5, 2]), "hello world");
  });
}
