import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseHeadConfig } from "../../../src/heads/index.ts";
import { ADAPTERHUB_FIXTURES } from "../../support/paths.ts";

const read = (p: string) => JSON.parse(readFileSync(p, "utf8"));

test("head configs: types, labels, regression, refusals", () => {
  const h = parseHeadConfig(read(path.join(ADAPTERHUB_FIXTURES, "adapters/topic/head_config.json")));
  assert.deepEqual(h.labels, ["world", "sports", "business", "science"]);
  assert.equal(h.layers, 2);
  assert.equal(h.activation, "tanh");
  const qa = parseHeadConfig(read(path.join(ADAPTERHUB_FIXTURES, "adapters/qa/head_config.json")));
  assert.equal(qa.headType, "question_answering");
  assert.equal(qa.numLabels, 2);
  const base = read(path.join(ADAPTERHUB_FIXTURES, "adapters/topic/head_config.json"));
  assert.throws(() => parseHeadConfig({ ...base, config: { ...base.config, head_type: "multiple_choice" } }), /multiple_choice/);
  assert.throws(() => parseHeadConfig({ ...base, config: { ...base.config, activation_function: "weird" } }), /weird/);
});
