import { MANIFEST, type Manifest, type Store } from "../store/store.ts";
import { KIND_DIR, KINDS, type Kind } from "./kinds.ts";

// What a store holds, folder by folder, as `ls` and `inspect` show it. A
// folder with a manifest holds exactly the files the manifest lists (older
// leftovers are not part of it); one without is taken as it is.

export interface EntryFile {
  name: string;
  size: number;
  etag: string;
  sha256?: string;
}

export interface StoreEntry {
  kind: Kind;
  name: string;
  /** key prefix, e.g. "adapters/sentiment/" */
  prefix: string;
  size: number;
  files: EntryFile[];
  /** null: copied by another tool; otherwise when it was pushed and whether every listed file is there with its size */
  manifest: { pushed_at: string; complete: boolean; missing: string[] } | null;
}

export async function inventory(store: Store, kinds: Kind[] = KINDS): Promise<StoreEntry[]> {
  const folders = await Promise.all(kinds.map(async (kind) => (await store.listFolders(`${KIND_DIR[kind]}/`)).map((name) => ({ kind, name }))));
  return Promise.all(folders.flat().map(({ kind, name }) => entry(store, kind, name)));
}

/** One folder (with no files when the store has nothing under it). */
export async function entry(store: Store, kind: Kind, name: string): Promise<StoreEntry> {
  const prefix = `${KIND_DIR[kind]}/${name}/`;
  const objects = await store.list(prefix);
  const found = new Map(objects.map((o) => [o.key.slice(prefix.length), o]));
  const manifest = found.has(MANIFEST) ? await readManifest(store, prefix + MANIFEST) : null;
  let files: EntryFile[];
  let missing: string[] = [];
  if (manifest) {
    files = [];
    for (const [file, want] of Object.entries(manifest.files)) {
      const o = found.get(file);
      if (!o || o.size !== want.size) missing.push(file);
      else files.push({ name: file, size: o.size, etag: o.etag, sha256: want.sha256 });
    }
  } else {
    files = [...found.entries()].map(([file, o]) => ({ name: file, size: o.size, etag: o.etag }));
  }
  files.sort((a, b) => a.name.localeCompare(b.name));
  return {
    kind,
    name,
    prefix,
    size: files.reduce((n, f) => n + f.size, 0),
    files,
    manifest: manifest ? { pushed_at: manifest.pushed_at, complete: missing.length === 0, missing } : null,
  };
}

async function readManifest(store: Store, key: string): Promise<Manifest | null> {
  const got = await store.get(key);
  if (!got) return null;
  try {
    const m = JSON.parse(new TextDecoder().decode(got.bytes)) as Manifest;
    return m && m.format === 1 && typeof m.files === "object" ? m : null;
  } catch {
    return null;
  }
}

/** A JSON file of a folder, or null when it is absent or not JSON. */
export async function readJson(store: Store, key: string): Promise<unknown> {
  const got = await store.get(key);
  if (!got) return null;
  try {
    return JSON.parse(new TextDecoder().decode(got.bytes));
  } catch {
    return null;
  }
}
