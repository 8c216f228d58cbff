import { LocalStore } from "./local-store.ts";
import type { Store } from "./store.ts";

/** A store from a location: a local folder path (s3:// URLs come with the S3 store). */
export function openStore(location: string): Store {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) throw new Error(`unsupported store location "${location}" (use a local folder)`);
  return new LocalStore(location);
}
