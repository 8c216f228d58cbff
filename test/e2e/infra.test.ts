import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { ROOT } from "../support/paths.ts";

// infra/: the wrangler config and the Dockerfiles. No Docker engine exists in
// CI here, so the images are not built or run: the Dockerfiles are parsed and
// checked against the repository. `wrangler deploy --dry-run` bundles the
// real functions/worker.ts offline.

const INFRA = path.join(ROOT, "infra");
const read = (p: string) => readFileSync(path.join(ROOT, p), "utf8");

// ---------------------------------------------------------------- jsonc

/** JSON with comments and trailing commas → JSON (string-aware). */
export function stripJsonc(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      i = text.indexOf("*/", i + 2) + 1;
      if (i === 0) throw new Error("unterminated block comment");
    } else out += c;
  }
  return out.replace(/,(\s*[}\]])/g, "$1");
}

interface WranglerConfig {
  name: string;
  main: string;
  compatibility_date: string;
  containers: { name: string; class_name: string; image: string; instance_type: string | { vcpu?: number; memory_mib?: number }; max_instances: number }[];
  durable_objects: { bindings: { name: string; class_name: string }[] };
  migrations: { tag: string; new_sqlite_classes?: string[] }[];
  r2_buckets: { binding: string; bucket_name: string }[];
  vars: Record<string, string>;
  env?: Record<string, { vars?: Record<string, string>; r2_buckets?: { binding: string; bucket_name: string }[]; containers?: unknown }>;
}

const wranglerText = read("infra/wrangler.jsonc");
const config = JSON.parse(stripJsonc(wranglerText)) as WranglerConfig;

// ---------------------------------------------------------------- Dockerfile

interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Instructions of a Dockerfile: comments dropped, `\` continuations joined (comment lines inside them too). */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = "";
  let start = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (!buf && !line.trim())) return;
    if (!buf) start = i + 1;
    if (line.endsWith("\\")) {
      buf += line.slice(0, -1) + " ";
      return;
    }
    buf += line;
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(buf);
    assert.ok(m, `line ${start}: not an instruction: ${buf}`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
    buf = "";
  });
  assert.equal(buf, "", "a continuation runs off the end of the file");
  return out;
}

/** The words of an exec-form (JSON array) or shell-form argument. */
function words(args: string): string[] {
  if (args.startsWith("[")) return JSON.parse(args) as string[];
  return args.split(/\s+/).filter(Boolean);
}

/** ENV's key=value pairs. */
function envOf(ins: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of ins.filter((x) => x.op === "ENV")) {
    for (const m of i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, "");
  }
  return env;
}

/** .dockerignore patterns (plain names and folders; enough for this repository's file). */
const dockerignore = read(".dockerignore")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const ignored = (p: string) => {
  const clean = p.replace(/^\.\//, "").replace(/\/$/, "");
  return dockerignore.some((pat) => {
    const pt = pat.replace(/^\//, "").replace(/\/$/, "");
    if (pt.startsWith("*")) return clean.endsWith(pt.slice(1));
    return clean === pt || clean.startsWith(pt + "/");
  });
};

const pkg = JSON.parse(read("package.json")) as { dependencies: Record<string, string>; devDependencies: Record<string, string>; scripts: Record<string, string>; engines: { node: string } };
/** The oldest Node major package.json's engines allows (">=20" → 20). */
const MIN_NODE = Number(/^>=\s*(\d+)/.exec(pkg.engines.node)?.[1]);

function checkDockerfile(file: string, want: { ortInstall: string; device: string; base: RegExp }) {
  const all = parseDockerfile(read(file));
  // the image is its last stage; earlier stages build dist/
  const lastFrom = all.map((i) => i.op).lastIndexOf("FROM");
  const build = all.slice(0, lastFrom);
  const ins = all.slice(lastFrom);
  const ops = (op: string) => ins.filter((i) => i.op === op);

  // FROM: a pinned base (a tag, and not latest)
  const from = all.filter((i) => i.op === "FROM");
  assert.ok(from.length >= 1, "a FROM line");
  for (const f of from) {
    const image = words(f.args).find((w) => !w.startsWith("--"))!;
    if (from.some((g) => new RegExp(`\\bAS\\s+${image}$`, "i").test(g.args))) continue; // a build stage
    assert.match(image, /:[\w.-]+$/, `${file}: base image ${image} has no tag`);
    assert.doesNotMatch(image, /:latest$/, `${file}: base image ${image} uses latest`);
  }
  assert.match(words(from.at(-1)!.args)[0]!, want.base, `${file}: base image`);

  // the build stage compiles src/ into dist/ as `npm pack` does, on a Node that engines allows
  assert.ok(build.some((i) => i.op === "RUN" && /\bnpm run build\b/.test(i.args)), `${file}: npm run build in a build stage`);
  assert.equal(pkg.scripts.build, "tsc -p tsconfig.build.json");
  const buildNode = /^node:(\d+)/.exec(words(build.find((i) => i.op === "FROM")!.args)[0]!)?.[1];
  assert.ok(Number(buildNode) >= MIN_NODE, `${file}: the build stage's node:${buildNode} is allowed by engines ${pkg.engines.node}`);

  // npm ci: production dependencies only, with the right onnxruntime-node install mode
  const env = envOf(ins);
  const ci = ops("RUN").filter((r) => /\bnpm ci\b/.test(r.args));
  assert.equal(ci.length, 1, `${file}: one npm ci`);
  assert.match(ci[0]!.args, /--omit=dev/, `${file}: npm ci --omit=dev`);
  const inline = /ONNXRUNTIME_NODE_INSTALL=(\S+)\s+npm ci/.exec(ci[0]!.args)?.[1];
  assert.equal(inline ?? env.ONNXRUNTIME_NODE_INSTALL, want.ortInstall, `${file}: ONNXRUNTIME_NODE_INSTALL at npm ci`);
  // compiled JavaScript at run time: tsx is a dev dependency, gone with --omit=dev, and nothing asks for it
  assert.ok(pkg.devDependencies.tsx, "tsx is a dev dependency");
  assert.equal(pkg.dependencies.tsx, undefined);
  assert.doesNotMatch(ops("CMD").map((c) => c.args).join(" "), /tsx/);

  // runs as a non-root user
  const user = ops("USER").at(-1);
  assert.ok(user, `${file}: a USER line`);
  assert.doesNotMatch(user.args, /^(root|0)(:|$)/, `${file}: USER is not root`);
  const userAt = ins.indexOf(user);
  assert.ok(ins.findIndex((i) => i.op === "CMD") > userAt, `${file}: USER comes before CMD`);

  // health check on /healthz, the port the server listens on
  const hc = ops("HEALTHCHECK");
  assert.equal(hc.length, 1, `${file}: HEALTHCHECK`);
  assert.match(hc[0]!.args, /\/healthz/);
  assert.ok(ops("EXPOSE").some((e) => words(e.args).includes("8080")), `${file}: EXPOSE 8080`);
  assert.equal(env.PORT ?? "8080", "8080");
  assert.equal(env.POLYHEAD_DEVICE, want.device, `${file}: POLYHEAD_DEVICE`);
  assert.ok(env.POLYHEAD_STORE, `${file}: a default POLYHEAD_STORE`);

  // every COPY source exists and is in the build context (not in .dockerignore)
  const copies = ops("COPY").concat(ops("ADD"));
  assert.ok(copies.length > 0);
  const copied: string[] = [];
  for (const c of copies) {
    const w = words(c.args);
    if (w.some((x) => x.startsWith("--from"))) {
      copied.push(w.at(-1)!.replace(/^\.\//, "").replace(/\/$/, ""));
      continue;
    }
    const srcs = w.filter((x) => !x.startsWith("--")).slice(0, -1);
    assert.ok(srcs.length > 0, `${file}:${c.line}: COPY with no source`);
    for (const s of srcs) {
      assert.ok(existsSync(path.join(ROOT, s)), `${file}:${c.line}: COPY source ${s} does not exist`);
      assert.ok(!ignored(s), `${file}:${c.line}: COPY source ${s} is excluded by .dockerignore`);
      copied.push(s.replace(/\/$/, ""));
    }
  }
  for (const need of ["package.json", "package-lock.json", "dist", "adapters"]) assert.ok(copied.includes(need), `${file}: copies ${need}`);
  // the build stage's sources exist
  for (const c of build.filter((i) => i.op === "COPY")) {
    for (const s of words(c.args).filter((x) => !x.startsWith("--")).slice(0, -1)) {
      assert.ok(existsSync(path.join(ROOT, s)) && !ignored(s), `${file}: build stage COPY source ${s}`);
    }
  }
  // the default store is the bundled demo store, copied into the image
  if (!env.POLYHEAD_STORE!.startsWith("s3://")) {
    assert.ok(copied.includes(path.basename(env.POLYHEAD_STORE!)), `${file}: POLYHEAD_STORE=${env.POLYHEAD_STORE} is copied in`);
  }

  // CMD: the package's own bin, compiled (its source exists), copied in from the build stage, running `serve`
  const cmd = ops("CMD").at(-1);
  assert.ok(cmd, `${file}: CMD`);
  const args = words(cmd.args);
  const entry = args.find((w) => /\.(ts|js|mjs)$/.test(w));
  assert.equal(entry, (pkg as unknown as { bin: Record<string, string> }).bin.polyhead, `${file}: CMD runs the package's bin`);
  assert.ok(existsSync(path.join(ROOT, entry!.replace(/^dist\//, "src/").replace(/\.js$/, ".ts"))), `${file}: ${entry}'s source exists`);
  assert.ok(copied.some((c) => entry!.startsWith(c + "/")), `${file}: CMD entry ${entry} is copied in`);
  assert.equal(args.at(-1), "serve");
  assert.equal(env.HOST, "0.0.0.0", `${file}: listens on every interface`);
}

describe("Dockerfiles (parsed; no Docker engine here, images are not built)", () => {
  test("the parser joins continuations and drops comments", () => {
    const ins = parseDockerfile("# c\nFROM a:1\nRUN x \\\n# inside\n  && y\nCMD [\"node\", \"f.ts\"]\n");
    assert.deepEqual(ins.map((i) => i.op), ["FROM", "RUN", "CMD"]);
    assert.match(ins[1]!.args, /^x\s+&& y$/);
    assert.deepEqual(words(ins[2]!.args), ["node", "f.ts"]);
  });

  test("infra/Dockerfile: CPU, a Node that engines allows, ONNXRUNTIME_NODE_INSTALL=skip", () => {
    checkDockerfile("infra/Dockerfile", { ortInstall: "skip", device: "cpu", base: /^node:\d+[\w.-]*-slim$/ });
    const major = Number(/FROM node:(\d+)[\w.-]*-slim\s*$/m.exec(read("infra/Dockerfile"))?.[1]);
    assert.ok(major >= MIN_NODE, `node:${major} is allowed by engines ${pkg.engines.node}`);
  });

  test("infra/Dockerfile.cuda: CUDA 12 + cuDNN runtime, ONNXRUNTIME_NODE_INSTALL=cuda12", () => {
    checkDockerfile("infra/Dockerfile.cuda", { ortInstall: "cuda12", device: "cuda", base: /^nvidia\/cuda:12\.[\d.]+-cudnn[\d]*-runtime-ubuntu\d\d\.\d\d$/ });
    const major = Number(/NODE_VERSION=(\d+)\./.exec(read("infra/Dockerfile.cuda"))?.[1]);
    assert.ok(major >= MIN_NODE, `Node ${major} is allowed by engines ${pkg.engines.node}`);
    // npm >= 11 skips the install script that allowScripts denies: the CUDA provider is fetched by running it by name
    assert.match(read("infra/Dockerfile.cuda"), /ONNXRUNTIME_NODE_INSTALL=cuda12 node script\/install\.js/);
  });

  test(".dockerignore keeps the heavy and private folders out of the context", () => {
    for (const p of ["node_modules", "test-artifacts", "bench/results", ".git", "scratch", "tools"]) assert.ok(ignored(p), p);
    for (const p of ["src", "functions", "bin", "adapters", "package.json"]) assert.ok(!ignored(p), p);
  });
});

// ---------------------------------------------------------------- wrangler

/** No credentials, no metrics, no prompts: what CI has. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" };
  for (const k of ["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_KEY", "CLOUDFLARE_ACCOUNT_ID"]) delete env[k];
  return env;
}

describe("infra/wrangler.jsonc", () => {
  const workerSource = read("functions/worker.ts");
  const exportedClasses = [...workerSource.matchAll(/^export\s+class\s+(\w+)/gm)].map((m) => m[1]!);

  test("the Worker: name, entry, compatibility date", () => {
    assert.equal(config.name, "polyhead-edge");
    assert.equal(path.resolve(INFRA, config.main), path.join(ROOT, "functions/worker.ts"));
    assert.match(config.compatibility_date, /^\d{4}-\d\d-\d\d$/);
    assert.match(workerSource, /^export default\b/m, "functions/worker.ts has a default export");
  });

  test("the container class, its Durable Object binding and migration match functions/worker.ts", () => {
    assert.equal(config.containers.length, 1);
    const c = config.containers[0]!;
    assert.ok(exportedClasses.includes(c.class_name), `functions/worker.ts exports class ${c.class_name} (it exports: ${exportedClasses.join(", ")})`);
    assert.deepEqual(config.durable_objects.bindings, [{ name: "CONTAINER", class_name: c.class_name }]);
    assert.ok(config.migrations.some((m) => m.new_sqlite_classes?.includes(c.class_name)), "a new_sqlite_classes migration for the class");
    for (const b of config.durable_objects.bindings) assert.ok(exportedClasses.includes(b.class_name));
  });

  test("the container: a registry image, CPU within Cloudflare's limits (≤ 4 vCPU / 12 GiB)", () => {
    const c = config.containers[0]!;
    assert.doesNotMatch(c.image, /Dockerfile|^\.\.?\//, "a registry reference (a Dockerfile path needs Docker, also for --dry-run)");
    assert.match(c.image, /^[\w.-]+(:\d+)?\/[\w./-]+:[\w.-]+$/, "registry/repository:tag");
    assert.doesNotMatch(c.image, /:latest$/);
    const named: Record<string, [number, number]> = { lite: [1 / 16, 256], basic: [0.25, 1024], "standard-1": [0.5, 4096], "standard-2": [1, 6144], "standard-3": [2, 8192], "standard-4": [4, 12288] };
    const [vcpu, mib] = typeof c.instance_type === "string" ? named[c.instance_type] ?? [NaN, NaN] : [c.instance_type.vcpu ?? NaN, c.instance_type.memory_mib ?? NaN];
    assert.ok(vcpu <= 4 && mib <= 12 * 1024, `instance_type ${JSON.stringify(c.instance_type)}`);
    assert.ok(c.max_instances >= 1);
    assert.ok(Number(config.vars.CONTAINER_INSTANCES) <= c.max_instances, "CONTAINER_INSTANCES ≤ max_instances");
  });

  test("R2 bucket STORE, vars, and no secrets in the file", () => {
    assert.deepEqual(config.r2_buckets, [{ binding: "STORE", bucket_name: "polyhead-store" }]);
    assert.deepEqual(JSON.parse(config.vars.BACKENDS!), []);
    assert.equal(config.vars.POLYHEAD_STORE, "s3://polyhead-store");
    for (const secret of ["API_KEYS", "BACKEND_SECRET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
      assert.ok(!(secret in config.vars), `${secret} is a secret, not a var`);
      for (const e of Object.values(config.env ?? {})) assert.ok(!(secret in (e.vars ?? {})));
      assert.match(wranglerText, new RegExp(`//.*\\b${secret}\\b`), `${secret} is documented in a comment`);
    }
    // the bindings the edge app reads
    const edgeEnv = read("src/edge/app.ts");
    for (const name of ["API_KEYS", "BACKENDS", "BACKEND_SECRET", "CONTAINER", "STORE"]) assert.match(edgeEnv, new RegExp(`\\b${name}\\??:`), `EdgeEnv has ${name}`);
  });

  test("env.local (npm run dev:edge): no containers, BACKENDS set, the same bucket", () => {
    const local = config.env?.local;
    assert.ok(local);
    assert.equal(local.containers, undefined);
    assert.ok(JSON.parse(local.vars!.BACKENDS!).length >= 1);
    assert.deepEqual(local.r2_buckets, config.r2_buckets);
    assert.match(read("infra/dev-edge.ts"), /"--env", "local"/);
  });

  test("npm scripts", () => {
    // --env='': the top-level environment (env.local is only for dev:edge)
    assert.equal(pkg.scripts.deploy, "wrangler deploy --config infra/wrangler.jsonc --env=''");
    assert.ok(pkg.scripts["deploy:dry"]!.startsWith(`${pkg.scripts.deploy} --dry-run --outdir `));
    // wrangler resolves a relative --outdir against the config's folder for the bundle: keep it absolute
    assert.match(pkg.scripts["deploy:dry"]!, /--outdir "\$PWD\//);
    assert.match(pkg.scripts["dev:edge"]!, /infra\/dev-edge\.ts/);
  });

  test("wrangler deploy --dry-run bundles functions/worker.ts offline", { timeout: 60_000 }, () => {
    const outdir = mkdtempSync(path.join(tmpdir(), "polyhead-dry-run-"));
    try {
      const wrangler = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");
      const r = spawnSync(process.execPath, [wrangler, "deploy", "--dry-run", "--config", "infra/wrangler.jsonc", "--env=", "--outdir", outdir], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 55_000,
        env: offlineEnv(),
      });
      const output = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.status, 0, output);
      assert.match(output, /--dry-run: exiting now/);
      assert.doesNotMatch(output, /WARNING/, "no config warnings");
      for (const b of ["env.CONTAINER (PolyheadContainer)", "env.STORE (polyhead-store)", "env.BACKENDS"]) assert.ok(output.includes(b), `binding listed: ${b}\n${output}`);
      const bundle = path.join(outdir, "worker.js");
      assert.ok(statSync(bundle).size > 1000, "the bundle is written");
      const js = readFileSync(bundle, "utf8");
      const c = config.containers[0]!.class_name;
      assert.match(js, new RegExp(`export\\s*\\{[^}]*\\b${c}\\b[^}]*\\}`), `the bundle exports ${c}`);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
