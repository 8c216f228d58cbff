import { DTYPE_SIZE, isDType, numElements, toFloat32 } from "./tensor.ts";
import type { StateDict } from "../core/tensor.ts";
import { FormatError } from "../core/errors.ts";

/** Same bound as the reference implementation: a larger header is a hostile file. */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * Reads a safetensors file. The file is untrusted: every length, offset and
 * shape is checked against the bytes actually present before any view is made.
 * F32 tensors may be views over `bytes`.
 */
export function readSafetensors(bytes: Uint8Array, source = "safetensors"): StateDict {
  const fail = (what: string): never => {
    throw new FormatError(`${source}: ${what}`);
  };
  if (bytes.length < 8) fail(`truncated file (${bytes.length} bytes, the header length alone takes 8)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES) fail(`header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (8 + headerLen > bytes.length) fail(`header length ${headerLen} runs past the end of the file (${bytes.length} bytes)`);

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    return fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail("header is not a JSON object");

  const data = bytes.subarray(8 + headerLen);
  const ranges: Array<{ name: string; begin: number; end: number }> = [];
  const out: StateDict = new Map();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      const ok = typeof entry === "object" && entry !== null && !Array.isArray(entry) &&
        Object.values(entry).every((v) => typeof v === "string");
      if (!ok) fail("__metadata__ must map strings to strings");
      continue;
    }
    if (typeof entry !== "object" || entry === null) return fail(`tensor "${name}" is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (!isDType(dtype)) return fail(`tensor "${name}" has unsupported dtype ${JSON.stringify(dtype)}`);
    const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
    if (!Array.isArray(shape) || !shape.every(isIndex)) return fail(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
      return fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > data.length) {
      return fail(`tensor "${name}" data_offsets [${begin}, ${end}] lie outside the ${data.length}-byte data section`);
    }
    const count = numElements(shape);
    if (count * DTYPE_SIZE[dtype] !== end - begin) {
      return fail(`tensor "${name}" shape [${shape}] of ${dtype} needs ${count * DTYPE_SIZE[dtype]} bytes but data_offsets span ${end - begin}`);
    }
    ranges.push({ name, begin, end });
    out.set(name, { shape: [...shape], data: toFloat32(data.subarray(begin, end), dtype, count) });
  }
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < ranges.length; i++) {
    const [a, b] = [ranges[i - 1], ranges[i]];
    if (b.begin < a.end) fail(`tensors "${a.name}" and "${b.name}" overlap in the data section`);
  }
  return out;
}

/**
 * Writes float32 tensors as safetensors, laid out like the reference
 * library: tensors in name order, header padded with spaces to 8 bytes so
 * every tensor starts aligned.
 */
export function writeSafetensors(dict: StateDict, metadata?: Record<string, string>): Uint8Array {
  const names = [...dict.keys()].sort();
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const { shape, data } = dict.get(name)!;
    if (numElements(shape) !== data.length) {
      throw new FormatError(`writeSafetensors: tensor "${name}" has shape [${shape}] but ${data.length} values`);
    }
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const withPad = new Uint8Array(padded).fill(0x20);
    withPad.set(json);
    json = withPad;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const name of names) {
    const { data } = dict.get(name)!;
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    pos += data.byteLength;
  }
  return out;
}
