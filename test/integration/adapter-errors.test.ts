// Adapter data that cannot be served is the adapter's fault, not the
// server's: a 422 naming the adapter and the reason, never a 500, and the
// server goes on serving. Compositions are checked before anything loads.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { copyStore, get, post, startServer } from "../support/server.ts";
import { LOCAL_FIXTURES, ADAPTERHUB_FIXTURES } from "../support/paths.ts";
import type { RunningServer } from "../../src/server/serve.ts";

const editJson = (file: string, edit: (j: any) => void) => {
  const j = JSON.parse(readFileSync(file, "utf8"));
  edit(j);
  writeFileSync(file, JSON.stringify(j));
};

describe("adapter data put in the right class", () => {
  let server: RunningServer;
  let cleanup = () => {};
  before(async () => {
    let dir: string;
    ({ dir, cleanup } = copyStore(ADAPTERHUB_FIXTURES, () => true));
    // a RoBERTa adapter of the same size beside the BERT model
    cpSync(path.join(LOCAL_FIXTURES, "roberta-tiny/adapters/sst"), path.join(dir, "adapters/roberta_sst"), { recursive: true });
    // an adapter saved for another checkpoint of the same family
    cpSync(path.join(dir, "adapters/sentiment"), path.join(dir, "adapters/large_sentiment"), { recursive: true });
    editJson(path.join(dir, "adapters/large_sentiment/adapter_config.json"), (j) => (j.model_name = "bert-large-uncased"));
    editJson(path.join(dir, "models/bert-tiny/config.json"), (j) => (j._name_or_path = "google-bert/bert-tiny"));
    // one of the fused adapters now leaves layer 0 out: the fusion cannot combine them there
    editJson(path.join(dir, "adapters/topic/adapter_config.json"), (j) => (j.config.leave_out = [0]));
    // a GLOW invertible adapter, which AdapterHub saves but cannot run
    cpSync(path.join(LOCAL_FIXTURES, "madx-tiny/adapters/lang_glow"), path.join(dir, "adapters/lang_glow"), { recursive: true });
    editJson(path.join(dir, "adapters/lang_glow/adapter_config.json"), (j) => ((j.model_type = "bert"), (j.hidden_size = 32)));
    // hostile but small files: a fusion listing 1,000 adapters, a head with ten million labels
    cpSync(path.join(dir, "fusions/sentiment-fusion"), path.join(dir, "fusions/wide"), { recursive: true });
    writeFileSync(path.join(dir, "fusions/wide/fusion.json"), JSON.stringify({ adapters: Array.from({ length: 1000 }, () => "sentiment") }));
    cpSync(path.join(dir, "adapters/sentiment"), path.join(dir, "adapters/many_labels"), { recursive: true });
    editJson(path.join(dir, "adapters/many_labels/head_config.json"), (j) => ((j.config.num_labels = 10_000_000), delete j.config.label2id));
    server = await startServer(dir);
  });
  after(async () => {
    await server.close();
    cleanup();
  });
  const predict = (adapters: unknown, model = "bert-tiny") => post(`${server.url}/v1/predict`, { model, inputs: ["a fine day"], tasks: [{ adapters }] });

  test("an adapter of another model type is a 422 naming both model types", async () => {
    const r = await predict("roberta_sst");
    assert.equal(r.status, 422, r.text);
    assert.equal(r.json.type.endsWith("invalid-adapter"), true);
    assert.match(r.json.detail, /roberta_sst/);
    assert.match(r.json.detail, /model_type "roberta".*"bert"/);
  });

  test("an adapter saved for another checkpoint is a 422 naming both checkpoints", async () => {
    const r = await predict("large_sentiment");
    assert.equal(r.status, 422, r.text);
    assert.match(r.json.detail, /bert-large-uncased/);
    assert.match(r.json.detail, /google-bert\/bert-tiny/);
  });

  test("fused adapters acting at different places are a 422 naming the fusion and the places", async () => {
    const r = await predict({ fuse: ["sentiment", "topic", "formality"] });
    assert.equal(r.status, 422, r.text);
    assert.match(r.json.detail, /fusion "sentiment-fusion"/);
    assert.match(r.json.detail, /different places/);
    assert.match(r.json.detail, /"topic" at 1 output_adapter/);
  });

  test("a GLOW invertible adapter is refused by name with the reason", async () => {
    const r = await predict({ stack: ["lang_glow", "sentiment"] });
    assert.equal(r.status, 422, r.text);
    assert.match(r.json.detail, /lang_glow/);
    assert.match(r.json.detail, /glow/);
  });

  test("the composition is checked before the model is looked up", async () => {
    const r = await predict({ fuse: [{ parallel: ["sentiment", "topic"] }] }, "no-such-model");
    // not the 404 of the unknown model: nothing was loaded for a composition that cannot run
    assert.equal(r.status, 422, r.text);
    assert.equal(r.json.type.endsWith("invalid-composition"), true);
    assert.match(r.json.detail, /parallel/i);
  });

  test("bounded expansions: a composition that multiplies, a fusion of 1,000, a head of ten million labels: quick 422s", async () => {
    const P = { parallel: Array.from({ length: 16 }, () => "sentiment") };
    const started = performance.now();
    const stack = await predict({ stack: [P, P, P, P] });
    assert.equal(stack.status, 422, stack.text);
    assert.match(stack.json.detail, /more than 64 branches/);
    const wide = await predict({ fuse: ["sentiment", "topic"], fusion: "wide" });
    assert.equal(wide.status, 422, wide.text);
    assert.match(wide.json.detail, /fusion.json lists 1000 adapters; a fusion fuses at most 16/);
    const labels = await predict("many_labels");
    assert.equal(labels.status, 422, labels.text);
    assert.match(labels.json.detail, /at most 32768 labels/);
    assert.ok(performance.now() - started < 5000, "answered at once");
    const listing = await get(`${server.url}/v1/adapters`);
    assert.equal(listing.status, 200);
    assert.ok(listing.text.length < 1_000_000, `the listing stays small (${listing.text.length} bytes)`);
    assert.equal(listing.json.adapters.find((a: any) => a.name === "many_labels").supported, false);
  });

  test("the server still answers good requests afterwards", async () => {
    const r = await predict("sentiment");
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.results[0].outputs.length, 1);
  });
});
