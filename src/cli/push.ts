import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { openStore } from "../store/open.ts";
import type { Store } from "../store/store.ts";
import { KIND_DIR, MANIFEST, type Kind, type Manifest } from "../store/layout.ts";
import { checkFolder, type CheckedFolder, type LocalFile } from "./check-folder.ts";
import { RefusedError } from "../core/errors.ts";
import { formatBytes } from "./format.ts";
import { NAME_RE } from "../core/names.ts";
import { progressBar, type Progress } from "./progress.ts";
import { closeStore } from "./store-option.ts";

// `polyhead push`: saved folders → store. Every folder is checked before
// anything is uploaded; then each folder's weights go first, its configs
// next, and its manifest last. The manifest marks the version complete (the
// server checks files against it, so it never mixes two pushes), and a first
// push cut short has no config yet that would announce the folder.

export interface PushOptions {
  /** a location, or an open store (kept open) */
  store: string | Store;
  as?: string;
  /** push adapters and fusions into this tenant's namespace: <kind>/<tenant>/<name>/ */
  tenant?: string;
  kind?: Kind;
  quiet?: boolean;
  /** parallel uploads within a folder */
  concurrency?: number;
}

export interface Pushed {
  kind: Kind;
  name: string;
  prefix: string;
  files: number;
  bytes: number;
  skipped: string[];
}

export async function push(folders: string[], opts: PushOptions, out: (line: string) => void = console.log): Promise<Pushed[]> {
  if (folders.length === 0) throw new RefusedError("nothing to push");
  if (opts.as && folders.length > 1) throw new RefusedError("--as names one folder; push the others separately");
  if (opts.tenant !== undefined && !NAME_RE.test(opts.tenant)) throw new RefusedError(`"${opts.tenant}" is not a valid tenant name (1-128 letters, digits, '.', '_' or '-')`);
  const checked: CheckedFolder[] = [];
  for (const dir of folders) checked.push(await checkFolder(dir, { kind: opts.kind, as: opts.as }));
  if (opts.tenant !== undefined) {
    const model = checked.find((c) => c.kind === "model");
    if (model) throw new RefusedError(`${model.dir} is a model: models are shared, push it without --tenant`);
    for (const c of checked) c.name = `${opts.tenant}/${c.name}`;
  }
  const seen = new Map<string, string>();
  for (const c of checked) {
    const prefix = `${KIND_DIR[c.kind]}/${c.name}`;
    if (seen.has(prefix)) throw new RefusedError(`${c.dir} and ${seen.get(prefix)} would both be pushed to ${prefix}/`);
    seen.set(prefix, c.dir);
  }

  const store = typeof opts.store === "string" ? openStore(opts.store) : opts.store;
  const bar = progressBar(opts.quiet ?? false);
  const done: Pushed[] = [];
  try {
    for (const c of checked) {
      const prefix = `${KIND_DIR[c.kind]}/${c.name}/`;
      const bytes = c.files.reduce((n, f) => n + f.size, 0);
      bar.start(bytes, `${c.kind} ${c.name}`);
      try {
        await uploadFolder(store, c, prefix, bar, opts.concurrency ?? 4);
      } finally {
        bar.stop();
      }
      for (const s of c.skipped) out(`  skipped ${c.dir}/${s}`);
      out(`pushed ${c.kind} ${c.name} → ${prefix} (${c.files.length} files, ${formatBytes(bytes)})`);
      done.push({ kind: c.kind, name: c.name, prefix, files: c.files.length, bytes, skipped: c.skipped });
    }
  } finally {
    if (store !== opts.store) closeStore(store);
  }
  return done;
}

async function uploadFolder(store: Store, c: CheckedFolder, prefix: string, bar: Progress, concurrency: number): Promise<void> {
  for (const phase of [0, 1, 2] as const) {
    const queue = c.files.filter((f) => f.phase === phase);
    const worker = async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        await store.put(prefix + f.name, await readChecked(f));
        bar.advance(f.size, f.name);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  }
  const manifest: Manifest = {
    format: 1,
    kind: c.kind,
    files: Object.fromEntries(c.files.map((f) => [f.name, { size: f.size, sha256: f.sha256 }])),
    pushed_at: new Date().toISOString(),
  };
  await store.put(prefix + MANIFEST, new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`));
}

/** The file again, as it was when it was checked: the manifest must describe the bytes that were uploaded. */
async function readChecked(f: LocalFile): Promise<Uint8Array> {
  const buf = await readFile(f.path);
  if (createHash("sha256").update(buf).digest("hex") !== f.sha256) throw new RefusedError(`${f.path} changed while it was being pushed; push again`);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
