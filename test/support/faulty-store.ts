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
  constructor(private inner: Store) {}
  get description() {
    return `faulty ${this.inner.description}`;
  }
  private async fault(key: string) {
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
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    return this.inner.list(prefix);
  }
  listFolders(prefix: string): Promise<string[]> {
    return this.inner.listFolders(prefix);
  }
  put(key: string, bytes: Uint8Array): Promise<void> {
    return this.inner.put(key, bytes);
  }
}
