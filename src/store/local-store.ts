import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { checkKey, type Store } from "./store.ts";

/** A store in a local folder: the key is the relative path. */
export class LocalStore implements Store {
  readonly description: string;
  private root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.description = `local folder ${this.root}`;
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      const buf = await readFile(path.join(this.root, checkKey(key)));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "EISDIR") return null;
      throw e;
    }
  }

  async listFolders(prefix: string): Promise<string[]> {
    const dir = path.join(this.root, checkKey(prefix.replace(/\/$/, "")));
    try {
      const entries = await readdir(dir, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
  }
}
