// The playground's translation view (GET /#translate) in headless Chromium
// against a real server over a store with both encoders and encoder-decoder
// models: what the page shows must be /v1/generate's own answer to the same
// request (texts, beam scores, the fusion's attention per generated token).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import type { RunningServer } from "../../src/server/serve.ts";
import { copyStore, get, post, startServer } from "../support/server.ts";
import { CHROMIUM_ARGS, ensureChromium } from "../support/chromium.ts";
import { ROOT, ADAPTERHUB_FIXTURES, LOCAL_FIXTURES } from "../support/paths.ts";

const SEQ2SEQ = path.join(LOCAL_FIXTURES, "seq2seq");
const TEXTS = ["The movie was great!", "Paris is a beautiful city in France.", "Stocks fell quickly today after the bank report."];

interface Drive {
  model: string;
  texts: string[];
  mode?: "single" | "stack" | "parallel" | "fuse";
  adapters?: string[];
  langs?: [string, string];
  beams?: number;
  maxNew?: number;
}

/** The /v1/generate body the page should send for these choices. */
function requestOf(d: Drive): any {
  const names = d.adapters ?? [];
  const mode = d.mode ?? "single";
  const adapters = !names.length ? null : mode === "single" ? names[0] : { [mode]: names };
  const options: Record<string, unknown> = { num_beams: d.beams ?? 1, max_new_tokens: d.maxNew ?? 20 };
  if (d.langs) Object.assign(options, { src_lang: d.langs[0], tgt_lang: d.langs[1] });
  if (mode === "fuse" && names.length) options.return_fusion_attention = true;
  return { model: d.model, inputs: d.texts, tasks: [{ adapters }], options };
}

describe("playground: translation view", { timeout: 20 * 60_000 }, () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let cleanup = () => {};

  before(async () => {
    const executablePath = ensureChromium();
    // the encoder store, with the translation models, adapters and fusions beside it
    let dir: string;
    ({ dir, cleanup } = copyStore(ADAPTERHUB_FIXTURES, () => true));
    for (const kind of ["models", "adapters", "fusions"]) {
      for (const name of readdirSync(path.join(SEQ2SEQ, kind))) cpSync(path.join(SEQ2SEQ, kind, name), path.join(dir, kind, name), { recursive: true });
    }
    server = await startServer(dir);
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    cleanup();
  });

  async function open(): Promise<void> {
    await page.goto(`${server.url}/#translate`);
    await page.waitForSelector("body[data-loaded]");
  }

  /** Fills the translation view as `d` says, presses Translate; the request the page shows. */
  async function drive(d: Drive): Promise<any> {
    await open();
    await page.selectOption("#t-model", d.model);
    await page.fill("#t-text", d.texts.join("\n"));
    if (d.langs) {
      await page.selectOption("#t-src-lang", d.langs[0]);
      await page.selectOption("#t-tgt-lang", d.langs[1]);
    }
    await page.selectOption("#t-mode", d.mode ?? "single");
    for (const n of d.adapters ?? []) await page.check(`#t-adapter-list input[data-adapter="${n}"]`);
    await page.fill("#t-beams", String(d.beams ?? 1));
    await page.fill("#t-max-new", String(d.maxNew ?? 20));
    await page.click("#t-run");
    await page.waitForSelector("body[data-translated]");
    assert.equal(await page.$eval("#t-status", (e) => e.className), "", (await page.$eval("#t-status", (e) => e.textContent)) ?? "");
    const shown = JSON.parse((await page.$eval("#t-request", (e) => e.textContent)) ?? "null");
    assert.deepEqual(shown, requestOf(d), "the page sends the request its choices make");
    return shown;
  }

  /** The API's answer to the page's request. */
  async function api(body: unknown): Promise<any> {
    const res = await post(`${server.url}/v1/generate`, body);
    assert.equal(res.status, 200, res.text);
    return res.json;
  }

  /** Per result (branch): its name, and per row the shown translation and beam score. */
  async function shown(): Promise<{ name: string; rows: { row: number; source: string; text: string; score: number | null; tokens: number }[] }[]> {
    return page.$$eval("#t-results .translation[data-name]", (secs) =>
      secs.map((s) => ({
        name: s.getAttribute("data-name")!,
        rows: [...s.querySelectorAll(".t-row")].map((r) => {
          const score = r.querySelector(".t-score");
          const text = r.querySelector(".t-text")!;
          return {
            row: Number(r.getAttribute("data-row")),
            source: r.querySelector(".t-src")!.textContent!,
            text: text.textContent!,
            score: score ? Number(score.getAttribute("data-score")) : null,
            tokens: Number(text.getAttribute("data-tokens")),
          };
        }),
      })));
  }

  function sameAsApi(got: Awaited<ReturnType<typeof shown>>, want: any, texts: string[], beams: boolean): void {
    assert.deepEqual(got.map((g) => g.name), want.results.map((r: any) => r.name));
    want.results.forEach((r: any, i: number) => {
      assert.deepEqual(got[i].rows.map((x) => x.row), r.rows);
      r.rows.forEach((row: number, k: number) => {
        const best = r.outputs[k][0];
        const g = got[i].rows[k];
        assert.equal(g.source, texts[row]);
        assert.equal(g.text, best.text, `${r.name}, input ${row}`);
        assert.equal(g.tokens, best.token_ids.length);
        if (beams) assert.ok(g.score !== null && Math.abs(g.score - best.sequence_score) < 1e-9, `${r.name}, input ${row}: beam score ${g.score} vs ${best.sequence_score}`);
        else assert.equal(g.score, null, "no beam score for greedy decoding");
      });
    });
  }

  test("/v1/models marks encoder-decoder models and their languages; the translate tab lists only them", async () => {
    const models = (await get(`${server.url}/v1/models`)).json.models as any[];
    const byName = new Map(models.map((m) => [m.name, m]));
    assert.equal(byName.get("bert-tiny").encoder_decoder, undefined, "encoders are listed as before");
    for (const name of ["bart-s2s", "mbart-s2s", "marian-s2s"]) {
      const m = byName.get(name);
      assert.equal(m.encoder_decoder, true, name);
      assert.equal(m.encoder_layers, 2, name);
      assert.equal(m.decoder_layers, 2, name);
    }
    assert.deepEqual(byName.get("bart-s2s").languages, [], "BART's tokenizer puts no language code before the text");
    assert.deepEqual(byName.get("mbart-s2s").languages, ["en_XX", "de_DE", "fr_XX", "ro_RO"]);

    await page.goto(`${server.url}/`);
    await page.waitForSelector("body[data-loaded]");
    assert.equal(await page.isVisible("#view-translate"), false);
    await page.click('#tabs a[data-view="translate"]');
    await page.waitForSelector("#view-translate", { state: "visible" });
    assert.equal(await page.isVisible("#view-classify"), false);
    const tModels = await page.$$eval("#t-model option", (os) => os.map((o) => (o as HTMLOptionElement).value));
    assert.deepEqual(tModels, models.filter((m) => m.encoder_decoder).map((m) => m.name));
    const cModels = await page.$$eval("#model option", (os) => os.map((o) => (o as HTMLOptionElement).value));
    assert.deepEqual(cModels, ["bert-tiny"], "the classify view keeps the encoders");

    // a model's adapters are those saved for its model type
    await page.selectOption("#t-model", "bart-s2s");
    const listed = await page.$$eval("#t-adapter-list input[data-adapter]", (cs) => cs.map((c) => c.getAttribute("data-adapter")));
    const adapters = (await get(`${server.url}/v1/adapters`)).json.adapters as any[];
    assert.deepEqual(listed, adapters.filter((a) => a.model_type === "bart").map((a) => a.name));
    assert.ok(listed.includes("bart-news") && !listed.includes("sentiment") && !listed.includes("mbart-news"));
    assert.equal(await page.isVisible("#t-lang-field"), false, "BART takes no languages");
  });

  test("a single adapter: each line's translation is /v1/generate's text", async () => {
    const req = await drive({ model: "bart-s2s", texts: TEXTS, adapters: ["bart-news"], maxNew: 12 });
    sameAsApi(await shown(), await api(req), TEXTS, false);
    assert.equal(await page.isVisible("#t-fusion-panel"), false, "no fusion, no heatmap");
  });

  test("beam search shows each best beam's score", async () => {
    const req = await drive({ model: "bart-s2s", texts: TEXTS.slice(0, 2), adapters: ["bart-legal"], beams: 3, maxNew: 10 });
    sameAsApi(await shown(), await api(req), TEXTS, true);
  });

  test("mBART: source and target language picked from the model's languages", async () => {
    await open();
    await page.selectOption("#t-model", "mbart-s2s");
    assert.equal(await page.isVisible("#t-lang-field"), true);
    for (const id of ["#t-src-lang", "#t-tgt-lang"]) {
      assert.deepEqual(await page.$$eval(`${id} option`, (os) => os.map((o) => (o as HTMLOptionElement).value)), ["en_XX", "de_DE", "fr_XX", "ro_RO"]);
    }
    for (const langs of [["en_XX", "de_DE"], ["en_XX", "fr_XX"]] as [string, string][]) {
      const req = await drive({ model: "mbart-s2s", texts: TEXTS.slice(0, 2), adapters: ["mbart-medical"], langs, maxNew: 10 });
      const want = await api(req);
      sameAsApi(await shown(), want, TEXTS, false);
      // generation is forced to start with the target language's code
      for (const o of want.results[0].outputs) assert.equal(o[0].tokens[0], langs[1]);
    }
  });

  test("a parallel composition: one translation per branch and input", async () => {
    const req = await drive({ model: "bart-s2s", texts: TEXTS.slice(0, 2), mode: "parallel", adapters: ["bart-news", "bart-legal"], maxNew: 8 });
    const want = await api(req);
    assert.equal(want.results.length, 2);
    const got = await shown();
    assert.deepEqual(got.map((g) => g.name), ["bart-news", "bart-legal"]);
    sameAsApi(got, want, TEXTS, false);
  });

  for (const [model, family, langs] of [["bart-s2s", "bart", undefined], ["mbart-s2s", "mbart", ["en_XX", "de_DE"]]] as const) {
    test(`${family}: a fusion's heatmap is the API's attention per generated token, per decoder layer`, async () => {
      const names = [`${family}-news`, `${family}-legal`, `${family}-medical`];
      const texts = TEXTS.slice(0, 2);
      const req = await drive({ model, texts, mode: "fuse", adapters: names, langs: langs && [...langs], maxNew: 8 });
      const want = await api(req);
      sameAsApi(await shown(), want, texts, false);
      assert.equal(await page.isVisible("#t-fusion-panel"), true);
      const encoderDepth = ((await get(`${server.url}/v1/models`)).json.models as any[]).find((m) => m.name === model).encoder_layers as number;
      const outputs = want.results[0].outputs as any[][];

      for (let k = 0; k < texts.length; k++) {
        if (k > 0) await page.selectOption("#t-fusion-row", String(k));
        const best = outputs[k][0];
        const fa = best.fusion_attention as Record<string, Record<string, number[][]>>;
        const decoder = Object.keys(fa).filter((l) => Number(l) >= encoderDepth);
        assert.deepEqual(decoder.map(Number), [2, 3], "the decoder's layers, numbered after the encoder's");
        const tables = await page.$$eval("#t-heatmaps table.t-heatmap", (ts) => ts.map((t) => `${t.getAttribute("data-layer")}|${t.getAttribute("data-location")}|${t.getAttribute("data-row")}`));
        assert.deepEqual(new Set(tables), new Set(decoder.flatMap((l) => Object.keys(fa[l]).map((loc) => `${l}|${loc}|${k}`))), "one table per decoder layer and location, none for the encoder's");
        assert.equal(tables.length, decoder.reduce((n, l) => n + Object.keys(fa[l]).length, 0));
        for (const layer of decoder) {
          for (const [loc, m] of Object.entries(fa[layer])) {
            const sel = `#t-heatmaps table.t-heatmap[data-layer="${layer}"][data-location="${loc}"]`;
            assert.deepEqual(await page.$$eval(`${sel} th[data-adapter]`, (ths) => ths.map((t) => t.getAttribute("data-adapter"))), names);
            // rows: the generated tokens, each shown by its text
            const rows = await page.$$eval(`${sel} tr[data-step]`, (trs) =>
              trs.map((t) => {
                const tok = t.querySelector("th.t-token")!;
                return { token: tok.getAttribute("data-token"), id: Number(tok.getAttribute("data-token-id")), shown: tok.textContent };
              }));
            assert.equal(rows.length, best.token_ids.length, `${layer} ${loc}: one row per generated token`);
            assert.equal(m.length, best.token_ids.length);
            assert.deepEqual(rows.map((r) => r.id), best.token_ids);
            assert.deepEqual(rows.map((r) => r.token), best.tokens);
            rows.forEach((r) => assert.ok(r.shown && r.shown.length > 0));
            const cells = await page.$$eval(`${sel} td[data-step][data-adapter][data-value]`, (tds) =>
              tds.map((t) => ({ step: Number(t.getAttribute("data-step")), adapter: t.getAttribute("data-adapter")!, value: Number(t.getAttribute("data-value")), text: t.textContent })));
            assert.equal(cells.length, m.length * names.length);
            for (const c of cells) {
              const v = m[c.step][names.indexOf(c.adapter)];
              assert.ok(Math.abs(c.value - v) < 1e-3, `layer ${layer} ${loc}, step ${c.step}, ${c.adapter}: ${c.value} vs ${v}`);
              assert.equal(c.text, v.toFixed(3));
            }
          }
        }
      }

      if (family === "mbart") {
        await page.selectOption("#t-fusion-row", "0");
        mkdirSync(path.join(ROOT, "test-artifacts"), { recursive: true });
        const shot = path.join(ROOT, "test-artifacts/playground-translation.png");
        await page.screenshot({ path: shot, fullPage: true });
        assert.ok(statSync(shot).size > 1000);
      }
    });
  }
});
