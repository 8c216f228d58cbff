import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { ROOT } from "../support/paths.ts";

// The published package as a user gets it: `npm pack` (prepack compiles
// src/ into dist/), then the tarball installed into an empty folder and run
// from another folder with npx: --version, every --help, and `serve --demo`
// answering a prediction with the bundled demo store.
//
// Installing a tarball needs its dependencies. The folder gets a lockfile with
// exactly the versions of this repository's package-lock.json (its production
// part), and `npm ci --prefer-offline` takes them from npm's cache, which the
// checkout's own `npm ci` filled; only what the cache lacks is fetched. A bare
// `npm install ./polyhead-x.tgz` (no lockfile: the newest versions the ranges
// allow, fetched from the registry) works the same way, with
// ONNXRUNTIME_NODE_INSTALL=skip (README, "Install").

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const run = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> =>
  new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { name: string; version: string; license: string; dependencies: Record<string, string>; bin: Record<string, string>; engines: Record<string, string> };
const TARBALL = `${pkg.name}-${pkg.version}.tgz`;

let tmp: string;
let app: string;
let files: string[];

/** The install folder's lockfile: the package from the tarball, its dependencies as this repository locks them. */
function lockFor(): unknown {
  const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean; link?: boolean }> };
  const packages: Record<string, unknown> = {
    "": { name: "app", dependencies: { [pkg.name]: `file:${TARBALL}` } },
    [`node_modules/${pkg.name}`]: { version: pkg.version, resolved: `file:${TARBALL}`, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [key, entry] of Object.entries(lock.packages)) if (key !== "" && !entry.dev && !entry.link) packages[key] = entry;
  return { name: "app", lockfileVersion: 3, requires: true, packages };
}

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "polyhead-package-"));
  const packed = await run("npm", ["pack", "--json", "--pack-destination", tmp], ROOT);
  assert.equal(packed.code, 0, packed.stderr);
  files = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);

  app = path.join(tmp, "app");
  mkdirSync(app);
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, dependencies: { [pkg.name]: `file:../${TARBALL}` } }));
  writeFileSync(path.join(app, "package-lock.json"), JSON.stringify(lockFor()).replaceAll(`file:${TARBALL}`, `file:../${TARBALL}`));
  // CPU only: onnxruntime-node's CUDA download is skipped where npm runs its install script
  const installed = await run("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund"], app, { ONNXRUNTIME_NODE_INSTALL: "skip" });
  assert.equal(installed.code, 0, installed.stderr);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test("the tarball: compiled JavaScript, the demo store, the license; no sources, tests or build config", () => {
  for (const f of ["package.json", "LICENSE", "README.md", "dist/cli/main.js", "dist/engine/session-worker.js", "adapters/models/demo-bert/config.json", "adapters/adapters/sentiment/adapter_config.json"]) {
    assert.ok(files.includes(f), f);
  }
  assert.deepEqual(files.filter((f) => /\.ts$|^src\/|^test\/|^bench\/|^tools\/|^tsconfig/.test(f)), []);
  assert.equal(pkg.bin.polyhead, "dist/cli/main.js");
  assert.match(readFileSync(path.join(ROOT, "dist/cli/main.js"), "utf8"), /^#!\/usr\/bin\/env node\n/);
  assert.doesNotMatch(readFileSync(path.join(ROOT, "dist/engine/worker-pool.js"), "utf8"), /\.ts"\)/, "the compiled worker pool loads compiled JS");
});

test("installed: no dev tools came with it (tsx, typescript)", () => {
  assert.ok(existsSync(path.join(app, "node_modules", pkg.name, "dist/cli/main.js")));
  for (const dev of ["tsx", "typescript", "wrangler", "s3rver"]) assert.equal(existsSync(path.join(app, "node_modules", dev)), false, dev);
});

test("npx polyhead --version and every --help (each with an example)", async () => {
  const elsewhere = mkdtempSync(path.join(tmp, "cwd-"));
  const npx = (args: string[]) => run("npx", ["--no", "--prefix", app, "--", "polyhead", ...args], elsewhere);
  const v = await run("npx", ["--no", "--", "polyhead", "--version"], app);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), pkg.version);
  const help = await npx(["--help"]);
  assert.equal(help.code, 0, help.stderr);
  const listed = help.stdout.slice(help.stdout.indexOf("Commands:"), help.stdout.indexOf("Example"));
  const commands = [...listed.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!).filter((c) => c !== "help");
  assert.ok(commands.includes("pull") && commands.includes("serve"), help.stdout);
  assert.match(help.stdout, /Examples?:\n {2}\$ polyhead /);
  for (const c of commands) {
    const h = await npx([c, "--help"]);
    assert.equal(h.code, 0, `${c}: ${h.stderr}`);
    assert.match(h.stdout, /Examples?:\n {2}\$ polyhead /, `${c} --help has an example`);
  }
});

test("npx polyhead serve --demo, from another folder: the bundled store answers a prediction", async () => {
  const elsewhere = mkdtempSync(path.join(tmp, "cwd-"));
  const child = spawn("npx", ["--no", "--prefix", app, "--", "polyhead", "serve", "--demo", "--port", "0"], { cwd: elsewhere, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.on("line", (l) => {
        const m = /polyhead listening on (\S+)/.exec(l);
        if (m) resolve(m[1]!);
      });
      child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { models?: { name: string }[] } | { name: string }[];
    assert.match(JSON.stringify(models), /demo-bert/);
    const r = await fetch(`${url}/v1/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "demo-bert", inputs: ["what a wonderful film", "I hate this film"], tasks: [{ adapters: "sentiment" }] }),
    });
    const body = (await r.json()) as { results: { head: string; outputs: { label: string; score: number }[] }[] };
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.equal(body.results[0]!.head, "sentiment");
    // the demo store is trained (tools/demo/): it gets these two right
    const [good, bad] = body.results[0]!.outputs;
    assert.equal(good!.label, "positive", JSON.stringify(good));
    assert.equal(bad!.label, "negative", JSON.stringify(bad));
    assert.ok(good!.score > 0.5 && good!.score <= 1);
  } finally {
    // npx runs polyhead as its child: end the whole group it started
    process.kill(-child.pid!, "SIGTERM");
  }
});

test("a clean npm ci: .npmrc holds only keys npm reads, and every install script is reviewed in allowScripts", async () => {
  // npm warns on any project config it does not know (as it did on onnxruntime-node-install)
  const config = await run("npm", ["config", "get", "engine-strict"], ROOT);
  assert.equal(config.code, 0, config.stderr);
  assert.equal(config.stdout.trim(), "true");
  assert.doesNotMatch(config.stderr, /npm warn/i);
  // npm >= 11 warns at install about dependencies whose install scripts allowScripts does not cover
  const scripts = await run("npm", ["install-scripts", "ls", "--json"], ROOT);
  assert.equal(scripts.code, 0, scripts.stderr);
  assert.deepEqual((JSON.parse(scripts.stdout) as { allowScripts: unknown[] }).allowScripts, []);
  const allow = (pkg as unknown as { allowScripts: Record<string, boolean> }).allowScripts;
  // the CPU build of onnxruntime ships in its package: its script only downloads the CUDA provider (infra/Dockerfile.cuda runs it by name)
  assert.equal(allow["onnxruntime-node"], false);
});
