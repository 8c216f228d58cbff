import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { requestFor, type GoldenCase } from "./cases.ts";
import { fixtureStores } from "./paths.ts";
import { post, startServer } from "./server.ts";

// How far --precision int8 moves a store's answers from fp32's: every golden
// case of the store sent to two servers over the same folder, one at each
// precision, and the answers compared with each other (not with the golden
// values, which fp32 alone must match). Used by `npm run bench:int8` (the
// README's table) and by the test that bounds it.

export interface Agreement {
  store: string;
  cases: number;
  /** top labels compared (a classification row, a tagged token, a QA start or end) and how many agree */
  labels: number;
  labelsAgree: number;
  /** largest |Δ| over every logit (and regression value) */
  maxLogit: number;
  /** largest |Δ| over the hidden states returned */
  maxHidden: number;
  /** generated sequences compared, how many have exactly fp32's tokens */
  sequences: number;
  sameTokens: number;
  /** largest |Δ| over teacher-forced token log-probabilities (/v1/score) */
  maxLogprob: number;
}

/** Every store under test/fixtures with golden cases (encoder cases and seq2seq ones). */
export function agreementStores(): { name: string; dir: string; cases: (GoldenCase & { kind?: string; [k: string]: any })[] }[] {
  return fixtureStores()
    .filter((s) => existsSync(path.join(s.dir, "cases.json")))
    .map((s) => ({ ...s, cases: JSON.parse(readFileSync(path.join(s.dir, "cases.json"), "utf8")) }))
    .filter((s) => s.cases.length > 0);
}

export async function measureAgreement(store: { name: string; dir: string; cases: any[] }): Promise<Agreement> {
  const r: Agreement = { store: store.name, cases: 0, labels: 0, labelsAgree: 0, maxLogit: 0, maxHidden: 0, sequences: 0, sameTokens: 0, maxLogprob: 0 };
  const fp32 = await startServer(store.dir, { precision: "fp32" });
  const int8 = await startServer(store.dir, { precision: "int8" });
  try {
    for (const c of store.cases) {
      const [path, body] = request(c);
      const [a, b] = [await post(`${fp32.url}${path}`, body), await post(`${int8.url}${path}`, body)];
      if (a.status !== 200 || b.status !== 200) throw new Error(`${store.name}/${c.id}: fp32 ${a.status}, int8 ${b.status}: ${b.text.slice(0, 300)}`);
      r.cases++;
      a.json.results.forEach((ra: any, k: number) => {
        const rb = b.json.results[k];
        ra.outputs.forEach((oa: any, i: number) => compare(r, c.kind, oa, rb.outputs[i]));
      });
    }
  } finally {
    await fp32.close();
    await int8.close();
  }
  return r;
}

function request(c: any): [string, unknown] {
  if (!c.kind) return ["/v1/predict", requestFor(c)];
  const o = c.options ?? {};
  const options: Record<string, unknown> = {};
  for (const k of ["src_lang", "tgt_lang"]) if (o[k] !== undefined) options[k] = o[k];
  const tasks = [{ adapters: c.composition }];
  if (c.kind === "score") return ["/v1/score", { model: c.model, inputs: c.inputs, targets: c.targets, tasks, options }];
  for (const k of ["max_new_tokens", "num_beams", "length_penalty", "num_return_sequences"]) if (o[k] !== undefined) options[k] = o[k];
  return ["/v1/generate", { model: c.model, inputs: c.inputs, tasks, options }];
}

function compare(r: Agreement, kind: string | undefined, a: any, b: any) {
  if (kind === "generate") {
    // a row's outputs: one per returned sequence
    (a as any[]).forEach((s, j) => {
      r.sequences++;
      if (JSON.stringify(s.token_ids) === JSON.stringify(b[j].token_ids)) r.sameTokens++;
    });
    return;
  }
  if (kind === "score") {
    if (JSON.stringify(a.token_ids) !== JSON.stringify(b.token_ids)) throw new Error("scored targets differ");
    r.maxLogprob = Math.max(r.maxLogprob, maxDiff(a.token_logprobs, b.token_logprobs));
    return;
  }
  for (const key of ["logits", "start_logits", "end_logits"]) {
    if (!(key in a)) continue;
    r.maxLogit = Math.max(r.maxLogit, maxDiff(a[key], b[key]));
    for (const [va, vb] of vectors(a[key], b[key])) {
      r.labels++;
      if (argmax(va) === argmax(vb)) r.labelsAgree++;
    }
  }
  if (typeof a.value === "number") r.maxLogit = Math.max(r.maxLogit, Math.abs(a.value - b.value));
  if (a.last_hidden_state) r.maxHidden = Math.max(r.maxHidden, maxDiff(a.last_hidden_state, b.last_hidden_state));
}

/** The innermost number arrays of two equally nested arrays (a row's logits, or a token's). */
function vectors(a: any, b: any): [number[], number[]][] {
  if (typeof a[0] === "number") return [[a, b]];
  return (a as any[]).flatMap((x, i) => vectors(x, b[i]));
}

function maxDiff(a: any, b: any): number {
  if (typeof a === "number") return Math.abs(a - b);
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) throw new Error("answers differ in shape");
  return a.reduce((m: number, x: any, i: number) => Math.max(m, maxDiff(x, b[i])), 0);
}

const argmax = (v: number[]) => v.reduce((best, x, i) => (x > v[best] ? i : best), 0);

/** The table `npm run bench:int8` prints and the README shows. */
export function agreementTable(rows: Agreement[]): string {
  const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}% (${n}/${d})` : "–");
  const num = (x: number, used: boolean) => (used ? x.toExponential(1) : "–");
  const lines = [
    "| store | cases | top label = fp32's | max \\|Δ logit\\| | max \\|Δ hidden\\| | same tokens (generate) | max \\|Δ log-prob\\| (score) |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const a of rows) {
    lines.push(`| ${a.store} | ${a.cases} | ${pct(a.labelsAgree, a.labels)} | ${num(a.maxLogit, a.maxLogit > 0)} | ${num(a.maxHidden, a.maxHidden > 0)} | ${pct(a.sameTokens, a.sequences)} | ${num(a.maxLogprob, a.maxLogprob > 0)} |`);
  }
  return lines.join("\n");
}
