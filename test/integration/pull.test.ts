import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { inspect } from "../../src/cli/inspect.ts";
import { pull, stagingDir } from "../../src/cli/pull.ts";
import { MANIFEST } from "../../src/store/layout.ts";
import { S3Store } from "../../src/store/s3-store.ts";
import { commitOf, startHub, type HubRepo, type TestHub } from "../support/hub.ts";
import { ADAPTERHUB_FIXTURES, ROOT } from "../support/paths.ts";
import { startS3, type TestS3 } from "../support/s3.ts";

// `polyhead pull` as a user runs it: the real CLI in a child process, against
// a Hub on 127.0.0.1 (test/support/hub.ts) serving the AdapterHub fixtures,
// into a local folder and a real S3-protocol server.

const TOKEN = "hf_secret_for_tests";
const folder = (rel: string): Record<string, Uint8Array> =>
  Object.fromEntries(readdirSync(path.join(ADAPTERHUB_FIXTURES, rel)).map((f) => [f, new Uint8Array(readFileSync(path.join(ADAPTERHUB_FIXTURES, rel, f)))]));
const only = (files: Record<string, Uint8Array>, names: string[]) => Object.fromEntries(names.map((n) => [n, files[n]!]));
const text = (t: string) => new TextEncoder().encode(t);

const BERT = folder("models/bert-tiny");
const SENTIMENT = folder("adapters/sentiment");
const TOPIC = folder("adapters/topic");

// bert-tiny as transformers saves it with every framework's weights, under a one-segment id like bert-base-uncased
const MODEL_COMMIT = commitOf("bert-tiny");
const REPOS: Record<string, HubRepo> = {
  "bert-tiny": {
    refs: { main: MODEL_COMMIT },
    commits: { [MODEL_COMMIT]: { ...BERT, "tf_model.h5": text("tf"), "flax_model.msgpack": text("flax"), "pytorch_model.bin": text("never read"), "README.md": text("# bert-tiny") } },
  },
  // as AdapterHub publishes on the Hub: torch .bin weights, a head, a README
  "AdapterHub/bert-tiny-pf-sentiment": {
    refs: { main: commitOf("pf-sentiment") },
    commits: { [commitOf("pf-sentiment")]: { ...only(SENTIMENT, ["adapter_config.json", "head_config.json", "pytorch_adapter.bin", "pytorch_model_head.bin"]), "README.md": text("# sentiment") } },
  },
  // main is the topic adapter; the tag v1 an older commit (the sentiment adapter's files)
  "acme/topic": {
    refs: { main: commitOf("topic-2"), v1: commitOf("topic-1") },
    commits: { [commitOf("topic-2")]: TOPIC, [commitOf("topic-1")]: SENTIMENT },
  },
  "acme/private-ner": { refs: { main: commitOf("ner") }, commits: { [commitOf("ner")]: folder("adapters/ner") }, token: TOKEN },
  "acme/no-tokenizer": {
    refs: { main: commitOf("no-tok") },
    commits: { [commitOf("no-tok")]: only(BERT, ["config.json", "model.safetensors", "vocab.txt", "special_tokens_map.json"]) },
  },
};

let hub: TestHub;
let tmp: string;
let cacheDir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function polyhead(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "bin/polyhead.js"), ...args, "--cache-dir", cacheDir],
      { env: { ...process.env, HF_ENDPOINT: hub.url, HF_TOKEN: undefined, POLYHEAD_STORE: undefined, ...env }, cwd: ROOT },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The same pull in this process (faster than a child process); the CLI's own wiring is run by the first tests. */
async function pullHere(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const [, repo, ...rest] = args;
  const flag = (f: string) => (rest.includes(f) ? rest[rest.indexOf(f) + 1] : undefined);
  const lines: string[] = [];
  try {
    await pull(repo!, { store: flag("--store")!, as: flag("--as"), revision: flag("--revision"), quiet: true, cacheDir, env: { HF_ENDPOINT: hub.url, ...env } }, (l) => lines.push(l));
    return { code: 0, stdout: lines.join("\n"), stderr: "" };
  } catch (e) {
    return { code: 1, stdout: lines.join("\n"), stderr: `polyhead: ${(e as Error).message}` };
  }
}

/** The file downloads (not the one-byte size probes) the Hub saw for a repository's file. */
const downloads = (repo: string, file: string) => hub.requests.filter((r) => r.path.startsWith(`/${repo}/resolve/`) && r.path.endsWith(`/${file}`) && r.range !== "bytes=0-0");
const same = (a: Uint8Array | Buffer, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

before(async () => {
  hub = await startHub(REPOS);
  tmp = mkdtempSync(path.join(os.tmpdir(), "polyhead-pull-"));
  cacheDir = path.join(tmp, "cache");
});
after(async () => {
  await hub.close();
  rmSync(tmp, { recursive: true, force: true });
});

test("a model: only the files polyhead reads are downloaded and pushed; safetensors over .bin; the staged copy is removed", async () => {
  const store = path.join(tmp, "store");
  const r = await polyhead(["pull", "bert-tiny", "--store", store]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`pulled model bert-tiny@${MODEL_COMMIT.slice(0, 12)}: 4 files`));
  for (const line of ["skipped tf_model.h5 (polyhead never reads it)", "skipped flax_model.msgpack (polyhead never reads it)", "skipped pytorch_model.bin (model.safetensors is used)", "skipped vocab.txt (polyhead never reads it)"]) {
    assert.ok(r.stdout.includes(line), `${line}\n${r.stdout}`);
  }
  assert.match(r.stdout, /pushed model bert-tiny → models\/bert-tiny\//);
  const kept = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"];
  assert.deepEqual(readdirSync(path.join(store, "models/bert-tiny")).sort(), [...kept, MANIFEST].sort());
  for (const f of kept) assert.ok(same(readFileSync(path.join(store, "models/bert-tiny", f)), BERT[f]!), f);
  for (const f of ["tf_model.h5", "flax_model.msgpack", "pytorch_model.bin", "vocab.txt", "README.md"]) assert.deepEqual(downloads("bert-tiny", f), [], `${f} never downloaded`);
  assert.equal(existsSync(stagingDir(cacheDir, "bert-tiny", MODEL_COMMIT)), false);
  const i = await inspect(store, "bert-tiny");
  assert.deepEqual(i.problems, []);
});

test("a model into S3 (--store s3://bucket/prefix)", async () => {
  const s3: TestS3 = await startS3();
  try {
    const r = await polyhead(["pull", "bert-tiny", "--store", `s3://${s3.bucket}/hub`, "--as", "tiny"], s3.env);
    assert.equal(r.code, 0, r.stderr);
    const bucket = new S3Store(`s3://${s3.bucket}/hub`, { endpoint: s3.endpoint, credentials: s3.credentials });
    try {
      const keys = (await bucket.list("models/tiny/")).map((o) => o.key.split("/").pop()).sort();
      assert.deepEqual(keys, ["config.json", "model.safetensors", MANIFEST, "tokenizer.json", "tokenizer_config.json"].sort());
      assert.ok(same((await bucket.get("models/tiny/model.safetensors"))!.bytes, BERT["model.safetensors"]!));
    } finally {
      bucket.close();
    }
  } finally {
    await s3.dispose();
  }
});

test("an AdapterHub adapter with its head (--as): torch .bin weights as published, the head served", async () => {
  const store = path.join(tmp, "store");
  const r = await pullHere(["pull", "AdapterHub/bert-tiny-pf-sentiment", "--as", "sst2", "--store", store]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /pulled adapter AdapterHub\/bert-tiny-pf-sentiment@[0-9a-f]{12}: 4 files/);
  assert.match(r.stdout, /skipped README\.md \(polyhead never reads it\)/);
  assert.deepEqual(readdirSync(path.join(store, "adapters/sst2")).sort(), ["adapter_config.json", "head_config.json", MANIFEST, "pytorch_adapter.bin", "pytorch_model_head.bin"].sort());
  const i = await inspect(store, "sst2");
  assert.deepEqual(i.problems, []);
  assert.equal(i.kind, "adapter");
  assert.ok(i.head, "the head came with it");
  assert.equal(JSON.stringify(i.head).includes("classification"), true, JSON.stringify(i.head));
});

test("--revision: a tag and a commit are pinned; an unknown revision is refused", async () => {
  const store = path.join(tmp, "store");
  const tag = await pullHere(["pull", "acme/topic", "--revision", "v1", "--as", "topic-v1", "--store", store]);
  assert.equal(tag.code, 0, tag.stderr);
  assert.match(tag.stdout, new RegExp(`acme/topic@${commitOf("topic-1").slice(0, 12)}`));
  assert.ok(same(readFileSync(path.join(store, "adapters/topic-v1/adapter.safetensors")), SENTIMENT["adapter.safetensors"]!), "v1's files");
  // every file came from the commit the tag named, not from the tag (a push to the branch mid-download cannot mix commits)
  assert.ok(downloads("acme/topic", "adapter.safetensors").every((d) => d.path.includes(`/resolve/${commitOf("topic-1")}/`)));

  const byCommit = await pullHere(["pull", "acme/topic", "--revision", commitOf("topic-2"), "--store", store]);
  assert.equal(byCommit.code, 0, byCommit.stderr);
  assert.ok(same(readFileSync(path.join(store, "adapters/topic/adapter.safetensors")), TOPIC["adapter.safetensors"]!), "main's files");

  const bad = await pullHere(["pull", "acme/topic", "--revision", "v9", "--store", store]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /acme\/topic@v9: not found on http:\/\/127\.0\.0\.1:\d+ \(Invalid rev id: v9\)/);
});

test("HF_TOKEN: a private repository needs it, a wrong one is refused, the right one is sent", async () => {
  const store = path.join(tmp, "private-store");
  const none = await pullHere(["pull", "acme/private-ner", "--store", store]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /answered 401 .*needs HF_TOKEN/);
  const wrong = await pullHere(["pull", "acme/private-ner", "--store", store], { HF_TOKEN: "hf_wrong" });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /refused HF_TOKEN \(401/);
  const notAToken = await pullHere(["pull", "acme/private-ner", "--store", store], { HF_TOKEN: "secret" });
  assert.equal(notAToken.code, 1);
  assert.match(notAToken.stderr, /HF_TOKEN is not a Hugging Face access token/);
  assert.equal(existsSync(path.join(store, "adapters")), false, "nothing pushed");

  const right = await pullHere(["pull", "acme/private-ner", "--as", "ner", "--store", store], { HF_TOKEN: TOKEN });
  assert.equal(right.code, 0, right.stderr);
  assert.deepEqual(readdirSync(path.join(store, "adapters/ner")).sort(), ["adapter.safetensors", "adapter_config.json", "head_config.json", MANIFEST, "model_head.safetensors"].sort());
  const seen = hub.requests.filter((q) => q.path.includes("acme/private-ner") && q.authorization === `Bearer ${TOKEN}`);
  assert.ok(seen.some((q) => q.path.includes("/resolve/")), "the token went with the downloads");
});

test("resume: a partial file left by an earlier run is continued with a range request", async () => {
  const store = path.join(tmp, "resume-store");
  const whole = BERT["model.safetensors"]!;
  const half = Math.floor(whole.byteLength / 2);
  const dir = stagingDir(cacheDir, "bert-tiny", MODEL_COMMIT);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, ".model.safetensors.incomplete"), whole.subarray(0, half));
  const before = downloads("bert-tiny", "model.safetensors").length;
  const r = await pullHere(["pull", "bert-tiny", "--store", store]);
  assert.equal(r.code, 0, r.stderr);
  const asked = downloads("bert-tiny", "model.safetensors").slice(before);
  assert.deepEqual(asked.map((d) => d.range), [`bytes=${half}-${whole.byteLength - 1}`], "only the missing bytes were asked for");
  assert.ok(same(readFileSync(path.join(store, "models/bert-tiny/model.safetensors")), whole));
});

test("resume: a cut download fails with what to do, and the same command continues it", async () => {
  const store = path.join(tmp, "cut-store");
  const whole = BERT["model.safetensors"]!;
  hub.cutOnce.set("model.safetensors", 50_000);
  const first = await pullHere(["pull", "bert-tiny", "--store", store]);
  assert.equal(first.code, 1);
  assert.match(first.stderr, /model\.safetensors: the download was cut after .*run the same command again to continue it/);
  assert.equal(existsSync(path.join(store, "models")), false, "nothing pushed");
  const part = path.join(stagingDir(cacheDir, "bert-tiny", MODEL_COMMIT), ".model.safetensors.incomplete");
  const kept = statSync(part).size;
  assert.ok(kept <= 50_000);

  const before = downloads("bert-tiny", "model.safetensors").length;
  const second = await pullHere(["pull", "bert-tiny", "--store", store]);
  assert.equal(second.code, 0, second.stderr);
  const asked = downloads("bert-tiny", "model.safetensors").slice(before);
  assert.deepEqual(asked.map((d) => d.range), [kept > 0 ? `bytes=${kept}-${whole.byteLength - 1}` : undefined]);
  assert.ok(same(readFileSync(path.join(store, "models/bert-tiny/model.safetensors")), whole));
});

test("resume: a partial file that is not the Hub's is caught by its hash and removed", async () => {
  const store = path.join(tmp, "bad-part-store");
  const dir = stagingDir(cacheDir, "bert-tiny", MODEL_COMMIT);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, ".model.safetensors.incomplete"), Buffer.alloc(1000, 7));
  const r = await pullHere(["pull", "bert-tiny", "--store", store]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /model\.safetensors: the download does not match the Hub's listing \(sha256 .*\); it was removed, run the same command again/);
  assert.equal(existsSync(path.join(dir, ".model.safetensors.incomplete")), false);
  const again = await pullHere(["pull", "bert-tiny", "--store", store]);
  assert.equal(again.code, 0, again.stderr);
});

test("a repository the Hub does not have: 404, nothing pushed", async () => {
  const store = path.join(tmp, "404-store");
  const r = await pullHere(["pull", "nobody/nothing", "--store", store]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nobody\/nothing: not found on http:\/\/127\.0\.0\.1:\d+ \(Repository not found\)/);
  assert.equal(existsSync(store), false);
  const endpoint = await pullHere(["pull", "nobody/nothing", "--store", store], { HF_ENDPOINT: "hub.local" });
  assert.match(endpoint.stderr, /HF_ENDPOINT is "hub\.local": expected an http\(s\) URL/);
  const bad = await pullHere(["pull", "../etc", "--store", store]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /is not a Hub repository id/);
});

test("a model without tokenizer.json is refused before any download, with what to do", async () => {
  const store = path.join(tmp, "no-tok-store");
  const r = await pullHere(["pull", "acme/no-tokenizer", "--store", store]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /acme\/no-tokenizer@[0-9a-f]{12} has no tokenizer\.json/);
  assert.match(r.stderr, /AutoTokenizer.*save_pretrained\("no-tokenizer"\)/);
  assert.match(r.stderr, /polyhead push no-tokenizer/);
  assert.deepEqual(hub.requests.filter((q) => q.path.startsWith("/acme/no-tokenizer/resolve/")), []);
  assert.equal(existsSync(store), false);
});
