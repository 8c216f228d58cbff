// Broken adapter folders served over HTTP: each is a copy of a real adapter
// with one thing broken. A request naming it gets a 422 invalid-adapter
// problem that says what is wrong; the next good request is still answered.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { unzipSync, zipSync } from "fflate";
import { copyStore, post, startServer } from "../support/server.ts";
import { readSafetensors, writeSafetensors } from "../../src/formats/safetensors.ts";
import { ADAPTERHUB_FIXTURES } from "../support/paths.ts";
import type { RunningServer } from "../../src/server/serve.ts";

const SRC = path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment");
const SAFE = new Uint8Array(readFileSync(path.join(SRC, "adapter.safetensors")));
const BIN = new Uint8Array(readFileSync(path.join(SRC, "pytorch_adapter.bin")));
const CONFIG = JSON.parse(readFileSync(path.join(SRC, "adapter_config.json"), "utf8"));
const KEY = (layer: number, leaf: string) => `bert.encoder.layer.${layer}.output.adapters.sentiment.${leaf}`;

/** The safetensors header as JSON, and a file rebuilt from an edited header over the same data section. */
function header(bytes: Uint8Array): { json: Record<string, any>; data: Uint8Array } {
  const len = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { json: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len))), data: bytes.subarray(8 + len) };
}
function withHeader(edit: (h: Record<string, any>) => void, data?: Uint8Array): Uint8Array {
  const h = header(SAFE);
  edit(h.json);
  const json = new TextEncoder().encode(JSON.stringify(h.json));
  const body = data ?? h.data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

/** Sets the uncompressed size an entry declares, in both its local header and its central directory record. */
function setDeclaredSize(zip: Uint8Array, entry: string, size: number): Uint8Array {
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const name = new TextEncoder().encode(entry);
  let patched = 0;
  for (let p = 0; p + 46 < zip.length; p++) {
    const sig = v.getUint32(p, true);
    const [nameAt, sizeAt, lenAt] = sig === 0x02014b50 ? [46, 24, 28] : sig === 0x04034b50 ? [30, 22, 26] : [0, 0, 0];
    if (!nameAt || v.getUint16(p + lenAt, true) !== name.length || !name.every((b, i) => zip[p + nameAt + i] === b)) continue;
    v.setUint32(p + sizeAt, size, true);
    patched++;
  }
  assert.equal(patched, 2, `entry ${entry} not found twice in the zip`);
  return zip;
}

/** Every tensor of the real file as I8 (values rounded into -128..127), and the same values as F32. */
function intAdapters(): { i8: Uint8Array; f32: Uint8Array } {
  const dict = readSafetensors(SAFE);
  const rounded = new Map([...dict].map(([k, t]) => [k, { shape: t.shape, data: Float32Array.from(t.data, (x) => Math.max(-128, Math.min(127, Math.round(x * 50)))) }]));
  const names = [...rounded.keys()].sort();
  const h: Record<string, unknown> = {};
  let off = 0;
  for (const n of names) {
    const t = rounded.get(n)!;
    h[n] = { dtype: "I8", shape: t.shape, data_offsets: [off, off + t.data.length] };
    off += t.data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(h));
  const i8 = new Uint8Array(8 + json.length + off);
  new DataView(i8.buffer).setBigUint64(0, BigInt(json.length), true);
  i8.set(json, 8);
  let at = 8 + json.length;
  for (const n of names) {
    i8.set(new Uint8Array(Int8Array.from(rounded.get(n)!.data).buffer), at);
    at += rounded.get(n)!.data.length;
  }
  return { i8, f32: writeSafetensors(rounded) };
}

interface Broken {
  /** folder name under adapters/ */
  name: string;
  what: string;
  /** files written over the copy of adapters/sentiment (the other weight format is removed) */
  files: Record<string, Uint8Array | object>;
  detail: RegExp;
}

const binFiles = unzipSync(BIN);
const cases: Broken[] = [
  { name: "st-truncated", what: "truncated safetensors", files: { "adapter.safetensors": SAFE.slice(0, SAFE.length - 100) }, detail: /adapter\.safetensors: tensor ".*" data_offsets \[\d+, \d+\] lie outside the \d+-byte data section/ },
  {
    name: "st-header-too-long", what: "header length larger than the file",
    files: { "adapter.safetensors": (() => { const b = SAFE.slice(); new DataView(b.buffer).setBigUint64(0, BigInt(b.length + 1000), true); return b; })() },
    detail: /header length \d+ runs past the end of the file/,
  },
  {
    name: "st-offsets-out", what: "data_offsets out of range",
    files: { "adapter.safetensors": withHeader((h) => { h[KEY(1, "adapter_up.weight")].data_offsets = [1040, 99_999]; }) },
    detail: /data_offsets \[1040, 99999\] lie outside/,
  },
  {
    name: "st-overlap", what: "overlapping data_offsets",
    files: { "adapter.safetensors": withHeader((h) => { h[KEY(0, "adapter_down.0.weight")].data_offsets = [392, 648]; }) },
    detail: /overlap in the data section/,
  },
  {
    name: "st-dtype", what: "I8 dtype over F32-sized data",
    files: { "adapter.safetensors": withHeader((h) => { h[KEY(0, "adapter_up.weight")].dtype = "I8"; }) },
    detail: /shape \[32,2\] of I8 needs 64 bytes but data_offsets span 256/,
  },
  {
    name: "st-dtype-unknown", what: "a dtype polyhead does not read",
    files: { "adapter.safetensors": withHeader((h) => { h[KEY(0, "adapter_up.weight")].dtype = "F8_E4M3"; }) },
    detail: /unsupported dtype "F8_E4M3"/,
  },
  {
    name: "bin-bomb", what: "zip bomb: 200 MiB of zeros in a ~200 KB entry that declares 256 bytes",
    files: { "pytorch_adapter.bin": setDeclaredSize(zipSync({ ...binFiles, "pytorch_adapter/data/0": [new Uint8Array(200 * 2 ** 20), { level: 9 }] }, { level: 0 }), "pytorch_adapter/data/0", 256) },
    detail: /zip entry pytorch_adapter\/data\/0 inflates to more than its declared 256 bytes/,
  },
  {
    name: "bin-huge-declared", what: "zip entry declaring a size past the limit",
    files: { "pytorch_adapter.bin": setDeclaredSize(zipSync(binFiles, { level: 9 }), "pytorch_adapter/data/0", 0xfffffff0) },
    detail: /zip declares more than \d+ uncompressed bytes/,
  },
  {
    name: "bin-lying-large", what: "zip entry declaring 3 GB that inflates to 256 bytes",
    files: { "pytorch_adapter.bin": setDeclaredSize(zipSync(binFiles, { level: 9 }), "pytorch_adapter/data/0", 3_000_000_000) },
    detail: /inflates to less than its declared 3000000000 bytes/,
  },
  {
    name: "bin-not-zip", what: "a .bin that is not a zip",
    files: { "pytorch_adapter.bin": new TextEncoder().encode("this is not a checkpoint\n".repeat(20)) },
    detail: /pytorch_adapter\.bin: not a PyTorch checkpoint/,
  },
  {
    name: "cfg-unknown-option", what: "adapter_config.json with an unknown option",
    files: { "adapter_config.json": { ...CONFIG, config: { ...CONFIG.config, adapter_magic: 3 } } },
    detail: /adapter_magic/,
  },
  {
    name: "cfg-reduction-zero", what: "reduction_factor 0",
    files: { "adapter_config.json": { ...CONFIG, config: { ...CONFIG.config, reduction_factor: 0 } } },
    detail: /reduction_factor/,
  },
  {
    name: "cfg-no-place", what: "mh_adapter and output_adapter both false",
    files: { "adapter_config.json": { ...CONFIG, config: { ...CONFIG.config, mh_adapter: false, output_adapter: false } } },
    detail: /mh_adapter and output_adapter are both false/,
  },
  {
    name: "shape-narrow-down", what: "adapter_down of width 16 where the model's hidden size is 32",
    files: {
      "adapter.safetensors": (() => {
        const dict = readSafetensors(SAFE);
        const w = dict.get(KEY(0, "adapter_down.0.weight"))!;
        dict.set(KEY(0, "adapter_down.0.weight"), { shape: [w.shape[0], 16], data: w.data.slice(0, w.shape[0] * 16) });
        return writeSafetensors(dict);
      })(),
    },
    detail: /input size 16, expected 32/,
  },
];

describe("broken adapter files over HTTP: 422 invalid-adapter, and the server keeps serving", () => {
  let store: { dir: string; cleanup: () => void };
  let server: RunningServer;
  const good = { model: "bert-tiny", inputs: ["a fine day", "a dull film"], tasks: [{ adapters: "sentiment" }] };
  const ints = intAdapters();

  before(async () => {
    store = copyStore(ADAPTERHUB_FIXTURES, () => true);
    const add = (name: string, files: Record<string, Uint8Array | object>) => {
      const dir = path.join(store.dir, "adapters", name);
      cpSync(SRC, dir, { recursive: true });
      // Keep one weight format, the one being broken (safetensors unless a .bin is given).
      rmSync(path.join(dir, "pytorch_adapter.bin" in files ? "adapter.safetensors" : "pytorch_adapter.bin"));
      const cfg = files["adapter_config.json"] as { name?: string } | undefined;
      for (const [f, v] of Object.entries(files)) writeFileSync(path.join(dir, f), v instanceof Uint8Array ? v : JSON.stringify(cfg ?? v));
    };
    for (const c of cases) add(c.name, c.files);
    add("int8", { "adapter.safetensors": ints.i8 });
    add("int8-as-f32", { "adapter.safetensors": ints.f32 });
    server = await startServer(store.dir);
  });
  after(async () => {
    await server?.close();
    store?.cleanup();
  });

  for (const c of cases) {
    test(`${c.what} → 422 invalid-adapter`, async () => {
      const t0 = Date.now();
      const res = await post(`${server.url}/v1/predict`, { ...good, tasks: [{ adapters: c.name }] });
      assert.equal(res.status, 422, JSON.stringify(res.json));
      assert.match(res.headers.get("content-type") ?? "", /application\/problem\+json/);
      assert.equal(res.json.type, "https://polyhead.dev/problems/invalid-adapter");
      assert.equal(res.json.status, 422);
      assert.match(res.json.detail, c.detail);
      if (process.env.SHOW_DETAIL) console.log(c.name, "→", res.json.detail);
      assert.ok(Date.now() - t0 < 5_000, `refusing ${c.name} took ${Date.now() - t0} ms`);
      const ok = await post(`${server.url}/v1/predict`, good);
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
      assert.equal(ok.json.results[0].outputs.length, 2);
    });
  }

  // Decision: integer tensors are accepted and converted to float32, like
  // torch's load_state_dict (param.copy_ casts). The values must then be
  // exactly those of the same integers stored as F32.
  test("integer (I8) weights with the right shapes are served like the same values in F32", async () => {
    const [a, b] = await Promise.all(["int8", "int8-as-f32"].map((name) =>
      post(`${server.url}/v1/predict`, { ...good, tasks: [{ adapters: name }], options: { return_logits: true } })));
    assert.equal(a.status, 200, JSON.stringify(a.json));
    assert.equal(b.status, 200, JSON.stringify(b.json));
    assert.deepEqual(a.json.results[0].outputs, b.json.results[0].outputs);
  });
});
