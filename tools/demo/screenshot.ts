// `npx tsx tools/demo/screenshot.ts [store] [model]`: the README's screenshot
// (docs/playground.png) of the playground serving the bundled demo store, with
// the answers the trained adapters really give. Headless Chromium, as the
// playground's tests run it.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../src/server/serve.ts";
import { CHROMIUM_ARGS, ensureChromium } from "../../test/support/chromium.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const store = process.argv[2] ?? path.join(ROOT, "adapters");
const model = process.argv[3];
const TEXT = process.env.DEMO_TEXT ?? "Our team played a wonderful match yesterday";
const ADAPTERS = (process.env.DEMO_ADAPTERS ?? "sentiment,topic").split(",");
const out = path.join(ROOT, "docs/playground.png");

const server = await serve({ store, port: 0, host: "127.0.0.1", quiet: true });
const browser = await chromium.launch({ executablePath: ensureChromium(), args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${server.url}/`);
  await page.waitForSelector("body[data-loaded]");
  if (model) await page.selectOption("#model", model);
  await page.fill("#text", TEXT);
  await page.fill("#text-b", "");
  await page.selectOption("#mode", "parallel");
  for (const n of ADAPTERS) await page.check(`#adapter-list input[data-adapter="${n}"]`);
  await page.click("#run");
  await page.waitForSelector("body[data-ready]");
  const [cls, status] = await page.$eval("#status", (e) => [e.className, e.textContent ?? ""]);
  if (cls) throw new Error(`the playground reports: ${status}`);
  await page.screenshot({ path: out, fullPage: true });
  process.stderr.write(`wrote ${path.relative(ROOT, out)}: "${TEXT}" with ${ADAPTERS.join(" + ")} (parallel)\n`);
} finally {
  await browser.close();
  await server.close();
}
