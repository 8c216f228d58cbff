import type { ObjectInfo, Store, StoredObject } from "../../src/store/store.ts";
import { StoreUnavailableError } from "../../src/core/errors.ts";

/**
 * A store that can be made slow, or fail reads of some keys half-way (as a
 * network store whose download breaks off), to test how the server copes.
 */
export class FaultyStore implements Store {
  delayMs = 0;
  /** reads of keys matching this fail with StoreUnavailableError */
  failing: RegExp | null = null;
  readonly gets: string[] = [];
  /** calls made while frozen and still waiting for thaw() */
  waiting = 0;
  private frozen: Promise<void> | null = null;
  private thawing: (() => void) | null = null;
  constructor(private inner: Store) {}
  /** From now on every call waits, as on a store that accepts connections and never answers. */
  freeze() {
    this.frozen ??= new Promise((r) => (this.thawing = r));
  }
  thaw() {
    this.thawing?.();
    this.frozen = null;
  }
  private async gate() {
    if (!this.frozen) return;
    this.waiting++;
    await this.frozen;
    this.waiting--;
  }
  get description() {
    return `faulty ${this.inner.description}`;
  }
  private async fault(key: string) {
    await this.gate();
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failing?.test(key)) throw new StoreUnavailableError(`${key}: connection reset during download`);
  }
  async get(key: string): Promise<StoredObject | null> {
    this.gets.push(key);
    await this.fault(key);
    return this.inner.get(key);
  }
  async head(key: string): Promise<ObjectInfo | null> {
    await this.fault(key);
    return this.inner.head(key);
  }
  async list(prefix: string): Promise<ObjectInfo[]> {
    await this.gate();
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    return this.inner.list(prefix);
  }
  async listFolders(prefix: string): Promise<string[]> {
    await this.gate();
    return this.inner.listFolders(prefix);
  }
  put(key: string, bytes: Uint8Array): Promise<void> {
    return this.inner.put(key, bytes);
  }
}
