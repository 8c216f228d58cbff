import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ListObjectsV2CommandOutput,
} from "@aws-sdk/client-s3";
import { parseS3Location, type S3Location } from "./s3-location.ts";
import type { ObjectInfo, Store, StoredObject } from "./store.ts";
import { StoreMissingError, StoreUnavailableError } from "../core/errors.ts";
import { checkKey } from "../core/names.ts";

// A store in an S3-compatible bucket: AWS S3, Cloudflare R2, MinIO. The same
// client settings work for all three; only the endpoint differs.

export interface S3StoreOptions {
  /** e.g. https://<account>.r2.cloudflarestorage.com or http://127.0.0.1:9000; default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS */
  endpoint?: string;
  /** default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else "us-east-1" with a custom endpoint */
  region?: string;
  /** default: the SDK's chain (env, AWS_PROFILE / shared config, SSO, container and instance roles) */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** default: true with a custom endpoint (MinIO and most self-hosted servers have no virtual-host buckets) */
  forcePathStyle?: boolean;
  /** ms to open a TCP connection (default 3000) */
  connectTimeoutMs?: number;
  /** ms a socket may stay silent mid-request (default 30000) */
  idleTimeoutMs?: number;
  /** total tries per call, the first included (default 2) */
  maxAttempts?: number;
  /** keys per ListObjectsV2 page (default and S3's maximum: 1000) */
  listPageSize?: number;
}

export class S3Store implements Store {
  readonly description: string;
  readonly remote = true;
  readonly location: S3Location;
  private client: S3Client;
  private pageSize: number | undefined;

  constructor(location: string | S3Location, opts: S3StoreOptions = {}) {
    this.location = typeof location === "string" ? parseS3Location(location) : location;
    const env = process.env;
    const endpoint = opts.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
    // The SDK itself reads AWS_REGION but not AWS_DEFAULT_REGION (the CLI's name);
    // a custom endpoint usually ignores the region but the signature needs one.
    const region = opts.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (endpoint ? "us-east-1" : undefined);
    this.client = new S3Client({
      ...(endpoint ? { endpoint } : {}),
      ...(region ? { region } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      forcePathStyle: opts.forcePathStyle ?? !!endpoint,
      // Newer SDKs add CRC32 checksums to every request and verify them on
      // responses; R2 and MinIO reject or omit them, so only where S3 requires it.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      // An unreachable store must fail fast: the server answers 503 and the
      // caller retries, rather than every request hanging on the store.
      maxAttempts: opts.maxAttempts ?? 2,
      requestHandler: { connectionTimeout: opts.connectTimeoutMs ?? 3000, socketTimeout: opts.idleTimeoutMs ?? 30000 },
    });
    this.pageSize = opts.listPageSize;
    const { bucket, prefix } = this.location;
    this.description = `s3://${bucket}/${prefix}${endpoint ? ` at ${endpoint}` : ""}`;
  }

  private fullKey(key: string): string {
    return this.location.prefix + checkKey(key);
  }

  /** A store-relative prefix ("adapters/", "") as a bucket prefix. */
  private fullPrefix(prefix: string): string {
    const trimmed = prefix.replace(/\/$/, "");
    if (trimmed) checkKey(trimmed);
    return this.location.prefix + prefix;
  }

  async get(key: string): Promise<StoredObject | null> {
    const Key = this.fullKey(key);
    return this.call(`get ${key}`, async () => {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key }));
      // The body streams: a store that dies mid-transfer fails here, inside call().
      const bytes = await res.Body!.transformToByteArray();
      return { bytes, etag: res.ETag ?? "" };
    });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const Key = this.fullKey(key);
    return this.call(`head ${key}`, async () => {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key }));
      return { key, size: res.ContentLength ?? 0, etag: res.ETag ?? "" };
    });
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const Prefix = this.fullPrefix(prefix);
    const out: ObjectInfo[] = [];
    for await (const page of this.pages(Prefix, false)) {
      for (const o of page.Contents ?? []) {
        // "folder/" placeholders made by web consoles are not objects of the store
        if (!o.Key || o.Key.endsWith("/")) continue;
        out.push({ key: o.Key.slice(this.location.prefix.length), size: o.Size ?? 0, etag: o.ETag ?? "" });
      }
    }
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  async listFolders(prefix: string): Promise<string[]> {
    const Prefix = this.fullPrefix(prefix && !prefix.endsWith("/") ? `${prefix}/` : prefix);
    const out: string[] = [];
    for await (const page of this.pages(Prefix, true)) {
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix.slice(Prefix.length).replace(/\/$/, ""));
    }
    return out.filter(Boolean).sort();
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const Key = this.fullKey(key);
    // PutObject is atomic: readers see the old object or the new one.
    await this.call(`put ${key}`, () =>
      this.client.send(new PutObjectCommand({ Bucket: this.location.bucket, Key, Body: bytes, ContentLength: bytes.byteLength })),
    );
  }

  /**
   * A bucket that does not exist stops `serve`, `ls` and `inspect` at once.
   * A store that cannot be reached right now does not: the server starts,
   * says so on /readyz, and retries.
   */
  async check(): Promise<void> {
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: this.location.prefix, MaxKeys: 1 }));
    } catch (e) {
      if ((e as SdkError).name === "NoSuchBucket") throw new StoreMissingError(`the store ${this.description} does not exist: the bucket does not exist`);
    }
  }

  /** Frees the client's sockets (tests, CLI exit). */
  close(): void {
    this.client.destroy();
  }

  private async *pages(Prefix: string, folders: boolean): AsyncGenerator<ListObjectsV2CommandOutput> {
    let ContinuationToken: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput | null = await this.call(`list ${Prefix}`, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix, ContinuationToken, MaxKeys: this.pageSize, ...(folders ? { Delimiter: "/" } : {}) })),
      );
      if (!page) return;
      yield page;
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  /** Runs one S3 call: a missing key becomes null, every other failure a StoreUnavailableError. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await fn();
    } catch (e) {
      if (isMissing(e)) return null;
      throw new StoreUnavailableError(`${this.description}: ${what}: ${explain(e)}`, { cause: e });
    }
  }
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function isMissing(e: unknown): boolean {
  const err = e as SdkError;
  // NoSuchBucket is a 404 too, but it means a wrong location, not a missing key
  if (err.name === "NoSuchBucket") return false;
  return err.name === "NoSuchKey" || err.name === "NotFound" || err.$metadata?.httpStatusCode === 404;
}

/** One line an operator can act on. */
function explain(e: unknown): string {
  const err = e as SdkError;
  const status = err.$metadata?.httpStatusCode;
  const code = err.code ?? err.name ?? "Error";
  if (err.name === "CredentialsProviderError") return `no credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE (${err.message})`;
  if (err.name === "NoSuchBucket") return "the bucket does not exist";
  if (/Region is missing/i.test(err.message ?? "")) return "no region: set AWS_REGION (or AWS_DEFAULT_REGION, or a region in the AWS profile)";
  if (status === 403 || /InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied/.test(code)) {
    return `access denied (${code}): check the credentials and the bucket's permissions`;
  }
  if (status && status >= 500) return `the store answered ${status} (${code})`;
  if (/ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ETIMEDOUT|EPIPE/.test(`${code} ${err.message}`) || err.name === "TimeoutError") {
    return `cannot reach the store (${code}: ${err.message})`;
  }
  return `${code}${status ? ` (HTTP ${status})` : ""}: ${err.message ?? String(e)}`;
}
