import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { unzipSync, zipSync } from "fflate";
import { readTorchBin } from "../../../src/formats/torch-bin.ts";
import { readSafetensors } from "../../../src/formats/safetensors.ts";
import { readStateDict } from "../../../src/formats/state-dict.ts";
import { FormatError } from "../../../src/core/errors.ts";
import type { StateDict, Tensor } from "../../../src/core/tensor.ts";
import { ADAPTERHUB_FIXTURES } from "../../support/paths.ts";

/*
 * Made with Debian's python3-torch 1.13:
 *   base = (torch.arange(12, dtype=torch.float32) * 0.25 - 1).reshape(3, 4)
 *   sd = OrderedDict(contig=base, transposed=base.t(), slice=base[1:, 1:3],
 *     scalar=torch.tensor(3.5),
 *     half=torch.tensor([1.5, -2, 65504, 2**-24, inf, nan], dtype=torch.float16)[1:],
 *     bf16=torch.tensor([1.5, -2, 2**100, 0.0078125, -0.0], dtype=torch.bfloat16),
 *     param=nn.Parameter(torch.tensor([[0.1, 0.2]])),
 *     double=torch.tensor([0.1, 1e-3], dtype=torch.float64), long=torch.arange(3) - 1,
 *     empty=torch.zeros(0, 4), expanded=torch.tensor([1., 2.]).expand(3, 2))
 * contig/transposed/slice share one storage (strides, storage offset), half has
 * a storage offset, expanded has stride 0.
 */
// torch 1.13 `torch.save(sd, buf)` of the state dict described in TORCH_EXPECTED (see comment there).
const TORCH_ZIP_B64 = `
UEsDBAAACAgAAAAAAAAAAAAAAAAAAAAAAAAQABIAYXJjaGl2ZS9kYXRhLnBrbEZCDgBaWlpaWlpaWlpaWlpaWoACY2NvbGxlY3Rp
b25zCk9yZGVyZWREaWN0CnEAKVJxAShYBgAAAGNvbnRpZ3ECY3RvcmNoLl91dGlscwpfcmVidWlsZF90ZW5zb3JfdjIKcQMoKFgH
AAAAc3RvcmFnZXEEY3RvcmNoCkZsb2F0U3RvcmFnZQpxBVgBAAAAMHEGWAMAAABjcHVxB0sMdHEIUUsASwNLBIZxCUsESwGGcQqJ
aAApUnELdHEMUnENWAoAAAB0cmFuc3Bvc2VkcQ5oAygoaARoBWgGaAdLDHRxD1FLAEsESwOGcRBLAUsEhnERiWgAKVJxEnRxE1Jx
FFgFAAAAc2xpY2VxFWgDKChoBGgFaAZoB0sMdHEWUUsFSwJLAoZxF0sESwGGcRiJaAApUnEZdHEaUnEbWAYAAABzY2FsYXJxHGgD
KChoBGgFWAEAAAAxcR1oB0sBdHEeUUsAKSmJaAApUnEfdHEgUnEhWAQAAABoYWxmcSJoAygoaARjdG9yY2gKSGFsZlN0b3JhZ2UK
cSNYAQAAADJxJGgHSwZ0cSVRSwFLBYVxJksBhXEniWgAKVJxKHRxKVJxKlgEAAAAYmYxNnEraAMoKGgEY3RvcmNoCkJGbG9hdDE2
U3RvcmFnZQpxLFgBAAAAM3EtaAdLBXRxLlFLAEsFhXEvSwGFcTCJaAApUnExdHEyUnEzWAUAAABwYXJhbXE0Y3RvcmNoLl91dGls
cwpfcmVidWlsZF9wYXJhbWV0ZXIKcTVoAygoaARoBVgBAAAANHE2aAdLAnRxN1FLAEsBSwKGcThLAksBhnE5iWgAKVJxOnRxO1Jx
PIhoAClScT2HcT5ScT9YBgAAAGRvdWJsZXFAaAMoKGgEY3RvcmNoCkRvdWJsZVN0b3JhZ2UKcUFYAQAAADVxQmgHSwJ0cUNRSwBL
AoVxREsBhXFFiWgAKVJxRnRxR1JxSFgEAAAAbG9uZ3FJaAMoKGgEY3RvcmNoCkxvbmdTdG9yYWdlCnFKWAEAAAA2cUtoB0sDdHFM
UUsASwOFcU1LAYVxToloAClScU90cVBScVFYBQAAAGVtcHR5cVJoAygoaARoBVgBAAAAN3FTaAdLAHRxVFFLAEsASwSGcVVLBEsB
hnFWiWgAKVJxV3RxWFJxWVgIAAAAZXhwYW5kZWRxWmgDKChoBGgFWAEAAAA4cVtoB0sCdHFcUUsASwNLAoZxXUsASwGGcV6JaAAp
UnFfdHFgUnFhdS5QSwcI8CHsVJoDAACaAwAAUEsDBAAACAgAAAAAAAAAAAAAAAAAAAAAAAAOACoAYXJjaGl2ZS9kYXRhLzBGQiYA
WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWloAAIC/AABAvwAAAL8AAIC+AAAAAAAAgD4AAAA/AABAPwAAgD8A
AKA/AADAPwAA4D9QSwcI2ktg+DAAAAAwAAAAUEsDBAAACAgAAAAAAAAAAAAAAAAAAAAAAAAOABQAYXJjaGl2ZS9kYXRhLzFGQhAA
WlpaWlpaWlpaWlpaWlpaWgAAYEBQSwcIK/VlMgQAAAAEAAAAUEsDBAAACAgAAAAAAAAAAAAAAAAAAAAAAAAOAEAAYXJjaGl2ZS9k
YXRhLzJGQjwAWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaAD4AwP97
AQAAfAB+UEsHCKA5IFAMAAAADAAAAFBLAwQAAAgIAAAAAAAAAAAAAAAAAAAAAAAADgA4AGFyY2hpdmUvZGF0YS8zRkI0AFpaWlpa
WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlrAPwDAgHEAPACAUEsHCCy0a7wKAAAACgAAAFBL
AwQAAAgIAAAAAAAAAAAAAAAAAAAAAAAADgA6AGFyY2hpdmUvZGF0YS80RkI2AFpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpa
WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWs3MzD3NzEw+UEsHCNWemDEIAAAACAAAAFBLAwQAAAgIAAAAAAAAAAAAAAAAAAAAAAAA
DgA8AGFyY2hpdmUvZGF0YS81RkI4AFpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpa
WlpampmZmZmZuT/8qfHSTWJQP1BLBwg1uZGvEAAAABAAAABQSwMEAAAICAAAAAAAAAAAAAAAAAAAAAAAAA4ANABhcmNoaXZlL2Rh
dGEvNkZCMABaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlr//////////wAAAAAAAAAAAQAA
AAAAAABQSwcIE5t/wxgAAAAYAAAAUEsDBAAAAAgAAAAAAAAAAAAAAAAAAAAAAAAOACwAYXJjaGl2ZS9kYXRhLzdGQigAWlpaWlpa
WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlBLAwQAAAgIAAAAAAAAAAAAAAAAAAAAAAAADgAUAGFyY2hpdmUvZGF0
YS84RkIQAFpaWlpaWlpaWlpaWlpaWloAAIA/AAAAQFBLBwh2pT8uCAAAAAgAAABQSwMEAAAICAAAAAAAAAAAAAAAAAAAAAAAAA8A
OwBhcmNoaXZlL3ZlcnNpb25GQjcAWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpa
WjMKUEsHCNGeZ1UCAAAAAgAAAFBLAQIAAAAACAgAAAAAAADwIexUmgMAAJoDAAAQAAAAAAAAAAAAAAAAAAAAAABhcmNoaXZlL2Rh
dGEucGtsUEsBAgAAAAAICAAAAAAAANpLYPgwAAAAMAAAAA4AAAAAAAAAAAAAAAAA6gMAAGFyY2hpdmUvZGF0YS8wUEsBAgAAAAAI
CAAAAAAAACv1ZTIEAAAABAAAAA4AAAAAAAAAAAAAAAAAgAQAAGFyY2hpdmUvZGF0YS8xUEsBAgAAAAAICAAAAAAAAKA5IFAMAAAA
DAAAAA4AAAAAAAAAAAAAAAAA1AQAAGFyY2hpdmUvZGF0YS8yUEsBAgAAAAAICAAAAAAAACy0a7wKAAAACgAAAA4AAAAAAAAAAAAA
AAAAXAUAAGFyY2hpdmUvZGF0YS8zUEsBAgAAAAAICAAAAAAAANWemDEIAAAACAAAAA4AAAAAAAAAAAAAAAAA2gUAAGFyY2hpdmUv
ZGF0YS80UEsBAgAAAAAICAAAAAAAADW5ka8QAAAAEAAAAA4AAAAAAAAAAAAAAAAAWAYAAGFyY2hpdmUvZGF0YS81UEsBAgAAAAAI
CAAAAAAAABObf8MYAAAAGAAAAA4AAAAAAAAAAAAAAAAA4AYAAGFyY2hpdmUvZGF0YS82UEsBAgAAAAAACAAAAAAAAAAAAAAAAAAA
AAAAAA4AAAAAAAAAAAAAAAAAaAcAAGFyY2hpdmUvZGF0YS83UEsBAgAAAAAICAAAAAAAAHalPy4IAAAACAAAAA4AAAAAAAAAAAAA
AAAAwAcAAGFyY2hpdmUvZGF0YS84UEsBAgAAAAAICAAAAAAAANGeZ1UCAAAAAgAAAA8AAAAAAAAAAAAAAAAAGAgAAGFyY2hpdmUv
dmVyc2lvblBLBgYsAAAAAAAAAB4DLQAAAAAAAAAAAAsAAAAAAAAACwAAAAAAAACXAgAAAAAAAJIIAAAAAAAAUEsGBwAAAAApCwAA
AAAAAAEAAABQSwUGAAAAAAsACwCXAgAAkggAAAAA
`;
// The same state dict saved with `_use_new_zipfile_serialization=False` (legacy stream).
const TORCH_LEGACY_B64 = `
gAKKCmz8nEb5IGqoUBkugAJN6QMugAJ9cQAoWBAAAABwcm90b2NvbF92ZXJzaW9ucQFN6QNYDQAAAGxpdHRsZV9lbmRpYW5xAohY
CgAAAHR5cGVfc2l6ZXNxA31xBChYBQAAAHNob3J0cQVLAlgDAAAAaW50cQZLBFgEAAAAbG9uZ3EHSwR1dS6AAmNjb2xsZWN0aW9u
cwpPcmRlcmVkRGljdApxAClScQEoWAYAAABjb250aWdxAmN0b3JjaC5fdXRpbHMKX3JlYnVpbGRfdGVuc29yX3YyCnEDKChYBwAA
AHN0b3JhZ2VxBGN0b3JjaApGbG9hdFN0b3JhZ2UKcQVYCQAAADY5NTQwMDkyOHEGWAMAAABjcHVxB0sMTnRxCFFLAEsDSwSGcQlL
BEsBhnEKiWgAKVJxC3RxDFJxDVgKAAAAdHJhbnNwb3NlZHEOaAMoKGgEaAVYCQAAADY5NTQwMDkyOHEPaAdLDE50cRBRSwBLBEsD
hnERSwFLBIZxEoloAClScRN0cRRScRVYBQAAAHNsaWNlcRZoAygoaARoBVgJAAAANjk1NDAwOTI4cRdoB0sMTnRxGFFLBUsCSwKG
cRlLBEsBhnEaiWgAKVJxG3RxHFJxHVgGAAAAc2NhbGFycR5oAygoaARoBVgJAAAANjk1NDAxNTUycR9oB0sBTnRxIFFLACkpiWgA
KVJxIXRxIlJxI1gEAAAAaGFsZnEkaAMoKGgEY3RvcmNoCkhhbGZTdG9yYWdlCnElWAkAAAA2OTUzOTI0MTZxJmgHSwZOdHEnUUsB
SwWFcShLAYVxKYloAClScSp0cStScSxYBAAAAGJmMTZxLWgDKChoBGN0b3JjaApCRmxvYXQxNlN0b3JhZ2UKcS5YCQAAADY5NTQw
MDgzMnEvaAdLBU50cTBRSwBLBYVxMUsBhXEyiWgAKVJxM3RxNFJxNVgFAAAAcGFyYW1xNmN0b3JjaC5fdXRpbHMKX3JlYnVpbGRf
cGFyYW1ldGVyCnE3aAMoKGgEaAVYCQAAADYzMzYxMzUzNnE4aAdLAk50cTlRSwBLAUsChnE6SwJLAYZxO4loAClScTx0cT1ScT6I
aAApUnE/h3FAUnFBWAYAAABkb3VibGVxQmgDKChoBGN0b3JjaApEb3VibGVTdG9yYWdlCnFDWAkAAAA2MzM2MTcwNzJxRGgHSwJO
dHFFUUsASwKFcUZLAYVxR4loAClScUh0cUlScUpYBAAAAGxvbmdxS2gDKChoBGN0b3JjaApMb25nU3RvcmFnZQpxTFgJAAAANjMz
NjE4MjA4cU1oB0sDTnRxTlFLAEsDhXFPSwGFcVCJaAApUnFRdHFSUnFTWAUAAABlbXB0eXFUaAMoKGgEaAVYCQAAADYzMzYxNzE2
OHFVaAdLAE50cVZRSwBLAEsEhnFXSwRLAYZxWIloAClScVl0cVpScVtYCAAAAGV4cGFuZGVkcVxoAygoaARoBVgJAAAANjMzNjE3
NzYwcV1oB0sCTnRxXlFLAEsDSwKGcV9LAEsBhnFgiWgAKVJxYXRxYlJxY3UugAJdcQAoWAkAAAA2MzM2MTM1MzZxAVgJAAAANjMz
NjE3MDcycQJYCQAAADYzMzYxNzE2OHEDWAkAAAA2MzM2MTc3NjBxBFgJAAAANjMzNjE4MjA4cQVYCQAAADY5NTM5MjQxNnEGWAkA
AAA2OTU0MDA4MzJxB1gJAAAANjk1NDAwOTI4cQhYCQAAADY5NTQwMTU1MnEJZS4CAAAAAAAAAM3MzD3NzEw+AgAAAAAAAACamZmZ
mZm5P/yp8dJNYlA/AAAAAAAAAAACAAAAAAAAAAAAgD8AAABAAwAAAAAAAAD//////////wAAAAAAAAAAAQAAAAAAAAAGAAAAAAAA
AAA+AMD/ewEAAHwAfgUAAAAAAAAAwD8AwIBxADwAgAwAAAAAAAAAAACAvwAAQL8AAAC/AACAvgAAAAAAAIA+AAAAPwAAQD8AAIA/
AACgPwAAwD8AAOA/AQAAAAAAAAAAAGBA
`;

const f = Math.fround;
const TORCH_EXPECTED: Record<string, { shape: number[]; values: number[] }> = {
  contig: { shape: [3, 4], values: [-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75] },
  transposed: { shape: [4, 3], values: [-1, 0, 1, -0.75, 0.25, 1.25, -0.5, 0.5, 1.5, -0.25, 0.75, 1.75] },
  slice: { shape: [2, 2], values: [0.25, 0.5, 1.25, 1.5] },
  scalar: { shape: [], values: [3.5] },
  half: { shape: [5], values: [-2, 65504, 2 ** -24, Infinity, NaN] },
  bf16: { shape: [5], values: [1.5, -2, 2 ** 100, 0.0078125, -0] },
  param: { shape: [1, 2], values: [f(0.1), f(0.2)] },
  double: { shape: [2], values: [f(0.1), f(1e-3)] },
  long: { shape: [3], values: [-1, 0, 1] },
  empty: { shape: [0, 4], values: [] },
  expanded: { shape: [3, 2], values: [1, 2, 1, 2, 1, 2] },
};

const b64 = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "base64"));
const enc = (s: string) => new TextEncoder().encode(s);
function cat(...parts: Array<Uint8Array | number[] | string>): Uint8Array {
  const arrays = parts.map((p) => (typeof p === "string" ? enc(p) : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let pos = 0;
  for (const a of arrays) { out.set(a, pos); pos += a.length; }
  return out;
}
/** The same bytes at an odd address, so no typed-array view over them is aligned. */
function misaligned(bytes: Uint8Array): Uint8Array {
  const buf = new Uint8Array(bytes.length + 1);
  buf.set(bytes, 1);
  return buf.subarray(1);
}
function checkExpected(sd: StateDict): void {
  assert.deepEqual([...sd.keys()], Object.keys(TORCH_EXPECTED));
  for (const [name, { shape, values }] of Object.entries(TORCH_EXPECTED)) {
    const t = sd.get(name)!;
    assert.deepEqual(t.shape, shape, name);
    assert.ok(t.data instanceof Float32Array, name);
    assert.deepEqual(Array.from(t.data), values, name); // deepEqual: NaN equals NaN, -0 differs from 0
  }
}
function bitsEqual(a: Tensor, b: Tensor, what: string): void {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const bytes = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  assert.ok(bytes(a).equals(bytes(b)), `${what}: values differ`);
}
function torchZip(entries: Record<string, Uint8Array>, level: 0 | 9 = 0): Uint8Array {
  return zipSync(entries, { level });
}

// --- pickle building blocks (protocol 2 unless noted) ---
const PROTO2 = [0x80, 0x02];
const STOP = ".";
const unicode = (s: string) => { const b = enc(s); return cat([0x58, b.length & 255, b.length >> 8, 0, 0], b); }; // BINUNICODE
const int = (n: number) => [0x4a, n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255]; // BININT
const global = (mod: string, name: string) => `c${mod}\n${name}\n`;
const tuple = (...items: Array<Uint8Array | number[] | string>) => cat("(", ...items, "t");
/** A state dict {name: tensor} the way torch.save pickles it. */
function tensorPickle(name: string, o: { numel: number; shape: number[]; stride: number[]; offset?: number; storage?: string; after?: Uint8Array }): Uint8Array {
  const pid = tuple(unicode("storage"), global("torch", o.storage ?? "FloatStorage"), unicode("0"), unicode("cpu"), int(o.numel));
  const args = tuple(pid, "Q", int(o.offset ?? 0), tuple(...o.shape.map(int)), tuple(...o.stride.map(int)), [0x89],
    global("collections", "OrderedDict"), ")R");
  return cat(PROTO2, "}(", unicode(name), global("torch._utils", "_rebuild_tensor_v2"), args, "R", o.after ?? [], "u", STOP);
}
const f32bytes = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

test("every .bin fixture equals its safetensors twin: same keys, shapes and bits", () => {
  const twins: Record<string, string> = {
    "pytorch_adapter.bin": "adapter.safetensors",
    "pytorch_model_head.bin": "model_head.safetensors",
    "pytorch_model_adapter_fusion.bin": "model_adapter_fusion.safetensors",
  };
  const bins = readdirSync(ADAPTERHUB_FIXTURES, { recursive: true, encoding: "utf8" }).filter((p) => p.endsWith(".bin"));
  assert.ok(bins.length >= 20, `expected the fixture store's .bin files, found ${bins.length}`);
  for (const rel of bins) {
    const twin = twins[path.basename(rel)];
    assert.ok(twin, `${rel} has no known safetensors twin`);
    const bin = readTorchBin(new Uint8Array(readFileSync(path.join(ADAPTERHUB_FIXTURES, rel))), rel);
    const st = readSafetensors(new Uint8Array(readFileSync(path.join(ADAPTERHUB_FIXTURES, path.dirname(rel), twin))), twin);
    assert.ok(bin.size > 0, rel);
    assert.deepEqual([...bin.keys()].sort(), [...st.keys()].sort(), `${rel}: keys`);
    for (const [k, t] of bin) bitsEqual(t, st.get(k)!, `${rel} ${k}`);
    assert.ok([...bin.values()].some((t) => t.data.some((x) => x !== 0)), `${rel}: all zeros?`);
  }
});

test("real torch zip: strided views, offsets, shared storage, fp16, bf16, f64, int64, 0-d, empty, Parameter", () => {
  checkExpected(readTorchBin(b64(TORCH_ZIP_B64)));
  checkExpected(readTorchBin(misaligned(b64(TORCH_ZIP_B64))));
  checkExpected(readStateDict(b64(TORCH_ZIP_B64), "weights.pt"));
});

test("legacy (pre-zip) torch stream reads the same", () => {
  checkExpected(readTorchBin(b64(TORCH_LEGACY_B64)));
  checkExpected(readTorchBin(misaligned(b64(TORCH_LEGACY_B64))));
});

test("deflated zip with another top folder name reads the same", () => {
  const entries = unzipSync(b64(TORCH_ZIP_B64));
  const renamed = Object.fromEntries(Object.entries(entries).map(([k, v]) => [k.replace(/^archive\//, "my model-v2/"), v]));
  const zip = torchZip(renamed, 9);
  assert.ok(zip.length < b64(TORCH_ZIP_B64).length, "entries should really be deflated");
  checkExpected(readTorchBin(zip));
});

test("hand-built pickle: tensor reaching past its storage, missing storage, non-tensor entries", () => {
  const ok = torchZip({ "a/data.pkl": tensorPickle("w", { numel: 4, shape: [2, 2], stride: [1, 2] }), "a/data/0": f32bytes(1, 2, 3, 4) });
  assert.deepEqual(Array.from(readTorchBin(ok).get("w")!.data), [1, 3, 2, 4]);
  const past = torchZip({ "a/data.pkl": tensorPickle("w", { numel: 4, shape: [2, 2], stride: [2, 1], offset: 1 }), "a/data/0": f32bytes(1, 2, 3, 4) });
  assert.throws(() => readTorchBin(past, "past.bin"), { name: "FormatError", message: /past\.bin: tensor w reaches past the end of storage 0/ });
  const short = torchZip({ "a/data.pkl": tensorPickle("w", { numel: 4, shape: [4], stride: [1] }), "a/data/0": f32bytes(1, 2) });
  assert.throws(() => readTorchBin(short), { name: "FormatError", message: /storage 0 is shorter than declared/ });
  const missing = torchZip({ "a/data.pkl": tensorPickle("w", { numel: 1, shape: [], stride: [] }) });
  assert.throws(() => readTorchBin(missing), { name: "FormatError", message: /storage 0 is missing/ });
  const notTensor = torchZip({ "a/data.pkl": cat(PROTO2, "}", unicode("epoch"), int(3), "s", STOP) });
  assert.throws(() => readTorchBin(notTensor), { name: "FormatError", message: /entry epoch is not a tensor/ });
  // BUILD on the tensor tries to move it past its storage after validation.
  const rebuilt = torchZip({ "a/data.pkl": tensorPickle("w", { numel: 1, shape: [], stride: [], after: cat("}", unicode("offset"), int(1000), "sb") }), "a/data/0": f32bytes(1) });
  assert.throws(() => readTorchBin(rebuilt), { name: "FormatError", message: /malformed checkpoint .*read only/ });
  const badStorage = torchZip({ "a/data.pkl": tensorPickle("w", { numel: 1, shape: [], stride: [], storage: "ComplexFloatStorage" }) });
  assert.throws(() => readTorchBin(badStorage), { name: "FormatError", message: /forbidden global torch\.ComplexFloatStorage/ });
});

test("malicious pickles are refused by name and nothing runs", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "polyhead-pickle-"));
  try {
    const marker = path.join(dir, "pwned");
    const osSystem = cat(PROTO2, global("os", "system"), unicode(`touch ${marker}`), [0x85], "R", STOP);
    const posixSystem = cat(PROTO2, global("posix", "system"), unicode(`touch ${marker}`), [0x85], "R", STOP);
    // Protocol 4: SHORT_BINUNICODE module, SHORT_BINUNICODE name, STACK_GLOBAL.
    const sb = (s: string) => cat([0x8c, s.length], s);
    const builtinsEval = cat([0x80, 0x04], sb("builtins"), sb("eval"), [0x93],
      sb(`__import__('os').system('touch ${marker}')`), [0x85], "R", STOP);
    // INST builds an instance straight from the named class.
    const inst = cat("(", unicode(`touch ${marker}`), `isubprocess\nPopen\n`, STOP);
    // A valid-looking state dict whose second tensor hides the payload.
    const hidden = cat(tensorPickle("w", { numel: 1, shape: [], stride: [] }).slice(0, -1), unicode("x"),
      global("os", "system"), unicode(`touch ${marker}`), [0x85], "R", "s", STOP);

    const cases: Array<[string, Uint8Array, RegExp]> = [
      ["GLOBAL os.system in a zip", torchZip({ "archive/data.pkl": osSystem, "archive/version": enc("3\n") }), /forbidden global os\.system in pickle/],
      ["GLOBAL posix.system in a zip", torchZip({ "x/data.pkl": posixSystem }), /forbidden global posix\.system in pickle/],
      ["STACK_GLOBAL builtins.eval in a zip", torchZip({ "archive/data.pkl": builtinsEval }), /forbidden global builtins\.eval in pickle/],
      ["INST subprocess.Popen in a zip", torchZip({ "archive/data.pkl": inst }), /forbidden global subprocess\.Popen in pickle/],
      ["os.system after a real tensor", torchZip({ "archive/data.pkl": hidden, "archive/data/0": f32bytes(1) }), /forbidden global os\.system in pickle/],
      ["os.system in a legacy stream", cat(b64(TORCH_LEGACY_B64).subarray(0, 15), osSystem), /forbidden global os\.system in pickle/],
      ["eval in a legacy stream", cat(b64(TORCH_LEGACY_B64).subarray(0, 15), builtinsEval), /forbidden global builtins\.eval in pickle/],
      ["a bare pickle file", osSystem, /not a PyTorch checkpoint/],
    ];
    for (const [what, bytes, message] of cases) {
      assert.throws(() => readTorchBin(bytes, "evil.bin"), (e: unknown) => {
        assert.ok(e instanceof FormatError, `${what}: ${String(e)}`);
        assert.match(e.message, message, what);
        assert.match(e.message, /^evil\.bin: /, what);
        return true;
      });
    }
    assert.equal(existsSync(marker), false, "a payload ran");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Rewrites the uncompressed size of every entry, in central directory and local headers. */
function patchSizes(zip: Uint8Array, size: number): Uint8Array {
  const out = zip.slice();
  const v = new DataView(out.buffer);
  for (let i = 0; i + 4 <= out.length; i++) {
    const sig = v.getUint32(i, true);
    if (sig === 0x02014b50) v.setUint32(i + 24, size, true);
    if (sig === 0x04034b50) v.setUint32(i + 22, size, true);
  }
  return out;
}

test("zip bombs are refused: declared sizes before inflating, actual inflation bounded", () => {
  const zeros = new Uint8Array(4 << 20);
  const bomb = torchZip({ "a/data.pkl": zeros }, 9);
  assert.ok(bomb.length < 64 << 10);
  assert.throws(() => readTorchBin(bomb, "bomb.bin", { maxUncompressedBytes: 1 << 20 }),
    { name: "FormatError", message: /bomb\.bin: zip declares more than 1048576 uncompressed bytes/ });
  // Two entries that each declare ~3.75 GiB: over the default 4 GiB, refused at once.
  const huge = patchSizes(torchZip({ "a/data.pkl": new Uint8Array(10), "a/data/0": new Uint8Array(10) }, 9), 0xf0000000);
  assert.throws(() => readTorchBin(huge), { name: "FormatError", message: /zip declares more than 4294967296/ });
  // An entry that lies about its size inflates no further than it declared.
  const liar = patchSizes(bomb, 100);
  assert.throws(() => readTorchBin(liar), { name: "FormatError", message: /data\.pkl inflates to more than its declared 100 bytes/ });
  // Stored entries cannot be bigger than the bytes present, and the float32 output is bounded too.
  const expand = torchZip({ "a/data.pkl": tensorPickle("w", { numel: 1, shape: [1 << 20], stride: [0] }), "a/data/0": f32bytes(1) });
  assert.equal(readTorchBin(expand).get("w")!.data.length, 1 << 20);
  assert.throws(() => readTorchBin(expand, "x", { maxUncompressedBytes: 1 << 20 }), { name: "FormatError", message: /tensors exceed the 1048576-byte limit/ });
});

test("files that are not torch checkpoints are refused", () => {
  const notZip: Array<[Uint8Array, RegExp]> = [
    [enc("hello, I am a text file"), /not a PyTorch checkpoint/],
    [new Uint8Array(0), /not a PyTorch checkpoint/],
    [readFileSync(path.join(ADAPTERHUB_FIXTURES, "adapters/sentiment/adapter.safetensors")), /not a PyTorch checkpoint/],
    [torchZip({ "readme.txt": enc("hi") }), /no <folder>\/data\.pkl/],
    [b64(TORCH_ZIP_B64).subarray(0, 1500), /end of central directory not found/],
    [b64(TORCH_LEGACY_B64).subarray(0, 700), /malformed checkpoint|truncated/],
    [b64(TORCH_LEGACY_B64).subarray(0, b64(TORCH_LEGACY_B64).length - 10), /truncated/],
  ];
  for (const [bytes, message] of notZip) {
    assert.throws(() => readTorchBin(new Uint8Array(bytes), "f.bin"), { name: "FormatError", message });
  }
  assert.throws(() => readStateDict(enc("x"), "weights.onnx"), { name: "FormatError", message: /unknown weight file type/ });
});
