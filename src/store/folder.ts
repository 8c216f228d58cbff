import { createHash } from "node:crypto";
import type { ObjectInfo } from "./store.ts";
import { InvalidAdapterError, StoreUnavailableError } from "../core/errors.ts";
import { directFiles, MANIFEST, parseManifest, type Manifest } from "./layout.ts";
import type { FileCache } from "./file-cache.ts";
import { parseStoredJson } from "../core/json.ts";

// One version of a folder (an adapter, a fusion, a model), read whole or not
// at all. The version is the manifest's ETag when `polyhead push` wrote one,
// else the ETags of the files listed. Reads that see a file of another version
// (the folder is being replaced right now) throw FolderChanged; the caller
// starts over, so a request never sees a mix of two versions.

export class FolderChanged extends Error {}

export interface FolderSnapshot {
  folder: string;
  version: string;
  has(name: string): boolean;
  /** A file of this version, or null when the folder has no such file. */
  read(name: string): Promise<Uint8Array | null>;
  /** Bytes read so far (what holding this version costs in memory). */
  bytesRead(): number;
}

/** The folder's current version, or null when it is empty or missing. */
export function versionOf(all: ObjectInfo[], folder: string): string | null {
  const infos = directFiles(all, `${folder}/`);
  if (!infos.length) return null;
  const manifest = infos.find((i) => i.key === `${folder}/${MANIFEST}`);
  if (manifest) return `manifest ${manifest.etag}`;
  return infos.map((i) => `${i.key.slice(folder.length + 1)}=${i.etag}`).join(";");
}

export async function snapshot(cache: FileCache, folder: string, expected: string[] = []): Promise<FolderSnapshot | null> {
  cache.fetchEarly(expected.map((name) => `${folder}/${name}`));
  const infos = directFiles(await cache.store.list(`${folder}/`), `${folder}/`);
  const version = versionOf(infos, folder);
  if (!version) return null;
  const byName = new Map(infos.map((i) => [i.key.slice(folder.length + 1), i]));
  let manifest: Manifest | null = null;
  if (byName.has(MANIFEST)) {
    const m = await cache.read(`${folder}/${MANIFEST}`, byName.get(MANIFEST)!.etag);
    if (!m || m.etag !== byName.get(MANIFEST)!.etag) throw new FolderChanged(folder);
    try {
      manifest = parseManifest(parseStoredJson(new TextDecoder().decode(m.bytes)));
    } catch (e) {
      const [dir, ...rest] = folder.split("/");
      throw new InvalidAdapterError(dir.replace(/s$/, ""), rest.join("/"), `${MANIFEST} is not a valid manifest: ${(e as Error).message}`);
    }
  }
  const counted = new Map<string, number>();
  const count = (name: string, n: number) => counted.set(name, n);
  return {
    folder,
    version,
    has: (name) => (manifest ? name in manifest.files : byName.has(name)),
    bytesRead: () => [...counted.values()].reduce((a, b) => a + b, 0),
    async read(name) {
      const info = byName.get(name);
      if (manifest) {
        const want = manifest.files[name];
        if (!want) return null;
        // Listed in the manifest but not in the store: an upload in progress or a half-deleted folder.
        if (!info) throw new FolderChanged(folder);
        const got = await cache.read(info.key, info.etag);
        if (!got || got.bytes.byteLength !== want.size || sha256(got.bytes) !== want.sha256) throw new FolderChanged(folder);
        count(name, got.bytes.byteLength);
        return got.bytes;
      }
      if (!info) return null;
      const got = await cache.read(info.key, info.etag);
      if (!got || got.etag !== info.etag) throw new FolderChanged(folder);
      count(name, got.bytes.byteLength);
      return got.bytes;
    },
  };
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/**
 * Runs `load` over a consistent snapshot, starting over when the folder
 * changes underneath (bounded: a folder rewritten nonstop is "unavailable").
 */
export async function readConsistently<T>(
  cache: FileCache,
  folder: string,
  load: (s: FolderSnapshot) => Promise<T>,
  /** files worth fetching while the folder is listed (first attempt only) */
  expected: string[] = [],
): Promise<{ value: T; snap: FolderSnapshot } | null> {
  for (let attempt = 0; ; attempt++) {
    try {
      const snap = await snapshot(cache, folder, attempt === 0 ? expected : []);
      if (!snap) return null;
      return { value: await load(snap), snap };
    } catch (e) {
      if (!(e instanceof FolderChanged)) throw e;
      if (attempt >= 4) throw new StoreUnavailableError(`${folder} kept changing while it was read; try again shortly`);
      await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
  }
}
