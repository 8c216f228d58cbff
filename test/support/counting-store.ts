import type { ObjectInfo, Store, StoredObject } from "../../src/store/store.ts";

/** A store that counts reads per key, to see what the cache fetched. */
export class CountingStore implements Store {
  readonly gets = new Map<string, number>();
  readonly folderListings = new Map<string, number>();
  /** `remote` makes the catalog treat it like a network store (it fetches files while listing). */
  constructor(
    private inner: Store,
    readonly remote = false,
  ) {}
  get description() {
    return `counting ${this.inner.description}`;
  }
  async get(key: string): Promise<StoredObject | null> {
    this.gets.set(key, (this.gets.get(key) ?? 0) + 1);
    return this.inner.get(key);
  }
  head(key: string): Promise<ObjectInfo | null> {
    return this.inner.head(key);
  }
  list(prefix: string): Promise<ObjectInfo[]> {
    return this.inner.list(prefix);
  }
  listFolders(prefix: string): Promise<string[]> {
    this.folderListings.set(prefix, (this.folderListings.get(prefix) ?? 0) + 1);
    return this.inner.listFolders(prefix);
  }
  put(key: string, bytes: Uint8Array): Promise<void> {
    return this.inner.put(key, bytes);
  }
}
