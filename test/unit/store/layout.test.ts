import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { adapterKind, filesToKeep, fusionAdapters } from "../../../src/store/layout.ts";
import { parseAdapterConfig } from "../../../src/methods/index.ts";
import { fixtureStores } from "../../support/paths.ts";

const read = (p: string) => JSON.parse(readFileSync(p, "utf8"));

test("adapterKind (the listing's type, also used by the edge) agrees with the methods the server reads", () => {
  const seen = new Set<string>();
  for (const { dir } of fixtureStores()) {
    for (const a of readdirSync(path.join(dir, "adapters"))) {
      // a head saved alone (save_head) is no adapter
      if (!existsSync(path.join(dir, "adapters", a, "adapter_config.json"))) continue;
      const json = read(path.join(dir, "adapters", a, "adapter_config.json"));
      const kind = adapterKind(json);
      seen.add(kind.type);
      let parts: string[] | null = null;
      try {
        parts = parseAdapterConfig(json).parts.map((p) => p.method.name);
      } catch {
        // refused by the server: the listing must not call it supported
      }
      if (parts === null) assert.equal(kind.supported, false, `${a}: refused by the server, listed as supported`);
      else assert.equal(kind.type, parts.join("+"), `${a}: listed as ${kind.type}, served as ${parts.join("+")}`);
    }
  }
  for (const t of ["bottleneck", "lora", "ia3", "bottleneck+invertible", "prefix", "bottleneck+prefix", "bottleneck+lora+prefix"]) assert.ok(seen.has(t), `no fixture adapter of type ${t}`);
});

test("adapterKind: PEFT types and architectures polyhead does not serve", () => {
  assert.deepEqual(adapterKind({ peft_type: "LORA" }), { type: "lora", supported: true });
  assert.deepEqual(adapterKind({ peft_type: "PREFIX_TUNING" }), { type: "prefix_tuning", supported: false });
  assert.deepEqual(adapterKind({ config: { architecture: "prefix_tuning" } }), { type: "prefix", supported: true });
  assert.deepEqual(adapterKind({ config: { architecture: "prompt_tuning" } }), { type: "prompt_tuning", supported: false });
  const union = (...configs: unknown[]) => adapterKind({ config: { architecture: "union", configs } });
  assert.deepEqual(union({ architecture: "prefix_tuning" }, { mh_adapter: false }), { type: "bottleneck+prefix", supported: true });
  assert.deepEqual(union({ architecture: "prefix_tuning" }, { architecture: "prompt_tuning" }), { type: "prefix+prompt_tuning", supported: false });
  assert.deepEqual(adapterKind({ config: { inv_adapter: "glow" } }), { type: "bottleneck+invertible", supported: false });
});

test("fusion membership: fusion.json, else AdapterHub's saved name", () => {
  assert.deepEqual(fusionAdapters({ adapters: ["a", "b"] }, "x,y"), ["a", "b"]);
  assert.deepEqual(fusionAdapters(null, "x,y"), ["x", "y"]);
});

test("filesToKeep: only what polyhead reads, one weight format (safetensors first), the rest skipped with the reason", () => {
  const model = filesToKeep("model", [
    "config.json", "flax_model.msgpack", "model.safetensors", "pytorch_model.bin", "README.md", "tf_model.h5",
    "tokenizer.json", "tokenizer_config.json", "vocab.txt",
  ]);
  assert.deepEqual(model.keep, ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
  assert.deepEqual(model.skipped, [
    { name: "flax_model.msgpack", why: "polyhead never reads it" },
    { name: "pytorch_model.bin", why: "model.safetensors is used" },
    { name: "README.md", why: "polyhead never reads it" },
    { name: "tf_model.h5", why: "polyhead never reads it" },
    { name: "vocab.txt", why: "polyhead never reads it" },
  ]);
  // .bin alone is kept; the adapter and its head each keep their preferred file
  assert.deepEqual(filesToKeep("model", ["config.json", "pytorch_model.bin"]).keep, ["config.json", "pytorch_model.bin"]);
  const adapter = filesToKeep("adapter", ["adapter.safetensors", "adapter_config.json", "head_config.json", "model_head.safetensors", "pytorch_adapter.bin", "pytorch_model_head.bin"]);
  assert.deepEqual(adapter.keep, ["adapter.safetensors", "adapter_config.json", "head_config.json", "model_head.safetensors"]);
  assert.deepEqual(adapter.skipped.map((s) => s.why), ["adapter.safetensors is used", "model_head.safetensors is used"]);
  assert.deepEqual(filesToKeep("adapter", ["adapter_config.json", "adapter_model.safetensors", "README.md"]).keep, ["adapter_config.json", "adapter_model.safetensors"]);
  assert.deepEqual(filesToKeep("fusion", ["adapter_fusion_config.json", "fusion.json", "pytorch_model_adapter_fusion.bin"]).keep, ["adapter_fusion_config.json", "fusion.json", "pytorch_model_adapter_fusion.bin"]);
});
