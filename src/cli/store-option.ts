import { Option } from "commander";
import type { Store } from "../store/store.ts";

// The --store option every subcommand shares: a local folder or
// s3://bucket/prefix, also from POLYHEAD_STORE.

const HELP = "store: a local folder or s3://bucket/prefix (S3, R2, MinIO; endpoint and keys from AWS_* env)";

export function storeOption(fallback?: string): Option {
  const o = new Option("--store <location>", HELP).env("POLYHEAD_STORE");
  return fallback === undefined ? o.makeOptionMandatory() : o.default(fallback);
}

/** Frees network clients so the process can exit at once. */
export function closeStore(store: Store): void {
  (store as { close?: () => void }).close?.();
}
