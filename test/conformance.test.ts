import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyStore, post, startServer } from "./support/server.ts";
import { goldenStores, maxAbsDiff, requestFor, type GoldenCase } from "./support/cases.ts";
import type { RunningServer } from "../functions/server.ts";

// Every golden case through the HTTP API, on every golden store, and on the
// shared store reduced to only .bin or only .safetensors weight files.

const LOCATION_KEYS = ["mh_adapter", "output_adapter"];

function check(c: GoldenCase, body: any) {
  const expected = Array.isArray(c.expected) ? c.expected : [c.expected];
  assert.equal(body.results.length, expected.length, `${c.id}: one result per branch`);
  expected.forEach((want, k) => {
    const result = body.results[k];
    const rows: any[] = result.outputs;
    assert.equal(rows.length, want.logits?.length ?? want.start_logits?.length ?? want.last_hidden_state?.length, `${c.id}[${k}]: rows`);
    let compared = 0;
    for (const key of ["logits", "start_logits", "end_logits", "last_hidden_state"]) {
      if (!(key in want)) continue;
      const got = rows.map((r) => (key === "logits" && result.type === "regression" ? [r.value] : r[key]));
      const err = maxAbsDiff(got, want[key], `${c.id}[${k}].${key}`);
      assert.ok(err <= c.atol, `${c.id}[${k}].${key}: max error ${err} > ${c.atol}`);
      compared++;
    }
    for (const [, layers] of Object.entries<any>(want.fusion_attentions ?? {})) {
      for (const [layer, locs] of Object.entries<any>(layers)) {
        for (const loc of LOCATION_KEYS) {
          if (!locs[loc]) continue;
          const got = rows.map((r) => r.fusion_attention?.[layer]?.[loc]);
          const err = maxAbsDiff(got, locs[loc], `${c.id}[${k}].fusion_attention.${layer}.${loc}`);
          assert.ok(err <= c.atol, `${c.id}: fusion attention ${layer}.${loc} max error ${err}`);
          compared++;
        }
      }
    }
    assert.ok(compared > 0, `${c.id}[${k}]: nothing compared`);
  });
}

const variants: { label: string; keep?: (f: string) => boolean }[] = [
  { label: "as saved" },
  { label: "only .bin adapter files", keep: (f) => !/(adapter|model_head|model_adapter_fusion)\.safetensors$/.test(f) },
  { label: "only .safetensors adapter files", keep: (f) => !f.endsWith(".bin") },
];

for (const store of goldenStores()) {
  for (const v of store.name === "shared" ? variants : variants.slice(0, 1)) {
    describe(`golden cases: ${store.name} (${v.label})`, () => {
      let server: RunningServer;
      let cleanup = () => {};
      before(async () => {
        let dir = store.dir;
        if (v.keep) ({ dir, cleanup } = copyStore(store.dir, v.keep));
        server = await startServer(dir);
      });
      after(async () => {
        await server.close();
        cleanup();
      });
      for (const c of store.cases) {
        test(c.id, async () => {
          const res = await post(`${server.url}/v1/predict`, requestFor(c));
          assert.equal(res.status, 200, JSON.stringify(res.json));
          check(c, res.json);
        });
      }
    });
  }
}
