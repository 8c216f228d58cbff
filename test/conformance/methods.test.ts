import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { startServer } from "../support/server.ts";
import { storeCases } from "../support/cases.ts";
import { checkGoldenAt } from "../support/check.ts";
import { LOCAL_FIXTURES, METHODS_STORE } from "../support/paths.ts";
import { MODEL_TYPES } from "../../src/families/index.ts";
import type { RunningServer } from "../../src/server/serve.ts";

// Every case of the methods store (prefix tuning, Compacter, Compacter++,
// UniPELT, MAM, Pfeiffer, a head alone; made by AdapterHub 3.2.1) through the
// HTTP API, for each model whose family polyhead registers. The store also
// holds ALBERT and DeBERTa-v2 models: their cases run as soon as their
// families are registered. BERT's must all be there.

const DIR = path.join(LOCAL_FIXTURES, METHODS_STORE);
const cases = storeCases(DIR);
const modelType = (model: string) => JSON.parse(readFileSync(path.join(DIR, "models", model, "config.json"), "utf8")).model_type as string;
const served = cases.filter((c) => MODEL_TYPES.includes(modelType(c.model)));

test("the methods store's BERT cases cover every method, and all of them run", () => {
  const bert = cases.filter((c) => c.model === "bert-m").map((c) => c.id);
  for (const m of ["base-head", "prefix", "compacter", "compacterpp", "unipelt", "mam", "pfeiffer", "long-prefix"]) assert.ok(bert.includes(`bert-${m}`), `no case bert-${m}`);
  assert.deepEqual(served.filter((c) => c.model === "bert-m").map((c) => c.id), bert);
});

describe(`golden cases: ${METHODS_STORE}`, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(DIR);
  });
  after(async () => {
    await server.close();
  });
  for (const c of served) {
    test(c.id, async () => {
      await checkGoldenAt(server.url, c);
    });
  }
});
