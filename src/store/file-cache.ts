import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, rename, stat, unlink, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CacheStats } from "../core/cache-stats.ts";
import type { Store } from "./store.ts";

// Fetched files, kept by (key, ETag) so two versions of a file never mix:
// in memory up to a byte budget, and optionally on local disk (so a restarted
// container does not fetch its adapters again). Both evict least recently
// used first. Concurrent reads of one file share one fetch.

export interface FileCacheOptions {
  /** memory budget in bytes */
  memoryBytes: number;
  /** a folder for the disk cache; none when absent */
  diskDir?: string;
  diskBytes?: number;
}

/** The shared counters (hits: memory hits), and what only this cache counts. */
export interface FileCacheStats extends CacheStats {
  evictions: number;
  diskHits: number;
}

/**
 * The default memory budget for a store's files. A remote store's files are
 * worth keeping. A local folder's big files already sit in the OS page cache,
 * and a copy in memory would sit beside the weights parsed from them (a
 * bert-base fusion is an 85 MB file): only its small files are kept.
 */
export function defaultCacheBytes(store: Store): number {
  return store.remote ? 256 * 1024 ** 2 : 32 * 1024 ** 2;
}

export class FileCache {
  private memory = new Map<string, Uint8Array>();
  private memoryUsed = 0;
  private inflight = new Map<string, Promise<{ bytes: Uint8Array; etag: string } | null>>();
  /** GETs started before the folder was listed, by key: their ETag is known only when they return. */
  private early = new Map<string, Promise<{ bytes: Uint8Array; etag: string } | null>>();
  private counters = { hits: 0, misses: 0, evictions: 0, diskHits: 0 };

  constructor(
    readonly store: Store,
    private opts: FileCacheOptions,
  ) {}

  stats(): FileCacheStats {
    return { ...this.counters, bytes: this.memoryUsed, entries: this.memory.size };
  }

  /**
   * The file's bytes at version `etag` (as listed), fetched when not cached.
   * The result carries the ETag actually read: when it differs from `etag`,
   * the object changed since it was listed, and the caller decides.
   */
  async read(key: string, etag: string): Promise<{ bytes: Uint8Array; etag: string } | null> {
    const id = `${key}\n${etag}`;
    const mem = this.memory.get(id);
    if (mem) {
      this.counters.hits++;
      this.memory.delete(id);
      this.memory.set(id, mem); // most recently used goes last
      return { bytes: mem, etag };
    }
    const early = this.early.get(key);
    if (early) {
      const got = await early.catch(() => null);
      if (got && got.etag === etag) return got; // remembered by fetchEarly
    }
    let p = this.inflight.get(id);
    if (!p) {
      p = this.fetch(key, etag, id).finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
    }
    return p;
  }

  /**
   * Starts fetching files a cold load will need while the folder is still
   * being listed: on a remote store that saves a round trip. A file whose
   * ETag then differs from the listing is simply fetched again.
   */
  fetchEarly(keys: string[]): void {
    for (const key of keys) {
      if (this.early.has(key)) continue;
      const p = this.store.get(key).then((obj) => {
        if (obj) {
          this.counters.misses++;
          this.remember(`${key}\n${obj.etag}`, obj.bytes);
        }
        return obj;
      });
      this.early.set(key, p);
      p.catch(() => {}).finally(() => this.early.delete(key));
    }
  }

  private async fetch(key: string, etag: string, id: string) {
    const disk = await this.fromDisk(id);
    if (disk) {
      this.counters.diskHits++;
      this.remember(id, disk);
      return { bytes: disk, etag };
    }
    this.counters.misses++;
    const obj = await this.store.get(key);
    if (!obj) return null;
    const gotId = `${key}\n${obj.etag}`;
    this.remember(gotId, obj.bytes);
    await this.toDisk(gotId, obj.bytes);
    return obj;
  }

  private remember(id: string, bytes: Uint8Array) {
    if (bytes.byteLength > this.opts.memoryBytes) return;
    this.memory.set(id, bytes);
    this.memoryUsed += bytes.byteLength;
    for (const [old, b] of this.memory) {
      if (this.memoryUsed <= this.opts.memoryBytes) break;
      this.memory.delete(old);
      this.memoryUsed -= b.byteLength;
      this.counters.evictions++;
    }
  }

  private diskPath(id: string) {
    return path.join(this.opts.diskDir!, createHash("sha256").update(id).digest("hex"));
  }

  private async fromDisk(id: string): Promise<Uint8Array | null> {
    if (!this.opts.diskDir) return null;
    const file = this.diskPath(id);
    try {
      const buf = await readFile(file);
      const now = new Date();
      await utimes(file, now, now).catch(() => {}); // mtime is the LRU clock
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch {
      return null;
    }
  }

  private async toDisk(id: string, bytes: Uint8Array) {
    const dir = this.opts.diskDir;
    if (!dir) return;
    try {
      await mkdir(dir, { recursive: true });
      const file = this.diskPath(id);
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, file);
      await this.trimDisk(dir);
    } catch {
      // A full or read-only disk costs a refetch later, never a failed request.
    }
  }

  private async trimDisk(dir: string) {
    const budget = this.opts.diskBytes ?? Infinity;
    const files = await Promise.all(
      (await readdir(dir)).filter((f) => !f.endsWith(".tmp")).map(async (f) => ({ f, st: await stat(path.join(dir, f)) })),
    );
    let used = files.reduce((n, x) => n + x.st.size, 0);
    for (const { f, st } of files.sort((a, b) => a.st.mtimeMs - b.st.mtimeMs)) {
      if (used <= budget) break;
      await unlink(path.join(dir, f)).catch(() => {});
      used -= st.size;
    }
  }
}
