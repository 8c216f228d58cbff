import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { post, startServer } from "../support/server.ts";
import { checkGoldenAt } from "../support/check.ts";
import type { GoldenCase } from "../support/cases.ts";
import { LOCAL_FIXTURES } from "../support/paths.ts";
import type { RunningServer } from "../../src/server/serve.ts";
import { readSafetensors, writeSafetensors } from "../../src/formats/safetensors.ts";
import type { StateDict } from "../../src/core/tensor.ts";

// ALBERT and DeBERTa-v2 beyond their golden cases (which golden.test.ts
// runs): rows that mix adapters in one run gather their own LoRA weights for
// DeBERTa's shared position projections, PEFT's LoRA reaches ALBERT's shared
// layers under ALBERT's module names, and what the families cannot serve is
// a 422 naming the reason. The store is a copy of families-tiny with a few
// folders added.

/** An AdapterHub LoRA folder re-saved as PEFT's save_pretrained writes it (<module>.lora_A.weight under base_model.model.). */
function asPeft(dir: string, out: string, targets: string[]) {
  const cfg = JSON.parse(readFileSync(path.join(dir, "adapter_config.json"), "utf8")).config;
  const dict: StateDict = new Map();
  for (const [k, t] of readSafetensors(new Uint8Array(readFileSync(path.join(dir, "adapter.safetensors"))))) {
    const m = /^(.+)\.loras\.[^.]+\.lora_(A|B)$/.exec(k);
    if (m) dict.set(`base_model.model.${m[1]}.lora_${m[2]}.weight`, t);
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, "adapter_model.safetensors"), writeSafetensors(dict));
  writeFileSync(path.join(out, "adapter_config.json"), JSON.stringify({ peft_type: "LORA", r: cfg.r, lora_alpha: cfg.alpha, lora_dropout: 0, bias: "none", target_modules: targets }));
}

const SOURCE = path.join(LOCAL_FIXTURES, "families-tiny");
const cases: GoldenCase[] = JSON.parse(readFileSync(path.join(SOURCE, "cases.json"), "utf8"));
const byId = (id: string) => cases.find((c) => c.id === id)!;

describe("ALBERT and DeBERTa-v2 families over HTTP", () => {
  let dir: string;
  let server: RunningServer;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "polyhead-families-"));
    cpSync(SOURCE, dir, { recursive: true });
    const edit = (file: string, change: (j: any) => void) => {
      const j = JSON.parse(readFileSync(path.join(dir, file), "utf8"));
      change(j);
      writeFileSync(path.join(dir, file), JSON.stringify(j));
    };
    // DeBERTa-v2-xlarge's convolution after the first layer is not served
    cpSync(path.join(dir, "models/deberta-v2-p2c"), path.join(dir, "models/deberta-conv"), { recursive: true });
    edit("models/deberta-conv/config.json", (j) => (j.conv_kernel_size = 3));
    // AdapterHub builds a MAD-X language adapter embedding_size (16) wide; DeBERTa's embeddings leave 32 wide
    cpSync(path.join(dir, "adapters/u-pfeiffer"), path.join(dir, "adapters/u-inv"), { recursive: true });
    edit("adapters/u-inv/adapter_config.json", (j) => Object.assign(j.config, { inv_adapter: "nice", inv_adapter_reduction_factor: 2 }));
    // AdapterHub's LoRA on q/k/v, ffn (intermediate_lora) and ffn_output (output_lora), in PEFT's names
    asPeft(path.join(dir, "adapters/a-lora"), path.join(dir, "adapters/a-lora-peft"), ["query", "key", "value", "ffn", "ffn_output"]);
    server = await startServer(dir);
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("two LoRA adapters of one shape, mixed in one run (parallel), each as its golden case alone", async () => {
    const a = byId("deberta-v3-lora-shared-keys");
    const b = byId("deberta-v3-lora2");
    assert.deepEqual(a.inputs, b.inputs);
    const mixed: GoldenCase = { ...a, id: "parallel-lora", composition: { parallel: ["v-lora", "v-lora2"] }, head: ["v-lora", "v-lora2"], expected: [a.expected, b.expected] };
    await checkGoldenAt(server.url, mixed);
  });

  test("concurrent requests for different adapters of one ALBERT model answer as each alone", async () => {
    const ids = ["albert-houlsby-leave-out", "albert-lora-qkv-ffn", "albert-stack", "albert-fusion"];
    await Promise.all(ids.map((id) => checkGoldenAt(server.url, byId(id))));
  });

  test("PEFT's LoRA on ALBERT's shared layers answers as the same LoRA saved by AdapterHub", async () => {
    const c = byId("albert-lora-qkv-ffn");
    await checkGoldenAt(server.url, { ...c, id: "albert-peft-lora", composition: "a-lora-peft", head: "a-lora" });
  });

  test("a DeBERTa-v2 model with conv_kernel_size is refused by name", async () => {
    const res = await post(`${server.url}/v1/predict`, { model: "deberta-conv", inputs: ["hello"], tasks: [{ adapters: null }] });
    assert.equal(res.status, 422, JSON.stringify(res.json));
    assert.match(JSON.stringify(res.json), /conv_kernel_size/);
  });

  test("an invertible adapter on DeBERTa with embedding_size other than hidden_size is refused by name", async () => {
    const res = await post(`${server.url}/v1/predict`, { model: "deberta-v2-unshared", inputs: ["hello"], tasks: [{ adapters: "u-inv" }] });
    assert.equal(res.status, 422, JSON.stringify(res.json));
    assert.match(JSON.stringify(res.json), /embedding_size \(16\)/);
    // the server keeps serving the model
    const ok = await post(`${server.url}/v1/predict`, { model: "deberta-v2-unshared", inputs: ["hello"], tasks: [{ adapters: "u-pfeiffer", head: "u-pfeiffer" }] });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
  });
});
