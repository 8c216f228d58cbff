// The demo store's accuracy on held-out sentences (tools/demo/heldout.json, written by make_demo_store.py
// from templates, names, places and organisations the training never saw), measured through the HTTP API:
// `npx tsx tools/demo/eval.ts <store folder | server url>` (a folder gets a server of its own).
import { readFileSync } from "node:fs";
import path from "node:path";
import { serve } from "../../src/server/serve.ts";

const HERE = import.meta.dirname;
let MODEL = "demo-bert";

interface Held {
  sentiment: { text: string; label: string }[];
  topic: { text: string; label: string }[];
  ner: { tokens: string[]; tags: string[] }[];
  qa: { question: string; context: string; answer: string }[];
}

type Row = Record<string, unknown>;

async function predict(url: string, inputs: unknown[], adapters: unknown): Promise<Row[]> {
  const res = await fetch(`${url}/v1/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: MODEL, inputs, tasks: [{ adapters }] }),
  });
  const body = (await res.json()) as { results: { outputs: Row[] }[]; detail?: string };
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${body.detail ?? JSON.stringify(body)}`);
  return body.results[0].outputs;
}

/** Entities as "type start end" over words, from word-level BIO tags. */
function entities(tags: string[]): Set<string> {
  const out = new Set<string>();
  let open: { type: string; start: number } | null = null;
  const close = (end: number) => {
    if (open) out.add(`${open.type} ${open.start} ${end}`);
    open = null;
  };
  tags.forEach((t, i) => {
    if (t === "O") close(i);
    else if (t.startsWith("B-") || !open || open.type !== t.slice(2)) {
      close(i);
      open = { type: t.slice(2), start: i };
    }
  });
  close(tags.length);
  return out;
}

export async function evaluate(url: string, held: Held) {
  const results: Record<string, { right: number; total: number; note: string }> = {};
  const chunks = <T>(xs: T[], n = 32) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n));

  for (const task of ["sentiment", "topic"] as const) {
    let right = 0;
    for (const c of chunks(held[task])) {
      const rows = await predict(url, c.map((e) => e.text), task);
      rows.forEach((r, i) => (right += Number(r.label === c[i].label)));
    }
    results[task] = { right, total: held[task].length, note: "label" };
  }
  {
    // the fusion of sentiment and topic answers sentiment
    let right = 0;
    for (const c of chunks(held.sentiment)) {
      const rows = await predict(url, c.map((e) => e.text), { fuse: ["sentiment", "topic"] });
      rows.forEach((r, i) => (right += Number(r.label === c[i].label)));
    }
    results["sentiment-fusion"] = { right, total: held.sentiment.length, note: "label" };
  }
  {
    // NER: a sentence is right when every entity (type and words) is found and nothing else
    let right = 0;
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const c of chunks(held.ner)) {
      const texts = c.map((e) => e.tokens.join(" "));
      const rows = await predict(url, texts, "ner");
      rows.forEach((r, i) => {
        const words = c[i].tokens;
        const starts: number[] = [];
        let at = 0;
        for (const w of words) {
          starts.push(at);
          at += w.length + 1;
        }
        const tokens = r.tokens as { label: string; start: number }[];
        // each word takes the label of its first piece
        const predicted = starts.map((s) => tokens.find((t) => t.start === s)?.label ?? "O");
        const want = entities(c[i].tags);
        const got = entities(predicted);
        const hit = [...got].filter((e) => want.has(e)).length;
        tp += hit;
        fp += got.size - hit;
        fn += want.size - hit;
        right += Number(hit === want.size && got.size === want.size);
      });
    }
    const f1 = (2 * tp) / (2 * tp + fp + fn);
    results.ner = { right, total: held.ner.length, note: `sentence has every entity right; entity F1 ${(100 * f1).toFixed(1)}%` };
  }
  {
    let right = 0;
    for (const c of chunks(held.qa)) {
      const rows = await predict(url, c.map((e) => [e.question, e.context]), "qa");
      rows.forEach((r, i) => (right += Number((r.answer as { text: string }).text.trim() === c[i].answer)));
    }
    results.qa = { right, total: held.qa.length, note: "exact answer text" };
  }
  return results;
}

/** Held-out pairs; `senses`: the German words the domain gives the English words whose translation depends on it. */
interface HeldTranslation { [domain: string]: { en: string; de: string; senses: string[] }[] }

export async function translate(url: string, model: string, inputs: string[], adapters: string | null): Promise<string[]> {
  const res = await fetch(`${url}/v1/generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, inputs, tasks: [{ adapters }], options: { num_beams: 1 } }),
  });
  const body = (await res.json()) as { results: { outputs: { text: string }[][] }[]; detail?: string };
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${body.detail ?? JSON.stringify(body)}`);
  return body.results[0].outputs.map((o) => o[0].text);
}

/** Held-out pairs (tools/demo/heldout-translation.json): exact translations, and the domain's word chosen where the English is ambiguous. */
export async function evaluateTranslation(url: string, model: string, held: HeldTranslation) {
  const rows: { adapters: string; domain: string; exact: string; sense: string }[] = [];
  const runs: [string | null, string][] = [[null, "general"], ...Object.keys(held).filter((d) => d !== "general").flatMap((d): [string | null, string][] => [[null, d], [`en-de-${d}`, d]])];
  for (const [adapters, domain] of runs) {
    const pairs = held[domain];
    let exact = 0;
    let sense = 0;
    let ambiguous = 0;
    for (let i = 0; i < pairs.length; i += 32) {
      const c = pairs.slice(i, i + 32);
      const outs = await translate(url, model, c.map((p) => p.en), adapters);
      outs.forEach((o, j) => {
        exact += Number(o === c[j].de);
        const want = c[j].senses;
        if (!want.length) return;
        ambiguous++;
        const words = o.replace(/[.,?!]/g, " ").split(/\s+/);
        sense += Number(want.every((w) => words.includes(w)));
      });
    }
    rows.push({ adapters: adapters ?? "none (base model)", domain, exact: `${exact}/${pairs.length} (${((100 * exact) / pairs.length).toFixed(1)}%)`, sense: `${sense}/${ambiguous}` });
  }
  return rows;
}

/** Sentences typed by hand (not generated): printed with the store's answers, not counted. */
const BY_HAND = {
  sentiment: ["I hate this film", "What a wonderful day", "I love it", "terrible, awful, boring", "The food was not good", "I never liked that place", "The hotel was lovely but the staff were rude", "Not bad at all!"],
  topic: ["The team won the match", "The government passed a new law", "Shares fell after the company reported a loss", "Scientists discovered a new planet"],
  ner: ["Angela Merkel visited Paris", "Tim Cook works for Apple in California", "Mary met John in London last week"],
  qa: [["Where did Mary go?", "Mary went to Paris last summer."], ["Who is at the door?", "Alice is at the door."], ["When did Tom buy the car?", "Tom bought the car on Monday. Anna sold her bike in May."]],
};

const TRANSLATION_MODEL = "demo-bart-en-de";
const BY_HAND_MT = ["The court was full.", "We watched the match yesterday.", "The coach is old.", "The judge checked the record."];

export async function byHand(url: string): Promise<string[]> {
  const lines: string[] = [];
  for (const task of ["sentiment", "topic"] as const) {
    const rows = await predict(url, BY_HAND[task], task);
    rows.forEach((r, i) => lines.push(`${task}: "${BY_HAND[task][i]}" -> ${r.label as string} ${(r.score as number).toFixed(2)}`));
  }
  const tags = await predict(url, BY_HAND.ner, "ner");
  tags.forEach((r, i) => {
    const ents = (r.tokens as { label: string; start: number; end: number }[]).filter((t) => t.label !== "O").map((t) => `${BY_HAND.ner[i].slice(t.start, t.end)}/${t.label}`);
    lines.push(`ner: "${BY_HAND.ner[i]}" -> ${ents.join(" ") || "(none)"}`);
  });
  const answers = await predict(url, BY_HAND.qa, "qa");
  answers.forEach((r, i) => lines.push(`qa: "${BY_HAND.qa[i][0]}" / "${BY_HAND.qa[i][1]}" -> "${(r.answer as { text: string }).text}"`));
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const held = JSON.parse(readFileSync(path.join(HERE, "heldout.json"), "utf8")) as Held;
  const given = process.argv[2] ?? path.join(HERE, "../../adapters");
  const server = /^https?:/.test(given) ? null : await serve({ store: given, port: 0, host: "127.0.0.1", quiet: true });
  try {
    const url = server?.url ?? given;
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { models: { name: string; seq2seq?: boolean }[] };
    MODEL = models.models.find((m) => m.name === "demo-bert")?.name ?? models.models[0].name;
    const results = await evaluate(url, held);
    console.log("| task | right | accuracy | counted as |\n|---|---|---|---|");
    for (const [task, r] of Object.entries(results)) console.log(`| ${task} | ${r.right}/${r.total} | ${((100 * r.right) / r.total).toFixed(1)}% | ${r.note} |`);
    console.log("\nSentences typed by hand (not counted):");
    for (const l of await byHand(url)) console.log(`  ${l}`);
    const mt = models.models.find((m) => m.name === TRANSLATION_MODEL);
    if (mt) {
      const heldMt = JSON.parse(readFileSync(path.join(HERE, "heldout-translation.json"), "utf8")) as HeldTranslation;
      console.log("\n| adapters | held-out sentences | exact translations | domain word right |\n|---|---|---|---|");
      for (const r of await evaluateTranslation(url, mt.name, heldMt)) console.log(`| ${r.adapters} | ${r.domain} | ${r.exact} | ${r.sense} |`);
      console.log("\nTranslations typed by hand (not counted):");
      for (const text of BY_HAND_MT) {
        for (const adapters of [null, "en-de-sports", "en-de-legal"]) console.log(`  ${adapters ?? "base"}: "${text}" -> "${(await translate(url, mt.name, [text], adapters))[0]}"`);
      }
    }
  } finally {
    await server?.close();
  }
}
