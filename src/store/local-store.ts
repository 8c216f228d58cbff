import { mkdir, readFile, readdir, realpath, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ObjectInfo, Store, StoredObject } from "./store.ts";
import { checkKey } from "../core/names.ts";
import { StoreMissingError } from "../core/errors.ts";

/** A store in a local folder: the key is the relative path; the ETag comes from size and mtime. */
export class LocalStore implements Store {
  readonly description: string;
  private root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.description = `local folder ${this.root}`;
  }

  private file(key: string) {
    return path.join(this.root, checkKey(key));
  }

  async check(): Promise<void> {
    const st = await stat(this.root).catch(() => null);
    if (!st) throw new StoreMissingError(`the store ${this.root} does not exist (give --store a folder holding models/, adapters/, fusions/, or s3://bucket/prefix)`);
    if (!st.isDirectory()) throw new StoreMissingError(`the store ${this.root} is not a folder`);
  }

  private realRoot: Promise<string> | null = null;

  /**
   * The path, when it really lies inside the store. A link that leads out of
   * the folder (an adapter folder linked to /home, a config linked to
   * /etc/passwd) is treated as absent: the store is the folder, not what it
   * points at.
   */
  private async within(p: string): Promise<string | null> {
    this.realRoot ??= realpath(this.root).catch(() => this.root);
    const [root, real] = await Promise.all([this.realRoot, realpath(p)]);
    return real === root || real.startsWith(root + path.sep) ? real : null;
  }

  async get(key: string): Promise<StoredObject | null> {
    const file = this.file(key);
    try {
      if (!(await this.within(file))) return null;
      const [buf, st] = await Promise.all([readFile(file), stat(file)]);
      return { bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), etag: etagOf(st) };
    } catch (e) {
      if (missing(e)) return null;
      throw e;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      if (!(await this.within(this.file(key)))) return null;
      const st = await stat(this.file(key));
      return st.isFile() ? { key, size: st.size, etag: etagOf(st) } : null;
    } catch (e) {
      if (missing(e)) return null;
      throw e;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const walk = async (rel: string) => {
      let entries;
      try {
        if (!(await this.within(path.join(this.root, rel)))) return;
        entries = await readdir(path.join(this.root, rel), { withFileTypes: true });
      } catch (e) {
        if (missing(e)) return;
        throw e;
      }
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(key);
        else if (e.isFile()) out.push({ key, size: (await stat(path.join(this.root, key))).size, etag: etagOf(await stat(path.join(this.root, key))) });
      }
    };
    const dir = prefix.replace(/\/$/, "");
    await walk(dir ? checkKey(dir) : "");
    return out.filter((o) => o.key.startsWith(prefix)).sort((a, b) => a.key.localeCompare(b.key));
  }

  async listFolders(prefix: string): Promise<string[]> {
    const dir = prefix.replace(/\/$/, "");
    try {
      if (!(await this.within(dir ? this.file(dir) : this.root))) return [];
      const entries = await readdir(dir ? this.file(dir) : this.root, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
    } catch (e) {
      if (missing(e)) return [];
      throw e;
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const file = this.file(key);
    await mkdir(path.dirname(file), { recursive: true });
    // write-then-rename: readers see the old file or the new one, never half of it
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  }
}

const etagOf = (st: { size: number; mtimeMs: number }) => `"${st.size.toString(16)}-${Math.floor(st.mtimeMs * 1000).toString(16)}"`;
const missing = (e: unknown) => ["ENOENT", "EISDIR", "ENOTDIR"].includes((e as NodeJS.ErrnoException).code ?? "");
