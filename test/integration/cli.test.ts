import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { zipSync } from "fflate";
import { push } from "../../src/cli/push.ts";
import { inspect } from "../../src/cli/inspect.ts";
import { optionsFromEnv } from "../../src/server/settings.ts";
import { LocalStore } from "../../src/store/local-store.ts";
import { S3Store } from "../../src/store/s3-store.ts";
import { filesToKeep, MANIFEST, type Manifest } from "../../src/store/layout.ts";
import { ROOT, ADAPTERHUB_FIXTURES } from "../support/paths.ts";
import { toPeft } from "../support/peft.ts";
import { startS3, type TestS3 } from "../support/s3.ts";

// `polyhead push | ls | inspect` as a user runs them: the real CLI in a child
// process, against a real S3-protocol server and a local folder.

let s3: TestS3;
let tmp: string;
let bucket: S3Store;
const FIXTURE_FOLDERS = [
  path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny"),
  ...readdirSync(path.join(ADAPTERHUB_FIXTURES, "adapters")).sort().map((a) => path.join(ADAPTERHUB_FIXTURES, "adapters", a)),
  ...readdirSync(path.join(ADAPTERHUB_FIXTURES, "fusions")).sort().map((f) => path.join(ADAPTERHUB_FIXTURES, "fusions", f)),
];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function polyhead(args: string[], env: Record<string, string | undefined> = {}, timeout = 0): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "bin/polyhead.js"), ...args],
      { env: { ...process.env, ...s3.env, POLYHEAD_STORE: undefined, ...env }, cwd: ROOT, timeout },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

before(async () => {
  s3 = await startS3();
  tmp = mkdtempSync(path.join(os.tmpdir(), "polyhead-cli-"));
  bucket = new S3Store(`s3://${s3.bucket}/fixtures`, { endpoint: s3.endpoint, credentials: s3.credentials });
});
after(async () => {
  bucket.close();
  await s3.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

test("push uploads the whole fixture store to S3 with a manifest of every file", async () => {
  const r = await polyhead(["push", ...FIXTURE_FOLDERS, "--store", `s3://${s3.bucket}/fixtures`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /pushed model bert-tiny → models\/bert-tiny\//);
  assert.match(r.stdout, /pushed fusion sentiment-fusion → fusions\/sentiment-fusion\//);
  // stderr is not a terminal here: no progress bar output
  assert.doesNotMatch(r.stderr, /\[.*\]\s*\d+%/);

  for (const dir of FIXTURE_FOLDERS) {
    const kind = path.basename(path.dirname(dir));
    const prefix = `${kind}/${path.basename(dir)}/`;
    const manifest = JSON.parse(new TextDecoder().decode((await bucket.get(prefix + MANIFEST))!.bytes)) as Manifest;
    assert.equal(manifest.format, 1);
    assert.equal(manifest.kind, kind.slice(0, -1));
    // the fixtures save both .safetensors and .bin: only the safetensors go up
    const local = filesToKeep(manifest.kind, readdirSync(dir).sort()).keep;
    assert.ok(local.every((f) => !f.endsWith(".bin")), prefix);
    assert.deepEqual(Object.keys(manifest.files).sort(), local, prefix);
    for (const f of local) {
      assert.equal(manifest.files[f].sha256, sha256(path.join(dir, f)), `${prefix}${f} hash`);
      const stored = await bucket.get(prefix + f);
      assert.equal(createHash("sha256").update(stored!.bytes).digest("hex"), manifest.files[f].sha256, `${prefix}${f} stored bytes`);
    }
  }
});

test("ls --json reads the pushed store back", async () => {
  const [r, human] = await Promise.all([
    polyhead(["ls", "--json", "--store", `s3://${s3.bucket}/fixtures`]),
    polyhead(["ls", "--store", `s3://${s3.bucket}/fixtures`]),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const entries = JSON.parse(r.stdout) as any[];
  assert.deepEqual(
    entries.map((e) => `${e.kind}:${e.name}`),
    FIXTURE_FOLDERS.map((d) => `${path.basename(path.dirname(d)).slice(0, -1)}:${path.basename(d)}`),
  );
  const sentiment = entries.find((e) => e.name === "sentiment");
  const local = filesToKeep("adapter", readdirSync(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment"))).keep;
  assert.deepEqual(sentiment.files.map((f: any) => f.name).sort(), local.sort());
  assert.equal(sentiment.size, local.reduce((n, f) => n + readFileSync(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment", f)).length, 0));
  assert.equal(sentiment.manifest.complete, true);
  assert.ok(entries.every((e) => e.manifest?.complete));

  assert.match(human.stdout, /^KIND\s+NAME\s+SIZE\s+FILES\s+PUSHED/);
  assert.match(human.stdout, /fusion\s+sentiment-fusion/);
});

test("inspect --json: config, head, files with ETags, fusions using it", async () => {
  const store = ["--store", `s3://${s3.bucket}/fixtures`];
  const [r, loraRun, fusionRun, missing] = await Promise.all([
    polyhead(["inspect", "sentiment", "--json", ...store]),
    polyhead(["inspect", "lora_sent", "--json", ...store]),
    polyhead(["inspect", "sentiment-fusion", "--json", ...store]),
    polyhead(["inspect", "nope", ...store]),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const i = JSON.parse(r.stdout);
  assert.equal(i.kind, "adapter");
  assert.equal(i.config.kind, "bottleneck");
  assert.equal(i.config.outputAdapter, true);
  assert.equal(i.config.reductionFactor, 16);
  assert.equal(i.hidden_size, 32);
  assert.deepEqual(i.head, { type: "classification", labels: ["negative", "positive"], layers: 2, activation: "tanh", use_pooler: false });
  assert.deepEqual(i.used_by_fusions, ["sentiment-fusion"]);
  assert.deepEqual(i.problems, []);
  const etag = (await bucket.head("adapters/sentiment/adapter.safetensors"))!.etag;
  assert.equal(i.files.find((f: any) => f.name === "adapter.safetensors").etag, etag);

  const lora = JSON.parse(loraRun.stdout);
  assert.equal(lora.config.kind, "lora");
  assert.deepEqual(lora.used_by_fusions, []);
  const fusion = JSON.parse(fusionRun.stdout);
  assert.equal(fusion.kind, "fusion");
  assert.deepEqual(fusion.adapters, ["sentiment", "topic", "formality"]);
  assert.equal(fusion.saved_name, "sentiment,topic,formality");

  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /"nope" is not in s3:\/\/polyhead\/fixtures/);
});

/** A copy of the sentiment adapter whose .bin is a torch zip whose pickle calls os.system. */
function hostileFolder(name: string): string {
  const dir = path.join(tmp, name);
  cpSync(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment"), dir, { recursive: true });
  const marker = path.join(tmp, "pwned");
  const s = (t: string) => Buffer.from(t, "latin1");
  const arg = s(`touch ${marker}`);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(arg.length);
  // PROTO 2, GLOBAL os.system, BINUNICODE arg, TUPLE1, REDUCE, STOP
  const pickle = Buffer.concat([Buffer.from([0x80, 0x02]), s("cos\nsystem\n"), s("X"), len, arg, Buffer.from([0x85]), s("R.")]);
  // without its safetensors, the .bin is the weight file push reads
  rmSync(path.join(dir, "adapter.safetensors"));
  writeFileSync(path.join(dir, "pytorch_adapter.bin"), zipSync({ "archive/data.pkl": pickle, "archive/version": s("3\n") }, { level: 0 }));
  return dir;
}

test("a hostile pickle or a malformed safetensors is refused before anything is uploaded", async () => {
  const good = path.join(ADAPTERHUB_FIXTURES, "adapters/topic");
  const evil = hostileFolder("evil");
  const r = await polyhead(["push", good, evil, "--store", `s3://${s3.bucket}/hostile`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /evil: pytorch_adapter\.bin is refused: .*forbidden global os\.system/);
  const store = new S3Store(`s3://${s3.bucket}/hostile`, { endpoint: s3.endpoint, credentials: s3.credentials });
  try {
    // nothing at all: the good folder waited for the whole push to be checked
    assert.deepEqual(await store.list(""), []);

    const broken = path.join(tmp, "broken");
    cpSync(path.join(ADAPTERHUB_FIXTURES, "adapters/topic"), broken, { recursive: true });
    const header = Buffer.from(JSON.stringify({ w: { dtype: "F32", shape: [1000], data_offsets: [0, 4000] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(path.join(broken, "adapter.safetensors"), Buffer.concat([len, header, Buffer.alloc(8)]));
    const r2 = await polyhead(["push", broken, "--store", `s3://${s3.bucket}/hostile`]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /broken: adapter\.safetensors is refused: /);
    assert.deepEqual(await store.list(""), []);
  } finally {
    store.close();
  }
  assert.deepEqual(readdirSync(tmp).filter((f) => f === "pwned"), [], "the pickle ran nothing");
});

test("push refuses bad names, unknown folders and configs the server would refuse", async () => {
  const notSaved = path.join(tmp, "plain");
  cpSync(path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny/vocab.txt"), path.join(notSaved, "vocab.txt"), { recursive: true });
  const odd = path.join(tmp, "odd");
  cpSync(path.join(ADAPTERHUB_FIXTURES, "adapters/topic"), odd, { recursive: true });
  const config = JSON.parse(readFileSync(path.join(odd, "adapter_config.json"), "utf8"));
  config.config.residual_before_ln = "post_add";
  writeFileSync(path.join(odd, "adapter_config.json"), JSON.stringify(config));
  const target = ["--store", path.join(tmp, "store0")];
  const [r1, r2, r3, r4] = await Promise.all([
    polyhead(["push", notSaved, ...target]),
    polyhead(["push", path.join(ADAPTERHUB_FIXTURES, "adapters/topic"), "--as", "../x", ...target]),
    polyhead(["push", odd, ...target]),
    polyhead(["push", path.join(ADAPTERHUB_FIXTURES, "adapters/topic")]),
  ]);
  assert.match(r1.stderr, /plain: not a saved model, adapter or fusion/);
  assert.match(r2.stderr, /"\.\.\/x" is not a valid name/);
  assert.match(r3.stderr, /odd: adapter_config\.json: .*post_add/s);
  assert.match(r4.stderr, /--store/);
  for (const r of [r1, r2, r3, r4]) assert.equal(r.code, 1);
  assert.deepEqual(readdirSync(tmp).filter((f) => f === "store0"), []);
});

test("push to a local folder (store from POLYHEAD_STORE, --as) uploads weights first and the manifest last", async () => {
  const dir = path.join(tmp, "local-store");
  const r = await polyhead(["push", path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment"), "--as", "sentiment-v2", "--quiet"], { POLYHEAD_STORE: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(path.join(dir, "adapters/sentiment-v2")).sort(), ["adapter.safetensors", "adapter_config.json", "head_config.json", "model_head.safetensors", MANIFEST].sort());
  assert.match(r.stdout, /skipped .*pytorch_adapter\.bin \(adapter\.safetensors is used\)/);

  // the order, seen by the store itself
  const order: string[] = [];
  const local = new LocalStore(path.join(tmp, "ordered"));
  const recording = Object.assign(Object.create(local), {
    put: (key: string, bytes: Uint8Array) => {
      order.push(key.split("/").pop()!);
      return local.put(key, bytes);
    },
  });
  await push([path.join(ADAPTERHUB_FIXTURES, "fusions/sentiment-fusion")], { store: recording, quiet: true, concurrency: 1 }, () => {});
  const weights = order.filter((f) => /\.(bin|safetensors)$/.test(f));
  const configs = order.filter((f) => f.endsWith(".json") && f !== MANIFEST);
  assert.deepEqual(order.slice(0, weights.length), weights, "weights first");
  assert.deepEqual(order.slice(weights.length, -1), configs, "configs next");
  assert.equal(order.at(-1), MANIFEST, "manifest last");
});

test("push skips what polyhead never reads (TF/Flax weights, a slow tokenizer's vocab) and keeps one weight format", async () => {
  // a model folder as transformers saves it with every framework's weights
  const dir = path.join(tmp, "bert-everything");
  cpSync(path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny"), dir, { recursive: true });
  writeFileSync(path.join(dir, "tf_model.h5"), "not read");
  writeFileSync(path.join(dir, "flax_model.msgpack"), "not read");
  writeFileSync(path.join(dir, "pytorch_model.bin"), "never parsed: model.safetensors is used");
  const location = path.join(tmp, "skip-store");
  const r = await polyhead(["push", dir, "--store", location, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  for (const [f, why] of [["tf_model.h5", "polyhead never reads it"], ["flax_model.msgpack", "polyhead never reads it"], ["pytorch_model.bin", "model.safetensors is used"], ["vocab.txt", "polyhead never reads it"]]) {
    assert.ok(r.stdout.includes(`skipped ${dir}/${f} (${why})`), `${f}: ${r.stdout}`);
  }
  assert.deepEqual(readdirSync(path.join(location, "models/bert-everything")).sort(), ["config.json", "model.safetensors", MANIFEST, "tokenizer.json", "tokenizer_config.json"].sort());
});

test("a PEFT LoRA folder (adapter_config.json + adapter_model.safetensors) is pushed as an adapter", async () => {
  // The AdapterHub LoRA fixture re-saved in PEFT's layout.
  const dir = path.join(tmp, "peft_sent");
  toPeft(path.join(ADAPTERHUB_FIXTURES, "adapters/lora_sent"), dir);
  const location = path.join(tmp, "peft-store");
  const [pushed] = await push([dir], { store: location, quiet: true }, () => {});
  assert.deepEqual([pushed.kind, pushed.prefix, pushed.files], ["adapter", "adapters/peft_sent/", 2]);
  const i = await inspect(location, "peft_sent");
  assert.equal(i.config?.kind, "lora");
  assert.equal(i.saved_name, undefined);
  assert.equal(i.head, null);
  assert.deepEqual(i.problems, []);
});

test("serve: --device cuda without CUDA stops the start with a message naming CUDA", async () => {
  const started = Date.now();
  const r = await polyhead(["serve", "--device", "cuda", "--port", "0", "--models", "demo-bert"], {}, 20_000);
  assert.notEqual(r.code, 0);
  assert.ok(Date.now() - started < 15_000, "fails at start, not after a timeout");
  assert.match(r.stderr, /^polyhead: .*CUDA/m);
  assert.doesNotMatch(r.stdout, /polyhead listening on/);
});

test("serve: --device webgpu without a usable GPU stops the start with a message naming WebGPU and what it needs", async () => {
  const r = await polyhead(["serve", "--device", "webgpu", "--port", "0", "--models", "demo-bert"], {}, 20_000);
  // a machine with a GPU and a Vulkan driver starts; CI has neither
  if (r.code === 0 || /polyhead listening on/.test(r.stdout)) return assert.match(r.stdout, /polyhead listening on/);
  assert.match(r.stderr, /^polyhead: .*WebGPU execution provider is not available.*Vulkan/m);
  assert.doesNotMatch(r.stdout, /polyhead listening on/);
});

test("serve: flags win over env vars; the server starts and answers /healthz", async () => {
  // env values that would be refused: the flags replace them before they are parsed
  const env = { ...process.env, POLYHEAD_STORE: undefined, PORT: "not-a-port", POLYHEAD_TTL_SECONDS: "soon", POLYHEAD_MAX_WAIT_MS: "-1" };
  const child = spawn(process.execPath, [path.join(ROOT, "bin/polyhead.js"), "serve", "--port", "0", "--ttl", "5", "--max-wait-ms", "1"], { cwd: ROOT, env });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      let err = "";
      const timer = setTimeout(() => reject(new Error(`no "listening" line in 15 s; stderr: ${err}`)), 15_000);
      child.stderr.on("data", (d) => (err += d));
      child.stdout.on("data", (d) => {
        out += d;
        const m = /polyhead listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
    });
    const res = await fetch(`${url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "ok" });
  } finally {
    child.kill("SIGTERM");
  }
});

test("optionsFromEnv: one parser for env vars and serve's flags", () => {
  const env = { PORT: "9000", POLYHEAD_TTL_SECONDS: "7", POLYHEAD_MAX_BATCH_ROWS: "4", POLYHEAD_WARM: "sentiment,null", POLYHEAD_MODELS: "a, b" };
  const o = optionsFromEnv(env, { port: "0", maxWaitMs: "1", warm: ["topic", '{"stack":["lang_en","sentiment"]}'] });
  assert.equal(o.port, 0);
  assert.equal(o.ttlSeconds, 7);
  assert.deepEqual(o.batch, { maxRows: 4, maxWaitMs: 1 });
  assert.deepEqual(o.models, ["a", "b"]);
  assert.deepEqual(o.warm, ["topic", { stack: ["lang_en", "sentiment"] }]);
  assert.deepEqual(optionsFromEnv(env).warm, ["sentiment", null]);
  assert.deepEqual(optionsFromEnv({ POLYHEAD_WARM: '[{"fuse":["a","b"]}]' }).warm, [{ fuse: ["a", "b"] }]);
  assert.equal(optionsFromEnv({}).host, undefined, "serve() and the container pick the default host");
  assert.throws(() => optionsFromEnv({ POLYHEAD_DEVICE: "tpu" }), /--device \/ POLYHEAD_DEVICE: expected cpu, cuda, webgpu, got "tpu"/);
  assert.equal(optionsFromEnv({ POLYHEAD_DEVICE: "webgpu" }).device, "webgpu");
  assert.equal(optionsFromEnv({ POLYHEAD_PRECISION: "fp32" }, { precision: "fp16" }).precision, "fp16");
  assert.throws(() => optionsFromEnv({ POLYHEAD_PRECISION: "fp8" }), /--precision \/ POLYHEAD_PRECISION: expected fp32 or int8 or fp16, got "fp8"/);
  assert.throws(() => optionsFromEnv({}, { threads: "0" }), /--threads \/ POLYHEAD_THREADS/);
  assert.equal(optionsFromEnv({}).precision, "fp32", "fp32 unless asked");
  assert.equal(optionsFromEnv({ POLYHEAD_PRECISION: "int8" }).precision, "int8");
  assert.equal(optionsFromEnv({ POLYHEAD_PRECISION: "int8" }, { precision: "fp32" }).precision, "fp32", "the flag wins");
  assert.throws(() => optionsFromEnv({ POLYHEAD_PRECISION: "int8", POLYHEAD_DEVICE: "cuda" }), /int8 runs on the CPU only/);
  assert.throws(() => optionsFromEnv({ POLYHEAD_PRECISION: "int8" }, { device: "webgpu" }), /int8 runs on the CPU only; with --device webgpu use fp32 or fp16/);
  // admission: queue limits and per-request budgets, a flag winning over its env var
  const admission = optionsFromEnv({ POLYHEAD_MAX_QUEUED_ROWS: "64", POLYHEAD_MAX_QUEUE_MS: "2500" }, { maxQueuedRows: "32", maxRequestTokens: "4096" }).admission;
  assert.deepEqual(admission, { maxQueuedRows: 32, maxRequestTokens: 4096, maxQueueMs: 2500 });
  assert.deepEqual(optionsFromEnv({}).admission, {}, "the defaults of admission.ts apply");
  assert.throws(() => optionsFromEnv({ POLYHEAD_MAX_QUEUED_TOKENS: "0" }), /--max-queued-tokens \/ POLYHEAD_MAX_QUEUED_TOKENS: expected a number ≥ 1/);
  assert.throws(() => optionsFromEnv({}, { maxResponseBytes: "1.5" }), /--max-response-bytes \/ POLYHEAD_MAX_RESPONSE_BYTES: expected a whole number/);
});

test("polyhead --version prints package.json's version", async () => {
  const r = await polyhead(["--version"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version);
});

test("a store path that does not exist: ls, inspect and serve refuse it, naming the path", async () => {
  const missing = path.join(tmp, "no-such-store");
  for (const args of [["ls", "--store", missing], ["inspect", "sentiment", "--store", missing], ["serve", "--store", missing, "--port", "0"]]) {
    const r = await polyhead(args, {}, 60_000);
    assert.equal(r.code, 1, `${args[0]}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`the store ${missing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} does not exist`), args[0]);
    assert.doesNotMatch(r.stdout, /listening|empty/);
  }
});

test("a mistaken --adapters is one short line, as the API says it", async () => {
  for (const [adapters, want] of [
    ['{"stak": ["sentiment"]}', /unknown key "stak" — did you mean "stack"\?/],
    ['["sentiment", "topic"]', /a list is not a composition: use \{"stack": \[\.\.\.\]\} or \{"parallel": \[\.\.\.\]\}/],
  ] as const) {
    const r = await polyhead(["predict", "--store", ADAPTERHUB_FIXTURES, "--model", "bert-tiny", "--adapters", adapters, "a fine day"]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, want);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  const typo = await polyhead(["predict", "--store", ADAPTERHUB_FIXTURES, "--model", "bert-tiny", "--adapters", "sentimnt", "a fine day"]);
  assert.equal(typo.code, 1, typo.stdout);
  assert.match(typo.stderr, /adapter "sentimnt" not found; did you mean "sentiment"\?/);
});
