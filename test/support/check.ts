import assert from "node:assert/strict";
import { maxAbsDiff, requestFor, type GoldenCase } from "./cases.ts";
import { post } from "./server.ts";

// The comparison every golden-case test makes, whatever store the server reads.

const LOCATION_KEYS = ["mh_adapter", "output_adapter"];

/** Asserts that a /v1/predict answer matches a golden case within its tolerance. */
export function checkGolden(c: GoldenCase, body: any): void {
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

/** Sends a golden case to a running server's /v1/predict and checks the answer. */
export async function checkGoldenAt(serverUrl: string, c: GoldenCase): Promise<void> {
  const res = await post(`${serverUrl}/v1/predict`, requestFor(c));
  assert.equal(res.status, 200, JSON.stringify(res.json));
  checkGolden(c, res.json);
}
