import { LocalStore } from "./local-store.ts";
import { isS3Location } from "./s3-location.ts";
import { S3Store, type S3StoreOptions } from "./s3-store.ts";
import type { Store } from "./store.ts";

/**
 * A store from a location: `s3://bucket[/prefix]` (AWS S3, R2, MinIO; endpoint,
 * region and credentials from the AWS environment unless `s3` gives them) or a
 * local folder path.
 */
export function openStore(location: string, s3: S3StoreOptions = {}): Store {
  if (isS3Location(location)) return new S3Store(location, s3);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) throw new Error(`unsupported store location "${location}" (use s3://bucket/prefix or a local folder)`);
  return new LocalStore(location);
}
