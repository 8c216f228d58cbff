import { checkKey } from "../core/names.ts";

// "s3://bucket/some/prefix" → where a store lives in object storage.

export interface S3Location {
  bucket: string;
  /** "" or "some/prefix/": always ends with "/" so keys can be appended */
  prefix: string;
}

// S3's own rules are stricter (lowercase); legacy AWS buckets and other
// servers allow more, so only refuse what cannot be a bucket in a URL.
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

export function isS3Location(location: string): boolean {
  return /^s3:\/\//i.test(location);
}

export function parseS3Location(location: string): S3Location {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(location);
  if (!m || !BUCKET.test(m[1])) throw new Error(`invalid S3 location "${location}" (expected s3://bucket or s3://bucket/prefix)`);
  const prefix = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
  if (prefix) {
    try {
      checkKey(prefix);
    } catch {
      throw new Error(`invalid S3 location "${location}": the prefix must be plain path segments`);
    }
  }
  return { bucket: m[1], prefix: prefix ? `${prefix}/` : "" };
}
