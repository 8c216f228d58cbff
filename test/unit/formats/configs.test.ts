import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import path from "node:path";
import { parseAdapterConfig } from "../../../src/methods/index.ts";
import { parseFusionConfig } from "../../../src/methods/fusion.ts";
import { isModelHead, parseHeadConfig } from "../../../src/heads/index.ts";
import { parseModelConfig } from "../../../src/families/index.ts";
import { fixtureStores } from "../../support/paths.ts";

const read = (p: string) => JSON.parse(readFileSync(p, "utf8"));
const stores = fixtureStores().map((s) => s.dir);

test("every config in every golden store parses", () => {
  let n = 0;
  for (const store of stores) {
    for (const m of readdirSync(path.join(store, "models"))) parseModelConfig(read(path.join(store, "models", m, "config.json")));
    for (const a of readdirSync(path.join(store, "adapters"))) {
      const dir = path.join(store, "adapters", a);
      // a head saved alone (save_head): head files, no adapter
      if (!existsSync(path.join(dir, "adapter_config.json"))) {
        parseHeadConfig(read(path.join(dir, "head_config.json")));
        continue;
      }
      const json = read(path.join(dir, "adapter_config.json"));
      // AdapterHub saves GLOW invertible adapters it cannot run: refused by name
      if (json.config?.inv_adapter === "glow") {
        assert.throws(() => parseAdapterConfig(json), /glow/);
        continue;
      }
      const file = parseAdapterConfig(json);
      assert.ok(file.name.length > 0);
      const head = existsSync(path.join(dir, "head_config.json")) ? read(path.join(dir, "head_config.json")) : null;
      // seq2seq adapters carry the base model's LM head (config null), which is no task head
      if (head && !isModelHead(head)) parseHeadConfig(head);
      n++;
    }
    const fusions = path.join(store, "fusions");
    for (const f of existsSync(fusions) ? readdirSync(fusions) : []) parseFusionConfig(read(path.join(fusions, f, "adapter_fusion_config.json")));
  }
  assert.ok(n >= 20, `only ${n} adapters seen`);
});
