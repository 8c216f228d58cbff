import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { toPeft } from "../support/peft.ts";
import { copyStore, post, startServer } from "../support/server.ts";
import { ADAPTERHUB_FIXTURES } from "../support/paths.ts";

// PEFT's LoRA computes what AdapterHub's LoRA computes (W·x + b + alpha/r·B·A·x).
// The AdapterHub LoRA fixture, re-saved in PEFT's layout, must give the same
// hidden states as the AdapterHub original.

test("a PEFT LoRA adapter gives the numbers of the same LoRA saved by AdapterHub", async () => {
  const store = copyStore(ADAPTERHUB_FIXTURES, () => true);
  toPeft(path.join(ADAPTERHUB_FIXTURES, "adapters/lora_sent"), path.join(store.dir, "adapters/peft_sent"));
  toPeft(path.join(ADAPTERHUB_FIXTURES, "adapters/lora_sent"), path.join(store.dir, "adapters/peft_rs"), { use_rslora: true });
  toPeft(path.join(ADAPTERHUB_FIXTURES, "adapters/lora_sent"), path.join(store.dir, "adapters/peft_dora"), { use_dora: true });
  const server = await startServer(store.dir);
  try {
    const ask = (adapters: string) =>
      post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs: ["a lovely film", "terrible acting"], tasks: [{ adapters }], options: { return_hidden_states: true } });
    const [peft, hub, rs, base] = await Promise.all([ask("peft_sent"), ask("lora_sent"), ask("peft_rs"), post(`${server.url}/v1/predict`, { model: "bert-tiny", inputs: ["a lovely film", "terrible acting"], tasks: [{ adapters: null }] })]);
    assert.equal(peft.status, 200, JSON.stringify(peft.json));
    const h = (r: any, i: number) => (r.json.results[0].outputs[i].last_hidden_state as number[][]).flat();
    for (const i of [0, 1]) {
      const err = Math.max(...h(peft, i).map((x, k) => Math.abs(x - h(hub, i)[k])));
      assert.ok(err < 1e-5, `row ${i}: ${err}`);
      const moved = Math.max(...h(peft, i).map((x, k) => Math.abs(x - h(base, i)[k])));
      assert.ok(moved > 1e-3, "the LoRA changes the hidden states");
      const rsDiff = Math.max(...h(rs, i).map((x, k) => Math.abs(x - h(peft, i)[k])));
      assert.ok(rsDiff > 1e-4, "rsLoRA scales by alpha/sqrt(r), not alpha/r");
    }
    const dora = await ask("peft_dora");
    assert.equal(dora.status, 422);
    assert.match(dora.json.detail, /DoRA/);
  } finally {
    await server.close();
    store.cleanup();
  }
});
