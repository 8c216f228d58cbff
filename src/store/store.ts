// An object store seen as keys ("adapters/sentiment/adapter_config.json").
// Local folders and S3-compatible buckets (AWS S3, Cloudflare R2, MinIO)
// implement the same calls; everything above this interface is
// storage-agnostic.

export interface StoredObject {
  bytes: Uint8Array;
  /** changes whenever the object's content changes */
  etag: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
}

export interface Store {
  /** For messages and logs. */
  readonly description: string;
  /** Set by network stores: reads cost a round trip, so cold loads fetch ahead. */
  readonly remote?: boolean;
  /** The object, or null when the key does not exist. */
  get(key: string): Promise<StoredObject | null>;
  /** Size and ETag without the body, or null when the key does not exist. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Every object under a prefix ("adapters/sentiment/"), recursively. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Names of the "folders" directly under a prefix such as "adapters/". */
  listFolders(prefix: string): Promise<string[]>;
  put(key: string, bytes: Uint8Array): Promise<void>;
  /**
   * Throws, naming the location, when the store itself is not there (a local
   * folder that does not exist): `serve`, `ls` and `inspect` refuse it at
   * once instead of answering as for an empty store.
   */
  check?(): Promise<void>;
}
