import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { downloadFile, HubApiError, listFiles, modelInfo, type ListFileEntry } from "@huggingface/hub";
import { RefusedError } from "../core/errors.ts";
import { checkKey } from "../core/names.ts";
import { detectKind, filesToKeep, KINDS, type Kind } from "../store/layout.ts";
import type { Store } from "../store/store.ts";
import { formatBytes } from "./format.ts";
import { progressBar, type Progress } from "./progress.ts";
import { push, type Pushed } from "./push.ts";

// `polyhead pull`: a Hugging Face Hub repository → a store. The revision is
// resolved to one commit first, so every file comes from the same commit;
// only the files polyhead reads are downloaded (store/layout's filesToKeep,
// the rule push keeps too), into a staging folder where a cut download
// waits to be continued with a range request; each file is checked against
// the Hub's hash, and then the folder goes through `push` like any other.

export interface PullOptions {
  /** a location, or an open store (kept open) */
  store: string | Store;
  /** store name (default: the repository's name) */
  as?: string;
  tenant?: string;
  /** a branch, tag or commit (default: the repository's default branch) */
  revision?: string;
  kind?: Kind;
  quiet?: boolean;
  /** where downloads wait until they are pushed (default: the user's cache folder) */
  cacheDir?: string;
  /** HF_ENDPOINT and HF_TOKEN are read from here (default: process.env) */
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_HUB = "https://huggingface.co";
const REPO_RE = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;
const COMMIT_RE = /^[0-9a-f]{40}$/;

export function defaultPullDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "polyhead", "pull");
}

/** The staging folder of one commit of a repository: a second run of the same pull finds its partial files here. */
export function stagingDir(cacheDir: string, repo: string, commit: string): string {
  return path.join(cacheDir, repo.replace("/", "--"), commit);
}

export async function pull(repo: string, opts: PullOptions, out: (line: string) => void = console.log): Promise<Pushed> {
  if (!REPO_RE.test(repo) || repo.includes("..")) throw new RefusedError(`"${repo}" is not a Hub repository id (name or owner/name)`);
  if (opts.kind && !KINDS.includes(opts.kind)) throw new RefusedError(`unknown kind "${opts.kind}"`);
  const env = opts.env ?? process.env;
  const hubUrl = (env.HF_ENDPOINT || DEFAULT_HUB).replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]/.test(hubUrl)) throw new RefusedError(`HF_ENDPOINT is "${hubUrl}": expected an http(s) URL such as ${DEFAULT_HUB}`);
  const accessToken = env.HF_TOKEN || undefined;
  if (accessToken && !accessToken.startsWith("hf_")) throw new RefusedError("HF_TOKEN is not a Hugging Face access token (they start with hf_)");
  const hub = { hubUrl, accessToken };
  const at = opts.revision ? `${repo}@${opts.revision}` : repo;
  const hubCall = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw hubError(e, at, hubUrl, accessToken !== undefined);
    }
  };

  const info = await hubCall(() => modelInfo({ name: repo, revision: opts.revision, additionalFields: ["sha"], ...hub }));
  const commit = String(info.sha);
  if (!COMMIT_RE.test(commit)) throw new RefusedError(`${hubUrl} answered no commit for ${at}`);
  const listed = await hubCall(async () => {
    const files: ListFileEntry[] = [];
    for await (const f of listFiles({ repo, revision: commit, ...hub })) if (f.type === "file") files.push(f);
    return files;
  });
  const byName = new Map(listed.map((f) => [f.path, f]));
  const names = [...byName.keys()].sort();
  const where = `${repo}@${commit.slice(0, 12)}`;

  const kind =
    opts.kind ??
    detectKind(names) ??
    (names.includes("model.safetensors.index.json")
      ? refuse(`${where}: its weights are sharded (model.safetensors.index.json); polyhead reads one model.safetensors. Load and save the model with save_pretrained(folder, max_shard_size="100GB"), then polyhead push the folder`)
      : refuse(`${where} holds no model, adapter or fusion polyhead serves (no adapter_config.json, adapter_fusion_config.json, or config.json with model.safetensors or pytorch_model.bin). Files: ${names.join(", ") || "none"}`));
  if (kind === "model" && !byName.has("tokenizer.json")) {
    refuse(
      `${where} has no tokenizer.json: polyhead reads the fast tokenizer's file only. Make the folder with transformers, then push it:\n` +
        `  python -c 'from transformers import AutoModel, AutoTokenizer as T; m="${repo}"; AutoModel.from_pretrained(m).save_pretrained("${path.basename(repo)}"); T.from_pretrained(m).save_pretrained("${path.basename(repo)}")'\n` +
        `  polyhead push ${path.basename(repo)} --store ...`,
    );
  }
  const { keep, skipped } = filesToKeep(kind, names);
  for (const n of keep) {
    try {
      checkKey(n);
    } catch {
      refuse(`${where}: "${n}" is not a file name a store can hold`);
    }
  }
  const files = keep.map((n) => byName.get(n)!);
  const total = files.reduce((n, f) => n + f.size, 0);

  const dir = stagingDir(opts.cacheDir ?? defaultPullDir(env), repo, commit);
  await mkdir(dir, { recursive: true });
  const bar = progressBar(opts.quiet ?? false);
  bar.start(total, `pull ${repo}`);
  try {
    for (const f of files) await fetchFile(f, dir, bar, (start) => hubCall(() => fileBody(repo, commit, f.path, start, hub)));
  } finally {
    bar.stop();
  }
  out(`pulled ${kind} ${where}: ${files.length} files, ${formatBytes(total)}`);
  for (const s of skipped) out(`  skipped ${s.name} (${s.why})`);

  const name = opts.as ?? path.basename(repo);
  const [pushed] = await push([dir], { store: opts.store, as: name, tenant: opts.tenant, kind, quiet: opts.quiet }, out);
  // pushed: the staged copy is no longer needed (a model is hundreds of megabytes)
  await rm(dir, { recursive: true, force: true });
  return pushed;
}

function refuse(why: string): never {
  throw new RefusedError(why);
}

/** The bytes of a file from `start` on, as a stream (the library's WebBlob: a plain GET, or a range request to continue). */
async function fileBody(repo: string, commit: string, file: string, start: number, hub: { hubUrl: string; accessToken?: string }) {
  // xet: false — the plain HTTP file route, which answers range requests; the Hub redirects it to its CDN
  const blob = await downloadFile({ repo, path: file, revision: commit, xet: false, ...hub });
  if (!blob) throw new RefusedError(`${repo}@${commit.slice(0, 12)}: ${file} is listed but cannot be downloaded`);
  return blob.slice(start).stream();
}

/** One file into the staging folder: continued from its partial copy, checked against the Hub's hash, then named. */
async function fetchFile(f: ListFileEntry, dir: string, bar: Progress, body: (start: number) => Promise<ReadableStream<Uint8Array>>): Promise<void> {
  const dest = path.join(dir, f.path);
  const done = await sizeOf(dest);
  if (done === f.size) {
    bar.advance(f.size, f.path);
    return;
  }
  // hidden, so that push would never take a partial file for a whole one
  const part = path.join(dir, `.${f.path}.incomplete`);
  let have = (await sizeOf(part)) ?? 0;
  if (have > f.size) {
    await rm(part);
    have = 0;
  }
  bar.advance(have, f.path);
  if (have < f.size) {
    const fh = await open(part, "a");
    try {
      const reader = (await body(have)).getReader();
      for (;;) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch (e) {
          // the stream's errors are sometimes plain strings
          throw new RefusedError(`${f.path}: the download was cut after ${formatBytes(have)} (${e instanceof Error ? e.message : String(e)}); run the same command again to continue it`);
        }
        if (chunk.done) break;
        have += chunk.value.byteLength;
        if (have > f.size) break;
        await fh.write(chunk.value);
        bar.advance(chunk.value.byteLength, f.path);
      }
    } finally {
      await fh.close();
    }
  }
  const problem = (await sizeOf(part)) !== f.size ? `${have} bytes where the Hub lists ${f.size}` : await hashProblem(part, f);
  if (problem) {
    await rm(part, { force: true });
    throw new RefusedError(`${f.path}: the download does not match the Hub's listing (${problem}); it was removed, run the same command again`);
  }
  await rename(part, dest);
}

/** Compared with the listing: an LFS file's SHA-256, a plain file's git blob SHA-1. */
async function hashProblem(file: string, f: ListFileEntry): Promise<string | null> {
  const [algo, want, prefix] = f.lfs ? ["sha256", f.lfs.oid, ""] : f.oid ? ["sha1", f.oid, `blob ${f.size}\0`] : [null, null, ""];
  if (!algo || !want) return null;
  const h = createHash(algo).update(prefix);
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  const got = h.digest("hex");
  return got === want ? null : `${algo} ${got.slice(0, 12)}…, the Hub lists ${want.slice(0, 12)}…`;
}

async function sizeOf(file: string): Promise<number | null> {
  try {
    return (await stat(file)).size;
  } catch {
    return null;
  }
}

/** The Hub's answer in the terms a user acts on. */
function hubError(e: unknown, at: string, hubUrl: string, withToken: boolean): Error {
  if (e instanceof RefusedError) return e;
  if (e instanceof HubApiError) {
    const said = e.message.replace(/\. URL: .*$/, "");
    if (e.statusCode === 401 || e.statusCode === 403) {
      return new RefusedError(
        withToken
          ? `${at}: ${hubUrl} refused HF_TOKEN (${e.statusCode}: ${said}); use a token with read access to this repository`
          : `${at}: ${hubUrl} answered ${e.statusCode} (${said}); a private or gated repository needs HF_TOKEN set to a token that can read it`,
      );
    }
    if (e.statusCode === 404) return new RefusedError(`${at}: not found on ${hubUrl} (${said}); check the name and --revision`);
    return new RefusedError(`${at}: ${hubUrl} answered ${e.statusCode} (${said})`);
  }
  if (e instanceof TypeError && /token/i.test(e.message)) return new RefusedError(e.message);
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return new RefusedError(`${at}: cannot reach ${hubUrl} (${cause?.code ?? cause?.message ?? (e as Error).message}); set HF_ENDPOINT to use a mirror`);
}
