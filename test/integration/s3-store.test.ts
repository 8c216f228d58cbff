import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { S3Store } from "../../src/store/s3-store.ts";
import { parseS3Location } from "../../src/store/s3-location.ts";
import { openStore } from "../../src/store/open.ts";
import { LocalStore } from "../../src/store/local-store.ts";
import { StoreMissingError, StoreUnavailableError } from "../../src/core/errors.ts";
import { startS3, withEnv, type TestS3 } from "../support/s3.ts";

// The S3 store against a real S3-protocol server (s3rver on loopback).

let s3: TestS3;
let store: S3Store;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

before(async () => {
  s3 = await startS3();
  store = new S3Store(`s3://${s3.bucket}/team/store`, { endpoint: s3.endpoint, credentials: s3.credentials });
});
after(async () => {
  store.close();
  await s3.dispose();
});

test("locations: bucket, optional prefix, nonsense refused", () => {
  assert.deepEqual(parseS3Location("s3://b1/a/b/"), { bucket: "b1", prefix: "a/b/" });
  assert.deepEqual(parseS3Location("s3://bucket"), { bucket: "bucket", prefix: "" });
  assert.throws(() => parseS3Location("s3://"), /invalid S3 location/);
  assert.throws(() => parseS3Location("s3://b1/../x"), /prefix/);
  assert.ok(openStore("some/folder") instanceof LocalStore);
  assert.ok(openStore("s3://bucket/p", { endpoint: s3.endpoint }) instanceof S3Store);
  assert.throws(() => openStore("gs://bucket"), /unsupported store location/);
});

test("put, get, head; a missing key is null", async () => {
  await store.put("adapters/a/adapter_config.json", enc('{"x":1}'));
  const got = await store.get("adapters/a/adapter_config.json");
  assert.equal(dec(got!.bytes), '{"x":1}');
  assert.match(got!.etag, /\S/);
  const info = await store.head("adapters/a/adapter_config.json");
  assert.deepEqual(info, { key: "adapters/a/adapter_config.json", size: 7, etag: got!.etag });
  assert.equal(await store.get("adapters/a/nope.json"), null);
  assert.equal(await store.head("adapters/nope/x.json"), null);
  // a new content gets a new ETag
  await store.put("adapters/a/adapter_config.json", enc('{"x":2}'));
  assert.notEqual((await store.head("adapters/a/adapter_config.json"))!.etag, got!.etag);
});

test("binary round trip of a few MB", async () => {
  const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 255);
  await store.put("models/m/model.safetensors", big);
  const got = await store.get("models/m/model.safetensors");
  assert.ok(Buffer.from(got!.bytes).equals(Buffer.from(big)));
});

test("list is recursive and relative to the store's prefix; listFolders pages through folders", async () => {
  await store.put("adapters/a/sub/deep.bin", enc("d"));
  await store.put("adapters/b/adapter_config.json", enc("b"));
  await store.put("fusions/f/fusion.json", enc("f"));
  const keys = (await store.list("adapters/a/")).map((o) => o.key);
  assert.deepEqual(keys, ["adapters/a/adapter_config.json", "adapters/a/sub/deep.bin"]);
  assert.deepEqual((await store.list("adapters/")).map((o) => o.size).length, 3);
  assert.deepEqual(await store.listFolders("adapters/"), ["a", "b"]);
  assert.deepEqual(await store.listFolders("nothing/"), []);
  // s3rver only finds common prefixes one level down (it prunes deeper
  // folders before it has seen their objects), so the root test has its own.
  const root = new S3Store(`s3://${s3.bucket}/flat`, { endpoint: s3.endpoint, credentials: s3.credentials });
  await root.put("x/1", enc("1"));
  await root.put("y/2", enc("2"));
  assert.deepEqual(await root.listFolders(""), ["x", "y"]);
  assert.deepEqual((await root.list("")).map((o) => o.key), ["x/1", "y/2"]);
  root.close();

  // more objects than one ListObjectsV2 page
  const many = new S3Store(`s3://${s3.bucket}/many`, { endpoint: s3.endpoint, credentials: s3.credentials, listPageSize: 3 });
  const names = Array.from({ length: 10 }, (_, i) => `n${String(i).padStart(2, "0")}`);
  await Promise.all(names.map((n) => many.put(`adapters/${n}/x`, enc(n))));
  assert.deepEqual(await many.listFolders("adapters/"), names);
  assert.equal((await many.list("adapters/")).length, names.length);
  many.close();
});

test("keys that could leave the store are refused before any request", async () => {
  for (const key of ["../x", "adapters/../../etc/passwd", "/abs", "adapters//x", "a/./b", "a\\b"]) {
    await assert.rejects(store.get(key), /invalid store key/, key);
    await assert.rejects(store.put(key, enc("x")), /invalid store key/, key);
  }
  await assert.rejects(store.list("../"), /invalid store key/);
  await assert.rejects(store.listFolders("x/../../"), /invalid store key/);
});

test("bad credentials and a missing bucket are StoreUnavailableError with a reason", async () => {
  const wrong = new S3Store(`s3://${s3.bucket}`, { endpoint: s3.endpoint, credentials: { accessKeyId: "WRONG", secretAccessKey: "nope" } });
  await assert.rejects(wrong.get("a/b"), (e: Error) => e instanceof StoreUnavailableError && /access denied \(InvalidAccessKeyId\)/.test(e.message));
  wrong.close();
  const noBucket = new S3Store("s3://no-such-bucket", { endpoint: s3.endpoint, credentials: s3.credentials });
  await assert.rejects(noBucket.listFolders(""), (e: Error) => e instanceof StoreUnavailableError && /bucket does not exist/.test(e.message));
  await assert.rejects(noBucket.get("a/b"), StoreUnavailableError);
  // what serve, ls and inspect ask first: a missing bucket stops them, naming it
  await assert.rejects(noBucket.check(), (e: Error) => e instanceof StoreMissingError && /s3:\/\/no-such-bucket\/.* does not exist/.test(e.message));
  noBucket.close();
  const empty = new S3Store(`s3://${s3.bucket}/nothing-here`, { endpoint: s3.endpoint, credentials: s3.credentials });
  await empty.check(); // an empty prefix is a new store, not a missing one
  empty.close();
});

test("endpoint, region and credentials from the AWS environment", async () => {
  const restore = withEnv({ ...s3.env, AWS_REGION: undefined, AWS_DEFAULT_REGION: "eu-west-1", AWS_PROFILE: undefined });
  try {
    const fromEnv = openStore(`s3://${s3.bucket}/team/store`);
    assert.match(fromEnv.description, new RegExp(`s3://${s3.bucket}/team/store/ at ${s3.endpoint}`));
    assert.equal(dec((await fromEnv.get("adapters/b/adapter_config.json"))!.bytes), "b");
  } finally {
    restore();
  }
});

test("a stopped store fails fast with StoreUnavailableError, and works again when it is back", async () => {
  await store.put("adapters/back/x.json", enc("still here"));
  await s3.stop();
  try {
    for (const call of [() => store.get("adapters/back/x.json"), () => store.head("adapters/back/x.json"), () => store.listFolders("adapters/"), () => store.put("adapters/z/x", enc("z"))]) {
      const t0 = Date.now();
      await assert.rejects(call(), (e: Error) => {
        assert.ok(e instanceof StoreUnavailableError, String(e));
        assert.match(e.message, /^s3:\/\/polyhead\/team\/store\/ at http:\/\/127\.0\.0\.1:\d+: \w+ .*: cannot reach the store \(/);
        return true;
      });
      assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    }
  } finally {
    await s3.restart();
  }
  assert.equal(dec((await store.get("adapters/back/x.json"))!.bytes), "still here");
});

test("a store that accepts connections but never answers times out instead of hanging", async () => {
  const sockets: net.Socket[] = [];
  const mute = net.createServer((s) => void sockets.push(s));
  await new Promise<void>((resolve) => mute.listen(0, "127.0.0.1", resolve));
  const { port } = mute.address() as net.AddressInfo;
  const hung = new S3Store("s3://bucket", { endpoint: `http://127.0.0.1:${port}`, credentials: s3.credentials, idleTimeoutMs: 300 });
  try {
    const t0 = Date.now();
    await assert.rejects(hung.get("a/b"), (e: Error) => e instanceof StoreUnavailableError && /cannot reach the store/.test(e.message));
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  } finally {
    hung.close();
    for (const s of sockets) s.destroy();
    mute.close();
  }
});
