import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { TextTokenizer, truncatePair, wordsUpTo } from "../../../src/formats/tokenizer.ts";
import { ADAPTERHUB_FIXTURES, ADAPTERHUB_STORE, LOCAL_FIXTURES, fixtureStores } from "../../support/paths.ts";

interface Case { id: string; model: string; inputs: (string | [string, string])[]; max_length: number; tokenized: { input_ids: number[][]; attention_mask: number[][]; token_type_ids?: number[][] } }

const readJson = (p: string) => JSON.parse(fs.readFileSync(p, "utf8"));
const loaded = new Map<string, TextTokenizer>();
function load(modelDir: string): TextTokenizer {
  if (!loaded.has(modelDir)) {
    const opt = (f: string) => (fs.existsSync(path.join(modelDir, f)) ? readJson(path.join(modelDir, f)) : undefined);
    loaded.set(modelDir, TextTokenizer.fromJson(readJson(path.join(modelDir, "tokenizer.json")), opt("tokenizer_config.json"), opt("config.json")?.model_type));
  }
  return loaded.get(modelDir)!;
}

function checkStore(store: string) {
  const cases: Case[] = (readJson(path.join(store, "cases.json")) as (Case & { kind?: string })[]).filter((c) => !c.kind);
  if (cases.length === 0) return; // a seq2seq store: its tokenizations are checked with its own cases
  for (const c of cases) {
    const enc = load(path.join(store, "models", c.model)).encodeBatch(c.inputs, c.max_length);
    assert.deepEqual(enc.inputIds, c.tokenized.input_ids, `${c.id}: input_ids`);
    assert.deepEqual(enc.attentionMask, c.tokenized.attention_mask, `${c.id}: attention_mask`);
    if (c.tokenized.token_type_ids) assert.deepEqual(enc.tokenTypeIds, c.tokenized.token_type_ids, `${c.id}: token_type_ids`);
    assert.deepEqual(enc.length, c.tokenized.attention_mask.map((m) => m.reduce((a, b) => a + b, 0)));
  }
}

const bert = () => load(path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny"));

test("reproduces the AdapterHub fixture tokenizations exactly", () => checkStore(ADAPTERHUB_FIXTURES));

test("reproduces the generated fixture stores (test/fixtures/*/cases.json)", (t) => {
  if (!fs.existsSync(LOCAL_FIXTURES)) return t.skip("no test/fixtures directory");
  const stores = fixtureStores()
    .filter((s) => s.name !== ADAPTERHUB_STORE && fs.existsSync(path.join(s.dir, "cases.json")))
    .map((s) => s.dir);
  for (const store of stores) checkStore(store);
});

test("truncatePair follows HF longest_first", () => {
  // the table from huggingface/tokenizers utils/truncation.rs (budget 7; lengths 0, 2, 4, 8)
  const lens = [0, 2, 4, 8];
  const expected = [
    [[0, 0], [0, 2], [0, 4], [0, 7]],
    [[2, 0], [2, 2], [2, 4], [2, 5]],
    [[4, 0], [4, 2], [3, 4], [3, 4]],
    [[7, 0], [5, 2], [4, 3], [3, 4]],
  ];
  lens.forEach((a, i) => lens.forEach((b, j) => assert.deepEqual(truncatePair(a, b, 7), expected[i][j], `${a},${b}`)));
});

test("pair longest_first truncation keeps the special tokens", () => {
  const tok = bert();
  const a = "I really did not like the acting, it was boring and too long.";
  const b = "Paris is nice.";
  const full = tok.encodeBatch([a, b], 512);
  assert.deepEqual(full.length, [17, 9], "bert-tiny splits A into 15 and B into 7 content tokens");
  // max 20: only the longer A is cut; 12 and 13: both are cut, the longer A keeps the odd token
  for (const [max, ka, kb] of [[20, 10, 7], [13, 5, 5], [12, 5, 4]]) {
    const enc = tok.encodeBatch([[a, b]], max);
    assert.equal(enc.length[0], max);
    assert.deepEqual(enc.inputIds[0], [2, ...full.inputIds[0].slice(1, 1 + ka), 3, ...full.inputIds[1].slice(1, 1 + kb), 3]);
    assert.deepEqual(enc.tokenTypeIds[0], [...Array(ka + 2).fill(0), ...Array(kb + 1).fill(1)]);
    assert.deepEqual(enc.segments[0], [-1, ...Array(ka).fill(0), -1, ...Array(kb).fill(1), -1]);
  }
  // equal lengths: the second sequence keeps the odd token
  assert.deepEqual(tok.encodeBatch([[b, b]], 3 + 9).tokens[0].filter((_, i, r) => i > r.indexOf("[SEP]")).length, 5 + 1);
});

test("a too-long single text keeps its first tokens and [SEP]", () => {
  const tok = bert();
  const text = "I really did not like the acting, it was boring and too long. Paris is a beautiful city in France.";
  const full = tok.encodeBatch([text], 512);
  const enc = tok.encodeBatch([text], 10);
  assert.equal(enc.length[0], 10);
  assert.deepEqual(enc.inputIds[0], [...full.inputIds[0].slice(0, 9), 3]);
  assert.deepEqual(enc.attentionMask[0], Array(10).fill(1));
});

test("offsets map tokens back to the original substrings", () => {
  const tok = bert();
  const texts = ["Unbelievably, the café served cheapest food!!", "John played music in London yesterday 适配器", "  WEATHER:\tcold\n rain "];
  const enc = tok.encodeBatch(texts, 64);
  texts.forEach((text, r) => {
    for (let i = 0; i < enc.length[r]; i++) {
      const [s, e] = enc.offsets[r][i];
      if (enc.segments[r][i] < 0) { assert.deepEqual([s, e], [0, 0]); continue; }
      assert.ok(s < e && e <= text.length, `token ${enc.tokens[r][i]} has span ${s},${e}`);
      const piece = text.slice(s, e).toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "");
      if (enc.tokens[r][i] !== "[UNK]") assert.equal(piece, enc.tokens[r][i].replace(/^##/, ""));
      else assert.equal(text.slice(s, e).trim(), text.slice(s, e));
    }
  });
  const spans = (r: number) => enc.offsets[r].slice(1, enc.length[r] - 1).map(([s, e]) => texts[r].slice(s, e));
  assert.equal(spans(0).join(""), "Unbelievably,thecaféservedcheapestfood!!");
  assert.deepEqual(spans(1).slice(-3), ["适", "配", "器"]);
  assert.equal(enc.offsets[2][1][0], 2, "leading whitespace is skipped");

  // for pairs, segment-B offsets index into text B
  const b = "Anna wrote the book.";
  const pair = tok.encodeBatch([["Who wrote it?", b]], 64);
  const bSpans = pair.offsets[0].filter((_, i) => pair.segments[0][i] === 1).map(([s, e]) => b.slice(s, e));
  assert.equal(bSpans.join(""), b.replaceAll(" ", ""));
});

test("empty strings encode to the special tokens alone", () => {
  const tok = bert();
  const enc = tok.encodeBatch(["", "hello"], 16);
  assert.deepEqual(enc.inputIds[0].slice(0, 2), [2, 3]);
  assert.equal(enc.length[0], 2);
  assert.deepEqual(enc.attentionMask[0], [1, 1, ...Array(enc.inputIds[0].length - 2).fill(0)]);
  const pair = tok.encodeBatch([["", ""]], 16);
  assert.deepEqual(pair.inputIds[0], [2, 3, 3]);
  assert.deepEqual(pair.tokenTypeIds[0], [0, 0, 1]);
  assert.deepEqual(tok.encodeBatch([], 16).inputIds, []);
});

test("byte-level BPE with RobertaProcessing: <s> a </s></s> b </s>, zero type ids, byte offsets", () => {
  const bytes = [...Array(256).keys()].filter((b) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff));
  let n = 0;
  const chars = [...Array(256).keys()].map((b) => String.fromCodePoint(bytes.includes(b) ? b : 256 + n++));
  const vocab: Record<string, number> = { "<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3 };
  chars.forEach((c) => (vocab[c] = Object.keys(vocab).length));
  const merges = [["h", "e"], ["l", "l"], ["he", "ll"], ["hell", "o"], ["Ġ", "w"]];
  for (const [a, b] of merges) vocab[a + b] = Object.keys(vocab).length;
  const special = (content: string, id: number) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const json = {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [special("<s>", 0), special("<pad>", 1), special("</s>", 2), special("<unk>", 3)],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "RobertaProcessing", sep: ["</s>", 2], cls: ["<s>", 0], trim_offsets: true, add_prefix_space: false },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: merges.map((m) => m.join(" ")) },
  };
  const tok = TextTokenizer.fromJson(json, { pad_token: "<pad>" }, "roberta");
  const a = "hello wé 👍";
  const enc = tok.encodeBatch([[a, "hello"], "hi"], 64);
  const row = enc.tokens[0];
  assert.equal(row[0], "<s>");
  assert.deepEqual(enc.tokenTypeIds[0], Array(row.length).fill(0));
  const sepAt = row.indexOf("</s>");
  assert.deepEqual(row.slice(sepAt, sepAt + 2), ["</s>", "</s>"]);
  assert.deepEqual(row.slice(-2), ["hello", "</s>"]);
  assert.equal(enc.inputIds[1].at(-1), 1, "padded with <pad>");
  const spans = enc.offsets[0].slice(1, sepAt).map(([s, e]) => a.slice(s, e));
  // "é" and "👍" are split across byte tokens: every piece maps to the whole character; a lone "Ġ" gets an empty span
  assert.deepEqual([...new Set(spans)], ["hello", "w", "é", "", "👍"]);
  assert.deepEqual(tok.encodeBatch([[a, "hello"]], 6).tokens[0], ["<s>", "hello", "</s>", "</s>", "hello", "</s>"]);
});

test("a long single text is tokenized only as far as its kept tokens reach: the same ids and offsets as the whole text", () => {
  assert.equal(wordsUpTo("a bb  ccc d", 2), "a bb");
  assert.equal(wordsUpTo("  a bb", 5), "  a bb");
  assert.equal(wordsUpTo("one", 1), "one");
  // every store's tokenizer (WordPiece, byte-level BPE, SentencePiece): the first tokens of a long text do not
  // depend on the words past the cut
  const text = "Hello,  world! Ünïcode wörds and punctuation; ".repeat(40) + "tail";
  for (const { dir } of fixtureStores()) {
    for (const model of fs.readdirSync(path.join(dir, "models"))) {
      const tok = load(path.join(dir, "models", model));
      for (const max of [8, 33]) {
        const cut = tok.encodeBatch([text], max);
        const whole = tok.encodeBatch([text + " x"], 100_000);
        const n = cut.length[0];
        const specials = tok.numSpecialTokens(false);
        assert.equal(n, max, `${model}: ${max} tokens kept`);
        const body = (e: typeof cut, k: number) => ({ ids: e.inputIds[0].slice(0, k), offsets: e.offsets[0].slice(0, k) });
        // the kept text tokens are the whole text's first ones (the specials around them aside)
        const lead = cut.segments[0].indexOf(0);
        const end = n - (specials - lead);
        assert.deepEqual(body(cut, n).ids.slice(lead, end), body(whole, n).ids.slice(lead, end), `${model} @${max}`);
        assert.deepEqual(body(cut, n).offsets.slice(lead, end), body(whole, n).offsets.slice(lead, end), `${model} @${max}: offsets`);
      }
    }
  }
});
