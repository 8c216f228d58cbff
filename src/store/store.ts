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
}

/**
 * `polyhead push` writes this file last into every folder it uploads. When it
 * is present it is authoritative: only the files it lists belong to the
 * folder, and each must have the listed size and SHA-256, so a reader never
 * mixes files of two versions. Folders copied by other tools (no manifest)
 * are read as they are.
 */
export const MANIFEST = "polyhead.json";

/** The three kinds of folder a store holds, and the folder each lives under. */
export type Kind = "model" | "adapter" | "fusion";
export const KINDS: Kind[] = ["model", "adapter", "fusion"];
export const KIND_DIR: Record<Kind, "models" | "adapters" | "fusions"> = { model: "models", adapter: "adapters", fusion: "fusions" };

export interface Manifest {
  format: 1;
  kind: Kind;
  files: Record<string, { size: number; sha256: string }>;
  pushed_at: string;
}
