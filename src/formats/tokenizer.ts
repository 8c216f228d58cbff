import { Tokenizer } from "@huggingface/tokenizers";

export interface Encoded {
  inputIds: number[][];
  attentionMask: number[][];
  tokenTypeIds: number[][];
  /** [start, end) UTF-16 offsets into the segment's own text (segment A or B, see `segments`); [0, 0] for specials and padding. */
  offsets: [number, number][][];
  /** 0 for segment A, 1 for segment B, -1 for special tokens and padding. */
  segments: number[][];
  tokens: string[][];
  /** Real (non-pad) tokens per row. */
  length: number[];
  /** Rows whose text (or either text of a pair) was cut to fit the maximum length (absent: none was). */
  truncated?: boolean[];
}

type Piece = { kind: "special"; ids: number[]; tokens: string[]; typeId: number } | { kind: "seq"; seq: 0 | 1; typeId: number };
interface Template { single: Piece[]; pair: Piece[] }
interface Row { ids: number[]; tokens: string[]; offsets: [number, number][] }

// Model families trained with a single token type: their post-processors may still emit 1s for segment B.
/**
 * T5's tokenizer classes count only eos, unk, pad and the extra ids (<extra_id_N>, or
 * tokenizer_config.json's additional_special_tokens) as special: decoding skips those and keeps any other
 * added token, whatever tokenizer.json marks.
 */
const T5_MODELS = new Set(["t5", "mt5"]);

const ONE_TYPE_MODELS = new Set(["roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "longformer", "data2vec-text", "bart", "mbart", "mpnet", "distilbert"]);

/**
 * HF tokenizers' "longest_first" rule for pairs (utils/truncation.rs): the shorter side keeps all its tokens
 * if the longer one can absorb the cut; otherwise both are cut to budget/2 and the originally longer side
 * (the second one on ties) keeps the odd token.
 */
export function truncatePair(n1: number, n2: number, budget: number): [number, number] {
  if (n1 + n2 <= budget) return [n1, n2];
  const swap = n1 > n2;
  let [a, b] = swap ? [n2, n1] : [n1, n2];
  b = a > budget ? a : Math.max(a, budget - a);
  if (a + b > budget) { a = Math.floor(budget / 2); b = a + (budget % 2); }
  return swap ? [b, a] : [a, b];
}

/** mBART-50-style language codes (en_XX, de_DE, ...). */
export const LANGUAGE_CODE = /^[a-z]{2,3}_[A-Z]{2}$/;

/** What a TextTokenizer is made from: enough to make the same tokenizer in a worker thread. */
export interface TokenizerSource {
  json: unknown;
  config?: unknown;
  modelType?: string;
}

export class TextTokenizer {
  /** set by fromJson */
  source!: TokenizerSource;
  private readonly addedTokens: Set<string>;
  private readonly byteLevel: boolean;
  private readonly subwordPrefix: string | undefined;
  private readonly wordSuffix: string | undefined;

  private constructor(
    private readonly tok: Tokenizer,
    private readonly template: Template,
    private readonly padId: number,
    private readonly padToken: string,
    private readonly zeroTypes: boolean,
    json: any,
    /** the ids decode skips, where the model's tokenizer class decides them (T5); else tokenizer.json's special tokens */
    private readonly skipped: Set<number> | null = null,
  ) {
    this.addedTokens = new Set((json.added_tokens ?? []).map((t: { content: string }) => t.content));
    this.byteLevel = JSON.stringify([json.pre_tokenizer, json.decoder]).includes('"ByteLevel"');
    this.subwordPrefix = json.model?.continuing_subword_prefix ?? (json.model?.type === "WordPiece" ? "##" : undefined);
    this.wordSuffix = json.model?.end_of_word_suffix ?? undefined;
  }

  static fromJson(tokenizerJson: unknown, tokenizerConfig?: unknown, modelType?: string): TextTokenizer {
    const json = tokenizerJson as any;
    const config = (tokenizerConfig ?? {}) as Record<string, unknown>;
    const tok = new Tokenizer(json, config);
    const template = templateOf(json.post_processor, tok);
    const padToken = padTokenOf(json, config);
    const padId = (json.padding?.pad_id as number | undefined) ?? (padToken !== undefined ? tok.token_to_id(padToken) : undefined) ?? 0;
    const zeroTypes = ONE_TYPE_MODELS.has(modelType ?? "") || hasProcessor(json.post_processor, "RobertaProcessing");
    const made = new TextTokenizer(tok, template, padId, padToken ?? tok.id_to_token(padId) ?? "", zeroTypes, json, T5_MODELS.has(modelType ?? "") ? t5Specials(json, config, tok) : null);
    made.source = { json: tokenizerJson, config: tokenizerConfig, modelType };
    return made;
  }

  /** Special tokens added to a single text / a pair (what truncation must leave room for). */
  numSpecialTokens(pair: boolean): number {
    return (pair ? this.template.pair : this.template.single).reduce((n, p) => n + (p.kind === "special" ? p.ids.length : 0), 0);
  }

  /**
   * Language codes the vocabulary holds as added tokens (mBART-50 style:
   * en_XX, de_DE, ...); empty for models without them.
   */
  languages(): string[] {
    return [...this.addedTokens].filter((t) => LANGUAGE_CODE.test(t));
  }

  /** The language code the template puts before every text (mBART's saved en_XX), if any. */
  templateLanguage(): string | null {
    for (const p of this.template.single) if (p.kind === "special" && LANGUAGE_CODE.test(p.tokens[0])) return p.tokens[0];
    return null;
  }

  tokenId(token: string): number | undefined {
    return this.tok.token_to_id(token) ?? undefined;
  }

  /** The vocabulary's string of an id (e.g. "Ġfilm", "▁Film", "</s>"); "" when the id is unknown. */
  tokenOf(id: number): string {
    return this.tok.id_to_token(id) ?? "";
  }

  /** Text of ids, without special tokens. */
  decode(ids: number[]): string {
    if (this.skipped) {
      const kept = ids.filter((id) => !this.skipped!.has(id));
      // the tokenizers binding rejects an empty list
      return kept.length ? this.tok.decode(kept, { skip_special_tokens: false }) : "";
    }
    return this.tok.decode(ids, { skip_special_tokens: true });
  }

  /** `language` replaces the template's language code (mBART-50: the source's or the target's). */
  encodeBatch(inputs: (string | [string, string])[], maxLength: number, language?: string): Encoded {
    const rows = inputs.map((input) => this.encodeRow(input, maxLength));
    const saved = this.templateLanguage();
    if (language && saved && language !== saved) {
      const from = this.tokenId(saved);
      const to = this.tokenId(language);
      if (to === undefined) throw new Error(`internal: language ${language} has no token`);
      for (const r of rows) r.ids = r.ids.map((id, i) => (id === from && r.segments[i] === -1 ? to : id));
      for (const r of rows) r.tokens = r.tokens.map((t, i) => (t === saved && r.segments[i] === -1 ? language : t));
    }
    const width = Math.max(0, ...rows.map((r) => r.ids.length));
    const out: Encoded = { inputIds: [], attentionMask: [], tokenTypeIds: [], offsets: [], segments: [], tokens: [], length: [], truncated: [] };
    for (const r of rows) {
      const pad = width - r.ids.length;
      out.inputIds.push([...r.ids, ...Array(pad).fill(this.padId)]);
      out.attentionMask.push([...Array(r.ids.length).fill(1), ...Array(pad).fill(0)]);
      out.tokenTypeIds.push([...r.types, ...Array(pad).fill(0)]);
      out.offsets.push([...r.offsets, ...Array.from({ length: pad }, (): [number, number] => [0, 0])]);
      out.segments.push([...r.segments, ...Array(pad).fill(-1)]);
      out.tokens.push([...r.tokens, ...Array(pad).fill(this.padToken)]);
      out.length.push(r.ids.length);
      out.truncated!.push(r.truncated);
    }
    return out;
  }

  private encodeRow(input: string | [string, string], maxLength: number) {
    const budget = Math.max(0, maxLength - this.numSpecialTokens(typeof input !== "string"));
    // A single text keeps at most `budget` tokens, and every word is at least one token: the words past
    // budget + 1 cannot change the tokens kept, so they are not tokenized (20,000 characters cost ~200 ms).
    // Pairs are cut by their full lengths (longest_first), so they are tokenized whole.
    const texts = typeof input === "string" ? [wordsUpTo(input, budget + 1)] : input;
    const segs = texts.map((t) => this.encodeText(t));
    const keep = segs.length === 2 ? truncatePair(segs[0].ids.length, segs[1].ids.length, budget) : [Math.min(segs[0].ids.length, budget)];
    const row = { ids: [] as number[], types: [] as number[], tokens: [] as string[], offsets: [] as [number, number][], segments: [] as number[], truncated: segs.some((s, i) => keep[i] < s.ids.length) };
    for (const p of segs.length === 2 ? this.template.pair : this.template.single) {
      if (p.kind === "special") {
        row.ids.push(...p.ids);
        row.tokens.push(...p.tokens);
        for (const _ of p.ids) { row.types.push(p.typeId); row.offsets.push([0, 0]); row.segments.push(-1); }
      } else {
        const s = segs[p.seq], n = keep[p.seq];
        row.ids.push(...s.ids.slice(0, n));
        row.tokens.push(...s.tokens.slice(0, n));
        row.offsets.push(...s.offsets.slice(0, n));
        for (let i = 0; i < n; i++) { row.types.push(p.typeId); row.segments.push(p.seq); }
      }
    }
    if (this.zeroTypes) row.types.fill(0);
    return row;
  }

  private encodeText(text: string): Row {
    const { ids, tokens } = this.tok.encode(text, { add_special_tokens: false });
    return { ids, tokens, offsets: this.align(text, tokens) };
  }

  /**
   * The JS tokenizer reports no offsets, so tokens are matched back against the text: the text is normalized
   * one code point at a time (keeping the source span of every output byte) and each token's surface bytes are
   * looked up from a cursor, skipping whitespace. Byte-level tokens that split a character both get its span.
   */
  private align(text: string, tokens: string[]): [number, number][] {
    const bytes: number[] = [], src: [number, number][] = [], skip: boolean[] = [], byteAt: number[] = [];
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      byteAt[i] = bytes.length;
      const norm = this.tok.normalizer ? this.tok.normalizer.normalize(ch) : ch;
      for (const c of norm) {
        const space = /[\s\u2581]/u.test(c);
        for (const b of utf8.encode(c)) { bytes.push(b); src.push([i, i + ch.length]); skip.push(space); }
      }
      i += ch.length;
    }
    byteAt[text.length] = bytes.length;

    const matchAt = (pos: number, s: Uint8Array) => pos + s.length <= bytes.length && s.every((b, k) => bytes[pos + k] === b);
    const find = (from: number, s: Uint8Array) => { for (let p = from; p + s.length <= bytes.length; p++) if (matchAt(p, s)) return p; return -1; };
    const span = (a: number, b: number): [number, number] => (b > a ? [src[a][0], src[b - 1][1]] : a < src.length ? [src[a][0], src[a][0]] : [text.length, text.length]);
    const unk = this.tok.model?.unk_token;

    const out: [number, number][] = [];
    let cur = 0;
    for (let t = 0; t < tokens.length; t++) {
      while (cur < bytes.length && skip[cur]) cur++;
      const tok = tokens[t];
      if (this.addedTokens.has(tok) && tok !== unk) {
        // added tokens are split off before normalization, so look for them in the raw text
        const i = text.indexOf(tok, cur < src.length ? src[cur][0] : text.length);
        if (i >= 0) { out.push([i, i + tok.length]); cur = byteAt[i + tok.length] ?? bytes.length; continue; }
      }
      const s = this.surface(tok);
      if (s.length === 0) { out.push(span(cur, cur)); continue; }
      let start = matchAt(cur, s) ? cur : -1;
      let end = start + s.length;
      if (start < 0 && tok === unk) {
        // [UNK] stands for a whole pre-token: it ends where the next token's text begins (or at whitespace)
        const next = t + 1 < tokens.length ? this.surface(tokens[t + 1]) : undefined;
        const at = next && next.length ? find(cur + 1, next) : -1;
        end = at >= 0 ? at : cur;
        if (at < 0) while (end < bytes.length && !skip[end]) end++;
        while (end > cur && skip[end - 1]) end--;
        start = cur;
        end = Math.max(end, Math.min(cur + 1, bytes.length));
      } else if (start < 0) {
        start = find(cur, s);
        end = start + s.length;
      }
      if (start < 0) { out.push(span(cur, cur)); continue; }
      out.push(span(start, end));
      cur = end;
    }
    return out;
  }

  /** The normalized text a token stands for, as UTF-8 bytes, without surrounding whitespace. */
  private surface(token: string): Uint8Array {
    let s = token;
    if (this.byteLevel) {
      const b = Array.from(s, (c) => BYTE_OF.get(c) ?? 0x3f);
      let i = 0, j = b.length;
      while (i < j && isSpaceByte(b[i])) i++;
      while (j > i && isSpaceByte(b[j - 1])) j--;
      return Uint8Array.from(b.slice(i, j));
    }
    if (this.subwordPrefix && s.startsWith(this.subwordPrefix) && s.length > this.subwordPrefix.length) s = s.slice(this.subwordPrefix.length);
    if (this.wordSuffix && s.endsWith(this.wordSuffix) && s.length > this.wordSuffix.length) s = s.slice(0, -this.wordSuffix.length);
    return utf8.encode(s.replace(/\u2581/g, " ").trim());
  }
}

const utf8 = new TextEncoder();

/**
 * The text up to the space after its n-th space-separated word (all of it when it has fewer). Every
 * pre-tokenizer splits at a plain space (WordPiece, byte-level BPE and Metaspace alike; not all split at
 * other whitespace), so the tokens of this prefix are the text's first ones.
 */
export function wordsUpTo(text: string, n: number): string {
  let words = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const space = text.charCodeAt(i) === 32;
    if (space && inWord && ++words >= n) return text.slice(0, i);
    inWord = !space;
  }
  return text;
}
const isSpaceByte = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/** Inverse of GPT-2's bytes_to_unicode table used by byte-level BPE. */
const BYTE_OF = (() => {
  const m = new Map<string, number>();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    m.set(String.fromCodePoint(printable ? b : 256 + n++), b);
  }
  return m;
})();

function hasProcessor(pp: any, type: string): boolean {
  return pp?.type === type || (pp?.type === "Sequence" && (pp.processors ?? []).some((p: any) => hasProcessor(p, type)));
}

function templateOf(pp: any, tok: Tokenizer): Template {
  if (!pp) return { single: [{ kind: "seq", seq: 0, typeId: 0 }], pair: [{ kind: "seq", seq: 0, typeId: 0 }, { kind: "seq", seq: 1, typeId: 1 }] };
  if (pp.type === "Sequence") {
    const inner = (pp.processors ?? []).find((p: any) => p.type !== "ByteLevel");
    return templateOf(inner ?? null, tok);
  }
  const special = (tokens: string[], ids: number[], typeId: number): Piece => ({ kind: "special", tokens, ids, typeId });
  const A: Piece = { kind: "seq", seq: 0, typeId: 0 };
  if (pp.type === "BertProcessing" || pp.type === "RobertaProcessing") {
    const [cls, clsId] = pp.cls as [string, number];
    const [sep, sepId] = pp.sep as [string, number];
    const CLS = special([cls], [clsId], 0), SEP = special([sep], [sepId], 0), SEP1 = special([sep], [sepId], 1);
    const single = [CLS, A, SEP];
    return pp.type === "BertProcessing"
      ? { single, pair: [CLS, A, SEP, { kind: "seq", seq: 1, typeId: 1 }, SEP1] }
      : { single, pair: [CLS, A, SEP, SEP1, { kind: "seq", seq: 1, typeId: 1 }, SEP1] };
  }
  if (pp.type === "TemplateProcessing") {
    const convert = (items: any[]): Piece[] =>
      items.map((item) => {
        if ("Sequence" in item) return { kind: "seq", seq: item.Sequence.id === "B" ? 1 : 0, typeId: item.Sequence.type_id ?? 0 };
        const name = item.SpecialToken.id as string;
        const def = pp.special_tokens?.[name];
        const ids = (def?.ids as number[] | undefined) ?? [tok.token_to_id(name) ?? 0];
        return special((def?.tokens as string[] | undefined) ?? [name], ids, item.SpecialToken.type_id ?? 0);
      });
    return { single: convert(pp.single), pair: convert(pp.pair) };
  }
  throw new Error(`unsupported tokenizer post_processor ${pp.type}`);
}

function padTokenOf(json: any, config: Record<string, unknown>): string | undefined {
  if (typeof json.padding?.pad_token === "string") return json.padding.pad_token;
  const p = config.pad_token as string | { content?: string } | undefined;
  if (typeof p === "string") return p;
  if (p && typeof p.content === "string") return p.content;
  const added: string[] = (json.added_tokens ?? []).map((t: { content: string }) => t.content);
  return added.find((t) => t === "[PAD]" || t === "<pad>");
}

/** T5Tokenizer's special tokens: eos, unk, pad (as tokenizer_config.json names them, else T5's defaults) and the extra ids. */
function t5Specials(json: any, config: Record<string, unknown>, tok: Tokenizer): Set<number> {
  const name = (v: unknown, fallback: string) => (typeof v === "string" ? v : typeof (v as { content?: unknown } | null)?.content === "string" ? (v as { content: string }).content : fallback);
  const extra = Array.isArray(config.additional_special_tokens) ? config.additional_special_tokens.map((t) => name(t, "")) : [];
  const added = ((json.added_tokens ?? []) as { content: string }[]).map((t) => t.content).filter((t) => /^<extra_id_\d+>$/.test(t));
  const tokens = [name(config.eos_token, "</s>"), name(config.unk_token, "<unk>"), name(config.pad_token, "<pad>"), ...extra, ...added];
  return new Set(tokens.map((t) => tok.token_to_id(t)).filter((id): id is number => typeof id === "number"));
}
