// An object store seen as keys ("adapters/sentiment/adapter_config.json").
// Local folders and S3-compatible buckets implement the same two calls.

export interface Store {
  /** The object's bytes, or null when the key does not exist. */
  get(key: string): Promise<Uint8Array | null>;
  /** Names of the "folders" directly under a prefix such as "adapters/". */
  listFolders(prefix: string): Promise<string[]>;
  /** For messages and logs. */
  readonly description: string;
}

/** Raised when the store cannot be reached (as opposed to a missing key). */
export class StoreUnavailableError extends Error {}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._,-]*$/;

/** Keys are built from user-supplied names: refuse anything that could leave the store's root. */
export function checkKey(key: string): string {
  const parts = key.split("/");
  if (parts.some((p) => !SEGMENT.test(p) || p.includes(".."))) throw new Error(`invalid store key "${key}"`);
  return key;
}
