// `npx tsx tools/demo/screenshot.ts [store] [model]`: the README's screenshots
// of the playground serving the bundled demo store, with the answers the
// trained adapters really give: docs/playground.png (classification, parallel
// adapters) and, with DEMO_VIEW=translate, docs/playground-translation.png (the
// translation model with its two domain adapters in parallel). Headless
// Chromium, as the playground's tests run it.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Page } from "playwright-core";
import { serve } from "../../src/server/serve.ts";
import { CHROMIUM_ARGS, ensureChromium } from "../../test/support/chromium.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const store = process.argv[2] ?? path.join(ROOT, "adapters");
const model = process.argv[3];
const TEXT = process.env.DEMO_TEXT ?? "Our team played a wonderful match yesterday";
const ADAPTERS = (process.env.DEMO_ADAPTERS ?? "sentiment,topic").split(",");
const TRANSLATE = process.env.DEMO_VIEW === "translate";
const out = path.join(ROOT, TRANSLATE ? "docs/playground-translation.png" : "docs/playground.png");
const MT_TEXTS = ["The court was full.", "We watched the match yesterday.", "The coach is old.", "The judge checked the record."];

const server = await serve({ store, port: 0, host: "127.0.0.1", quiet: true });
const browser = await chromium.launch({ executablePath: ensureChromium(), args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${server.url}/`);
  await page.waitForSelector("body[data-loaded]");
  if (TRANSLATE) {
    await page.click('#tabs a[data-view="translate"]');
    await page.selectOption("#t-model", model ?? "demo-bart-en-de");
    await page.fill("#t-text", MT_TEXTS.join("\n"));
    await page.selectOption("#t-mode", "parallel");
    for (const n of ["en-de-sports", "en-de-legal"]) await page.check(`#t-adapter-list input[data-adapter="${n}"]`);
    await page.fill("#t-beams", "1");
    await page.fill("#t-max-new", "20");
    await page.click("#t-run");
    await page.waitForSelector("body[data-translated]");
    const [cls, status] = await page.$eval("#t-status", (e) => [e.className, e.textContent ?? ""]);
    if (cls) throw new Error(`the playground reports: ${status}`);
  } else {
    await classify(page);
  }
  await page.screenshot({ path: out, fullPage: true });
  process.stderr.write(`wrote ${path.relative(ROOT, out)}\n`);
} finally {
  await browser.close();
  await server.close();
}

async function classify(page: Page) {
  if (model) await page.selectOption("#model", model);
  await page.fill("#text", TEXT);
  await page.fill("#text-b", "");
  await page.selectOption("#mode", "parallel");
  for (const n of ADAPTERS) await page.check(`#adapter-list input[data-adapter="${n}"]`);
  await page.click("#run");
  await page.waitForSelector("body[data-ready]");
  const [cls, status] = await page.$eval("#status", (e) => [e.className, e.textContent ?? ""]);
  if (cls) throw new Error(`the playground reports: ${status}`);
}
