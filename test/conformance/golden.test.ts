import { test, describe, before, after } from "node:test";
import { copyStore, startServer } from "../support/server.ts";
import { goldenStores } from "../support/cases.ts";
import { checkGoldenAt } from "../support/check.ts";
import type { RunningServer } from "../../src/server/serve.ts";
import { ADAPTERHUB_STORE } from "../support/paths.ts";

// Every golden case through the HTTP API, on every golden store, and on the
// AdapterHub store (test/fixtures/adapterhub) reduced to only .bin or only .safetensors weight files.

// Every store also runs with its graphs' float inputs packed into one, as on a GPU (src/graph/pack-inputs.ts).
const variants: { label: string; keep?: (f: string) => boolean; packInputs?: boolean }[] = [
  { label: "as saved" },
  { label: "inputs packed into one, as on a GPU", packInputs: true },
  { label: "only .bin adapter files", keep: (f) => !/(adapter|model_head|model_adapter_fusion)\.safetensors$/.test(f) },
  { label: "only .safetensors adapter files", keep: (f) => !f.endsWith(".bin") },
];

for (const store of goldenStores()) {
  for (const v of store.name === ADAPTERHUB_STORE ? variants : variants.slice(0, 2)) {
    describe(`golden cases: ${store.name} (${v.label})`, () => {
      let server: RunningServer;
      let cleanup = () => {};
      before(async () => {
        let dir = store.dir;
        if (v.keep) ({ dir, cleanup } = copyStore(store.dir, v.keep));
        server = await startServer(dir, v.packInputs ? { packInputs: true } : {});
      });
      after(async () => {
        await server.close();
        cleanup();
      });
      for (const c of store.cases) {
        test(c.id, async () => {
          await checkGoldenAt(server.url, c);
        });
      }
    });
  }
}
