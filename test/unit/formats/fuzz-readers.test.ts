// Property-based tests over everything polyhead reads from a store: weight
// files (safetensors, torch .bin), the JSON configs and the tokenizer. The
// inputs are hostile or broken; the readers must answer every one of them
// quickly, with a value that is consistent or with an Error that says why.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import { readTorchBin } from "../../../src/formats/torch-bin.ts";
import { readStateDict } from "../../../src/formats/state-dict.ts";
import { numElements } from "../../../src/formats/tensor.ts";
import type { StateDict } from "../../../src/core/tensor.ts";
import { FormatError } from "../../../src/core/errors.ts";
import { parseAdapterConfig } from "../../../src/methods/index.ts";
import { parseFusionConfig } from "../../../src/methods/fusion.ts";
import { parseHeadConfig } from "../../../src/heads/index.ts";
import { parseModelConfig } from "../../../src/families/index.ts";
import { TextTokenizer } from "../../../src/formats/tokenizer.ts";
import { ADAPTERHUB_FIXTURES } from "../../support/paths.ts";

// Fixed seed: CI sees the same inputs on every run. To search harder locally:
// POLYHEAD_FUZZ_SEED=<n> POLYHEAD_FUZZ_SCALE=<multiplier> npx tsx --test test/unit/formats/fuzz-readers.test.ts
const SCALE = Number(process.env.POLYHEAD_FUZZ_SCALE ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
fc.configureGlobal({ seed: Number(process.env.POLYHEAD_FUZZ_SEED ?? 0x9011ead), numRuns: runs(150), endOnFailure: true });

const TIME_LIMIT_MS = 500;
const fixture = (...p: string[]) => path.join(ADAPTERHUB_FIXTURES, ...p);
const bytesOf = (p: string) => new Uint8Array(readFileSync(p));
const jsonOf = (p: string) => JSON.parse(readFileSync(p, "utf8"));

const SAFETENSORS = ["sentiment", "lora_sent", "ia3_topic"].map((a) => bytesOf(fixture("adapters", a, "adapter.safetensors")));
const TORCH_BINS = ["sentiment", "lora_sent", "ia3_topic"].map((a) => bytesOf(fixture("adapters", a, "pytorch_adapter.bin")));

/** Runs `fn` under the time bound; returns its value, or the Error it threw (anything else thrown fails). */
function timed<T>(what: string, fn: () => T): { value?: T; error?: Error } {
  const t0 = performance.now();
  let out: { value?: T; error?: Error };
  try {
    out = { value: fn() };
  } catch (e) {
    assert.ok(e instanceof Error, `${what}: threw a non-Error ${String(e)}`);
    assert.ok(e.message.length > 0, `${what}: threw an Error without a message`);
    out = { error: e };
  }
  const ms = performance.now() - t0;
  assert.ok(ms < TIME_LIMIT_MS, `${what}: took ${ms.toFixed(0)} ms`);
  return out;
}

/** A weight reader's answer: a FormatError, or tensors whose data agree with their shapes. */
function checkWeights(what: string, fn: () => StateDict): void {
  const { value, error } = timed(what, fn);
  if (error) {
    assert.ok(error instanceof FormatError, `${what}: expected a FormatError, got ${error.name}: ${error.message}`);
    return;
  }
  assert.ok(value instanceof Map);
  for (const [name, t] of value) {
    assert.equal(typeof name, "string");
    assert.ok(Array.isArray(t.shape) && t.shape.every((d) => Number.isSafeInteger(d) && d >= 0), `${what}: ${name} has shape ${JSON.stringify(t.shape)}`);
    assert.ok(t.data instanceof Float32Array, `${what}: ${name} data is not a Float32Array`);
    assert.equal(t.data.length, numElements(t.shape), `${what}: ${name} has shape [${t.shape}] but ${t.data.length} values`);
  }
}

// ---- byte-level mutations of real files ----

type Mutation =
  | { kind: "flip"; at: number; value: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; count: number };

const position = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: position.map((x) => x), value: fc.integer({ min: 0, max: 255 }) }).map((m) => m as Mutation),
  fc.record({ kind: fc.constant("truncate" as const), at: position }).map((m) => m as Mutation),
  fc.record({ kind: fc.constant("insert" as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }).map((m) => m as Mutation),
  fc.record({ kind: fc.constant("delete" as const), at: position, count: fc.integer({ min: 1, max: 16 }) }).map((m) => m as Mutation),
);

function mutate(src: Uint8Array, muts: Mutation[], headerBias: boolean): Uint8Array {
  let b = src.slice();
  for (const m of muts) {
    // Half the time aim at the first bytes (length prefix, JSON header, zip local header), where the parsing is.
    const span = headerBias ? Math.min(b.length, 1100) : b.length;
    const at = Math.floor(m.at * (span + 1));
    if (m.kind === "flip") {
      if (b.length) b[Math.min(at, b.length - 1)] = m.value;
    } else if (m.kind === "truncate") {
      b = b.slice(0, at);
    } else if (m.kind === "insert") {
      const out = new Uint8Array(b.length + m.bytes.length);
      out.set(b.subarray(0, at));
      out.set(m.bytes, at);
      out.set(b.subarray(at), at + m.bytes.length);
      b = out;
    } else {
      b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + m.count)]);
    }
  }
  return b;
}

const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });

test("safetensors: byte mutations of real files are refused or read consistently", () => {
  fc.assert(
    fc.property(fc.constantFrom(...SAFETENSORS), mutations, fc.boolean(), (src, muts, bias) => {
      const b = mutate(src, muts, bias);
      checkWeights("readSafetensors", () => readSafetensors(b, "fuzz.safetensors"));
      checkWeights("readStateDict", () => readStateDict(b, "fuzz.safetensors"));
    }),
    { numRuns: runs(400) },
  );
});

// ---- header-level mutations: the JSON still parses, its contents lie ----

function withHeader(src: Uint8Array, edit: (h: Record<string, any>) => void): Uint8Array {
  const len = Number(new DataView(src.buffer, src.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(src.subarray(8, 8 + len)));
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + (src.length - 8 - len));
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(src.subarray(8 + len), 8 + json.length);
  return out;
}

const dim = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(-1, 2 ** 31, 2 ** 53, 1e300, 0.5, Number.MAX_SAFE_INTEGER));
const offset = fc.oneof(fc.integer({ min: 0, max: 4096 }), fc.constantFrom(-8, 2 ** 32, 2 ** 53, 1.5, Number.MAX_SAFE_INTEGER));
const headerEdit = fc.oneof(
  fc.record({ field: fc.constant("dtype"), value: fc.oneof(fc.constantFrom("F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "f32", ""), fc.jsonValue()) }),
  fc.record({ field: fc.constant("shape"), value: fc.oneof(fc.array(dim, { maxLength: 4 }), fc.jsonValue()) }),
  fc.record({ field: fc.constant("data_offsets"), value: fc.oneof(fc.tuple(offset, offset), fc.array(offset, { maxLength: 3 }), fc.jsonValue()) }),
  fc.record({ field: fc.constant("entry"), value: fc.jsonValue() }),
  fc.record({ field: fc.constant("__metadata__"), value: fc.jsonValue() }),
  fc.record({ field: fc.constantFrom("__proto__", "constructor", "toString"), value: fc.jsonValue() }),
);

test("safetensors: lying headers (dtype, shape, offsets, entries) are refused or read consistently", () => {
  fc.assert(
    fc.property(fc.constantFrom(...SAFETENSORS), fc.array(fc.tuple(fc.nat(), headerEdit), { minLength: 1, maxLength: 3 }), (src, edits) => {
      const b = withHeader(src, (h) => {
        const names = Object.keys(h).filter((k) => k !== "__metadata__");
        for (const [i, e] of edits) {
          const name = names[i % names.length];
          if (e.field === "entry") h[name] = e.value;
          else if (e.field === "__metadata__" || e.field === "__proto__" || e.field === "constructor" || e.field === "toString") {
            Object.defineProperty(h, e.field, { value: e.value, enumerable: true, configurable: true, writable: true });
          } else h[name] = { ...h[name], [e.field]: e.value };
        }
      });
      checkWeights("readSafetensors", () => readSafetensors(b, "fuzz.safetensors"));
    }),
    { numRuns: runs(400) },
  );
});

test("safetensors: arbitrary bytes behind a plausible length prefix", () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.uint8Array({ maxLength: 256 }), (len, rest) => {
      const b = new Uint8Array(8 + rest.length);
      new DataView(b.buffer).setBigUint64(0, len % 3n === 0n ? BigInt(rest.length) : len, true);
      b.set(rest, 8);
      checkWeights("readSafetensors", () => readSafetensors(b));
    }),
  );
});

test("torch .bin: byte mutations of real checkpoints are refused or read consistently", () => {
  fc.assert(
    fc.property(fc.constantFrom(...TORCH_BINS), mutations, fc.boolean(), (src, muts, bias) => {
      const b = mutate(src, muts, bias);
      checkWeights("readTorchBin", () => readTorchBin(b, "fuzz.bin"));
      checkWeights("readStateDict", () => readStateDict(b, "fuzz.bin"));
    }),
    { numRuns: runs(400) },
  );
});

test("torch .bin: mutations aimed at the zip's central directory and the pickle", () => {
  fc.assert(
    fc.property(fc.constantFrom(...TORCH_BINS), fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.boolean(), (src, flips, tail) => {
      const b = src.slice();
      // The central directory and end record sit in the last ~1 KiB; the pickle is the first entry.
      const [from, span] = tail ? [Math.max(0, b.length - 1200), Math.min(1200, b.length)] : [30, Math.min(1200, b.length - 30)];
      for (const [at, v] of flips) b[from + Math.floor(at * span)] = v;
      checkWeights("readTorchBin", () => readTorchBin(b, "fuzz.bin"));
    }),
    { numRuns: runs(400) },
  );
});

test("torch .bin: arbitrary bytes behind the zip and legacy magics", () => {
  const legacy = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
  fc.assert(
    fc.property(fc.constantFrom([0x50, 0x4b, 0x03, 0x04], legacy, []), fc.uint8Array({ maxLength: 512 }), (magic, rest) => {
      const b = new Uint8Array([...magic, ...rest]);
      checkWeights("readTorchBin", () => readTorchBin(b));
      checkWeights("readStateDict", () => readStateDict(b, "x.pt"));
    }),
  );
});

test("readStateDict: unknown extensions are refused with a FormatError", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 32 }), (name, b) => {
      checkWeights("readStateDict", () => readStateDict(b, name));
    }),
  );
});

// ---- configs ----

const ADAPTER_CONFIGS = ["sentiment", "lora_sent", "ia3_topic", "lang_en", "ner", "qa"].map((a) => jsonOf(fixture("adapters", a, "adapter_config.json")));
const HEAD_CONFIGS = ["sentiment", "ner", "qa", "nli"].map((a) => jsonOf(fixture("adapters", a, "head_config.json")));
const FUSION_CONFIG = jsonOf(fixture("fusions", "sentiment-fusion", "adapter_fusion_config.json"));
const MODEL_CONFIG = jsonOf(fixture("models", "bert-tiny", "config.json"));

/** A real config with some keys (top level or inside "config") replaced, added or removed. */
function edited(base: Record<string, any>, edits: [boolean, string | null, number, unknown][]): unknown {
  const out = structuredClone(base);
  for (const [inner, key, pick, value] of edits) {
    const target = inner && out.config && typeof out.config === "object" ? out.config : out;
    const keys = Object.keys(target);
    const k = key ?? keys[pick % Math.max(1, keys.length)] ?? "x";
    if (value === undefined) delete target[k];
    else Object.defineProperty(target, k, { value, enumerable: true, configurable: true, writable: true });
  }
  return out;
}
const configEdits = fc.array(
  fc.tuple(fc.boolean(), fc.option(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "architecture", "peft_type", "reduction_factor", "r", "head_type", "num_labels", "label2id", "hidden_size")), { nil: null }), fc.nat(), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined))),
  { minLength: 1, maxLength: 4 },
);

const parsers: [string, (j: unknown) => unknown, Record<string, any>[]][] = [
  ["parseAdapterConfig", parseAdapterConfig, ADAPTER_CONFIGS],
  ["parseHeadConfig", parseHeadConfig, HEAD_CONFIGS],
  ["parseFusionConfig", parseFusionConfig, [FUSION_CONFIG]],
  ["parseModelConfig", parseModelConfig, [MODEL_CONFIG]],
];

for (const [name, parse, bases] of parsers) {
  test(`${name}: arbitrary JSON parses or throws an Error with a message`, () => {
    fc.assert(fc.property(fc.jsonValue(), (j) => void timed(name, () => parse(j))), { numRuns: runs(300) });
    fc.assert(fc.property(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })), fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })), (top, config) => void timed(name, () => parse({ ...top, config }))));
  });
  test(`${name}: edits of real configs parse or throw an Error with a message`, () => {
    fc.assert(fc.property(fc.constantFrom(...bases), configEdits, (base, edits) => void timed(name, () => parse(edited(base, edits)))), { numRuns: runs(300) });
  });
}

// ---- tokenizer ----

const BERT_TINY = fixture("models", "bert-tiny");
const tokenizer = TextTokenizer.fromJson(jsonOf(path.join(BERT_TINY, "tokenizer.json")), jsonOf(path.join(BERT_TINY, "tokenizer_config.json")), "bert");

const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({ unit: "grapheme", maxLength: 80 }),
  fc.string({ unit: fc.constantFrom(..." \t\n\u00a0\u200b\u0301\ufeff\ud800\udc00.,!?'\"aéß中😀[CLS][SEP][PAD]##"), maxLength: 80 }),
);
const input = fc.oneof(text, fc.tuple(text, text));

test("tokenizer: any unicode text or pair encodes to a well-formed batch", () => {
  fc.assert(
    fc.property(fc.array(input, { minLength: 1, maxLength: 6 }), fc.integer({ min: 2, max: 64 }), (inputs, maxLength) => {
      const { value: enc, error } = timed("encodeBatch", () => tokenizer.encodeBatch(inputs, maxLength));
      assert.equal(error, undefined, `encodeBatch threw ${error?.message}`);
      const width = enc!.inputIds[0].length;
      assert.equal(enc!.inputIds.length, inputs.length);
      for (const [i, row] of enc!.inputIds.entries()) {
        const pair = Array.isArray(inputs[i]);
        // A pair needs 3 specials ([CLS] a [SEP] b [SEP]): with max_length 2 the row keeps them, as HF tokenizers does.
        const limit = Math.max(maxLength, tokenizer.numSpecialTokens(pair));
        const mask = enc!.attentionMask[i];
        for (const rows of [row, mask, enc!.tokenTypeIds[i], enc!.offsets[i], enc!.segments[i], enc!.tokens[i]]) assert.equal(rows.length, width);
        const n = enc!.length[i];
        assert.ok(n <= limit, `row ${i} has ${n} tokens, max_length ${maxLength}`);
        assert.deepEqual(mask, [...Array(n).fill(1), ...Array(width - n).fill(0)], `row ${i}: attention mask is not 1s then 0s`);
        assert.ok(row.every((id) => Number.isInteger(id) && id >= 0), `row ${i}: bad ids ${row}`);
        assert.ok(enc!.offsets[i].every(([s, e]) => 0 <= s && s <= e), `row ${i}: bad offsets`);
      }
      assert.ok(width <= Math.max(maxLength, tokenizer.numSpecialTokens(true)));
    }),
    { numRuns: runs(200) },
  );
});
