import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseModelConfig } from "../../../src/families/index.ts";
import { ADAPTERHUB_FIXTURES } from "../../support/paths.ts";

const read = (p: string) => JSON.parse(readFileSync(p, "utf8"));

test("model configs: BERT, RoBERTa, XLM-R; refusals", () => {
  const bert = read(path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny/config.json"));
  const c = parseModelConfig(bert);
  assert.equal(c.family, "bert");
  assert.equal(c.padTokenId, 0);
  assert.equal(parseModelConfig({ ...bert, model_type: "xlm-roberta", pad_token_id: 1 }).family, "roberta");
  assert.throws(() => parseModelConfig({ ...bert, model_type: "gpt2" }), /gpt2/);
  assert.throws(() => parseModelConfig({ ...bert, position_embedding_type: "relative_key" }), /relative_key/);
  assert.throws(() => parseModelConfig({ ...bert, hidden_size: "big" }));
});
