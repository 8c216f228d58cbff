import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { TextTokenizer } from "../../../src/formats/tokenizer.ts";
import { TokenizerPool } from "../../../src/engine/tokenizer-pool.ts";
import { ADAPTERHUB_FIXTURES } from "../../support/paths.ts";

const dir = path.join(ADAPTERHUB_FIXTURES, "models", "bert-tiny");
const read = (f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
const make = () => TextTokenizer.fromJson(read("tokenizer.json"), fs.existsSync(path.join(dir, "tokenizer_config.json")) ? read("tokenizer_config.json") : undefined, "bert");

test("the tokenizer worker answers what the tokenizer gives in this thread, for many requests at once and after it let a tokenizer go", async () => {
  const pool = new TokenizerPool();
  try {
    const tok = make();
    const inputs: (string | [string, string])[] = ["The movie was great!", ["Where did Mary go?", "Mary went to Paris last summer."], "Ünïcode wörds, and  spaces"];
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.encode(tok, inputs.slice(i % 3), 16 + i)));
    answers.forEach((a, i) => assert.deepEqual(a, tok.encodeBatch(inputs.slice(i % 3), 16 + i), `request ${i}`));
    // more tokenizers than the worker keeps: the first is let go there, and sent again when asked for
    const others = Array.from({ length: 10 }, make);
    for (const t of others) assert.deepEqual(await pool.encode(t, ["hello"], 8), t.encodeBatch(["hello"], 8));
    assert.deepEqual(await pool.encode(tok, inputs, 32), tok.encodeBatch(inputs, 32));
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.encode(make(), ["x"], 8), /closed/);
});
