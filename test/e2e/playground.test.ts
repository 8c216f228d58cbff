// The playground (GET /) in headless Chromium against a real server: what the
// page draws must be the API's own numbers for the same input.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import type { RunningServer } from "../../src/server/serve.ts";
import { get, post, startServer } from "../support/server.ts";
import { CHROMIUM_ARGS, ensureChromium } from "../support/chromium.ts";
import { ROOT, ADAPTERHUB_FIXTURES } from "../support/paths.ts";

const TEXT = "Anna loves the new film from Paris";
const MODEL = "bert-tiny";

describe("playground", { timeout: 20 * 60_000 }, () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    const executablePath = ensureChromium();
    server = await startServer(ADAPTERHUB_FIXTURES);
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(): Promise<void> {
    await page.goto(`${server.url}/`);
    await page.waitForSelector("body[data-loaded]");
  }

  async function compose(mode: string, names: string[], text = TEXT): Promise<void> {
    await open();
    await page.selectOption("#model", MODEL);
    await page.fill("#text", text);
    await page.fill("#text-b", "");
    await page.selectOption("#mode", mode);
    for (const n of names) await page.check(`#adapter-list input[data-adapter="${n}"]`);
    await page.click("#run");
    await page.waitForSelector("body[data-ready]");
    assert.equal(await page.$eval("#status", (e) => e.className), "", await page.$eval("#status", (e) => e.textContent));
  }

  test("GET / is a self-contained HTML page; the adapters panel lists the store", async () => {
    const res = await get(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    assert.ok(!/(src|href)=["']?https?:/.test(res.text), "no external resources");
    await open();
    const api = (await get(`${server.url}/v1/adapters`)).json.adapters as any[];
    const rows = await page.$$eval("#adapters-panel tr.adapter-info", (trs) =>
      trs.map((t) => ({ name: t.getAttribute("data-adapter"), type: t.getAttribute("data-type"), head: t.getAttribute("data-head-type") })));
    assert.deepEqual(rows, api.map((a) => ({ name: a.name, type: a.type, head: a.head?.type ?? "" })));
    const models = await page.$$eval("#model option", (os) => os.map((o) => (o as HTMLOptionElement).value));
    // encoder-decoder models are in the translation view (test/e2e/playground-translation.test.ts)
    assert.deepEqual(models, (await get(`${server.url}/v1/models`)).json.models.filter((m: any) => !m.encoder_decoder).map((m: any) => m.name));
  });

  test("with API keys: the key typed in the page lists and runs its tenant's adapters", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "polyhead-playground-"));
    cpSync(ADAPTERHUB_FIXTURES, dir, { recursive: true });
    cpSync(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment"), path.join(dir, "adapters/acme/mine"), { recursive: true });
    const keyed = await startServer(dir, { keys: [{ sha256: createHash("sha256").update("k-acme").digest("hex"), tenant: "acme" }], models: [MODEL] });
    try {
      await page.goto(`${keyed.url}/`);
      await page.waitForSelector("body[data-loaded]");
      assert.equal(await page.$eval("body", (b) => b.getAttribute("data-loaded")), "error", "without a key the listings are refused");
      await page.fill("#api-key", "k-acme");
      await page.dispatchEvent("#api-key", "change");
      await page.waitForSelector('body[data-loaded="1"]');
      const api = (await get(`${keyed.url}/v1/adapters`, { authorization: "Bearer k-acme" })).json.adapters as any[];
      const rows = await page.$$eval("#adapters-panel tr.adapter-info", (trs) => trs.map((t) => t.getAttribute("data-adapter")));
      assert.deepEqual(rows, api.map((a) => a.name));
      assert.ok(rows.includes("acme/mine"), rows.join());
      await page.selectOption("#model", MODEL);
      await page.fill("#text", TEXT);
      await page.selectOption("#mode", "single");
      await page.check('#adapter-list input[data-adapter="acme/mine"]');
      await page.click("#run");
      await page.waitForSelector("body[data-ready]");
      assert.equal(await page.$eval("#status", (e) => e.className), "", await page.$eval("#status", (e) => e.textContent));
      assert.equal(await page.$$eval(".result[data-name]", (r) => r.length), 1);
    } finally {
      await page.evaluate(() => sessionStorage.clear());
      await keyed.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a single adapter: the bars are the API's labels and scores", async () => {
    await compose("single", ["sentiment"]);
    const api = await post(`${server.url}/v1/predict`, { model: MODEL, inputs: [TEXT], tasks: [{ name: "playground", adapters: "sentiment" }] });
    assert.equal(api.status, 200);
    const want = api.json.results[0].outputs[0].scores as Record<string, number>;
    const results = await page.$$(".result[data-name]");
    assert.equal(results.length, 1);
    const bars = await page.$$eval(".result .bar[data-label]", (bs) =>
      bs.map((b) => ({ label: b.getAttribute("data-label")!, score: Number(b.getAttribute("data-score")), width: (b as HTMLElement).style.width })));
    assert.deepEqual(bars.map((b) => b.label), Object.keys(want));
    for (const b of bars) {
      assert.ok(Math.abs(b.score - want[b.label]) < 1e-6, `${b.label}: ${b.score} vs ${want[b.label]}`);
      assert.ok(Math.abs(parseFloat(b.width) - want[b.label] * 100) < 1e-3, `${b.label}: width ${b.width}`);
    }
    const pcts = await page.$$eval(".result .pct", (ps) => ps.map((p) => p.textContent));
    assert.deepEqual(pcts, Object.values(want).map((s) => `${(s * 100).toFixed(1)}%`));
  });

  test("a parallel composition: two results; the tagging one shows the API's token labels inline", async () => {
    await compose("parallel", ["sentiment", "ner"]);
    const api = await post(`${server.url}/v1/predict`, {
      model: MODEL, inputs: [TEXT], tasks: [{ name: "playground", adapters: { parallel: ["sentiment", "ner"] } }],
    });
    assert.equal(api.status, 200);
    const got = await page.$$eval(".result[data-name]", (rs) => rs.map((r) => ({ name: r.getAttribute("data-name"), type: r.getAttribute("data-type") })));
    assert.deepEqual(got, api.json.results.map((r: any) => ({ name: r.name, type: r.type })));
    assert.equal(got.length, 2);
    const tagging = api.json.results.find((r: any) => r.type === "tagging");
    assert.ok(tagging, "ner is a tagging result");
    const tokens = await page.$$eval('.result[data-type="tagging"] .tok', (ts) =>
      ts.map((t) => ({ label: t.getAttribute("data-label"), start: Number(t.getAttribute("data-start")), end: Number(t.getAttribute("data-end")), shown: t.firstChild?.textContent })));
    const want = tagging.outputs[0].tokens as { label: string; start: number; end: number }[];
    assert.deepEqual(tokens.map(({ label, start, end }) => ({ label, start, end })), want.map(({ label, start, end }) => ({ label, start, end })));
    for (const t of tokens) assert.equal(t.shown, TEXT.slice(t.start, t.end));
    const tags = await page.$$eval('.result[data-type="tagging"] .tok .tag', (ts) => ts.map((t) => t.textContent));
    assert.deepEqual(tags, want.map((t) => t.label));
  });

  test("a fusion: the heatmap is the API's fusion attention averaged over tokens", async () => {
    const names = ["sentiment", "topic", "formality"];
    await compose("fuse", names, "what a wonderful film");
    const api = await post(`${server.url}/v1/fuse`, { model: MODEL, inputs: ["what a wonderful film"], fuse: names, options: { return_fusion_attention: true } });
    assert.equal(api.status, 200);
    assert.deepEqual(api.json.adapters, names);
    const fa = api.json.outputs[0].fusion_attention as Record<string, Record<string, number[][]>>;
    const want = new Map<string, number>();
    for (const [layer, locs] of Object.entries(fa)) {
      for (const [loc, m] of Object.entries(locs)) {
        names.forEach((n, j) => want.set(`${layer}|${loc}|${n}`, m.reduce((s, r) => s + r[j], 0) / m.length));
      }
    }
    const cells = await page.$$eval(".heatmap td[data-layer][data-location][data-adapter][data-value]", (tds) =>
      tds.map((t) => ({ key: `${t.getAttribute("data-layer")}|${t.getAttribute("data-location")}|${t.getAttribute("data-adapter")}`, value: Number(t.getAttribute("data-value")), title: t.getAttribute("title") })));
    assert.equal(cells.length, want.size);
    assert.deepEqual(new Set(cells.map((c) => c.key)), new Set(want.keys()));
    for (const c of cells) {
      assert.ok(Math.abs(c.value - want.get(c.key)!) < 1e-3, `${c.key}: ${c.value} vs ${want.get(c.key)}`);
      assert.ok(c.title?.includes(String(c.value)), "the title carries the value");
    }
    const columns = await page.$$eval(".heatmap th[data-adapter]", (ths) => ths.map((t) => t.getAttribute("data-adapter")));
    assert.deepEqual(columns, names);
    const rows = await page.$$eval(".heatmap tr[data-layer]", (trs) => trs.map((t) => `${t.getAttribute("data-layer")}|${t.getAttribute("data-location")}`));
    assert.equal(rows.length, Object.values(fa).reduce((s, l) => s + Object.keys(l).length, 0));

    // the per-token view: pick a token, see its own weights
    const [layer, locs] = Object.entries(fa)[0];
    const [loc, m] = Object.entries(locs)[0];
    const k = m.length - 1;
    await page.selectOption("#token-select", String(k));
    const tokenCells = await page.$$eval(`.token-heatmap td[data-layer="${layer}"][data-location="${loc}"]`, (tds) => tds.map((t) => Number(t.getAttribute("data-value"))));
    tokenCells.forEach((v, j) => assert.ok(Math.abs(v - m[k][j]) < 1e-6, `token ${k}, ${names[j]}`));

    mkdirSync(path.join(ROOT, "test-artifacts"), { recursive: true });
    const shot = path.join(ROOT, "test-artifacts/playground.png");
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 1000);
  });
});
