import { Inflate } from "fflate";
import { BufferReader, Parser } from "pickleparser";
import { DTYPE_SIZE, numElements, toFloat32 } from "./tensor.ts";
import type { StateDict } from "../core/tensor.ts";
import { FormatError } from "../core/errors.ts";
import type { DType } from "./tensor.ts";

export interface TorchBinLimits {
  /** Bound on the zip's declared uncompressed bytes, and on the float32 output. Default 4 GiB. */
  maxUncompressedBytes?: number;
}

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: "F32", HalfStorage: "F16", BFloat16Storage: "BF16", DoubleStorage: "F64",
  LongStorage: "I64", IntStorage: "I32", ShortStorage: "I16", CharStorage: "I8",
  ByteStorage: "U8", BoolStorage: "BOOL",
};
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];

interface StorageRef { key: string; dtype: DType; numel: number }
/**
 * A tensor as the pickle describes it; values are gathered once all storages
 * are known. Frozen copies: later opcodes (BUILD, APPEND on a memoized list)
 * must not change what was validated.
 */
class TensorRef {
  readonly shape: number[];
  readonly stride: number[];
  constructor(readonly storage: StorageRef, readonly offset: number, shape: number[], stride: number[]) {
    this.shape = Object.freeze([...shape]) as number[];
    this.stride = Object.freeze([...stride]) as number[];
    Object.freeze(this);
  }
}

/**
 * Reads a PyTorch checkpoint (torch.save zip, or the legacy pre-1.6 stream).
 * The pickle inside is a program: it runs on a reader that knows only the
 * handful of globals a state dict needs and refuses every other one, so
 * nothing the file names is ever looked up or called.
 */
export function readTorchBin(bytes: Uint8Array, source = "pytorch .bin", limits: TorchBinLimits = {}): StateDict {
  const maxBytes = limits.maxUncompressedBytes ?? 4 * 2 ** 30;
  const fail = (what: string): never => {
    throw new FormatError(`${source}: ${what}`);
  };
  try {
    if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
      const zip = readZip(bytes, maxBytes, fail);
      const pkl = [...zip.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n)) ?? fail("zip has no <folder>/data.pkl: not a torch.save checkpoint");
      const prefix = pkl.slice(0, -"data.pkl".length);
      const order = zip.get(`${prefix}byteorder`);
      if (order && new TextDecoder().decode(order()) !== "little") fail("big-endian checkpoints are not supported");
      const { root, storages } = unpickle(new BufferReader(zip.get(pkl)!()), source);
      const load = (s: StorageRef) => (zip.get(`${prefix}data/${s.key}`) ?? fail(`storage ${s.key} is missing from the zip`))();
      return materialize(root, storages, load, maxBytes, fail);
    }
    if (LEGACY_MAGIC.every((b, i) => bytes[i] === b)) return readLegacy(bytes, source, maxBytes, fail);
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(`${source}: malformed checkpoint (${(e as Error).message})`, { cause: e });
  }
  return fail("not a PyTorch checkpoint (neither a zip archive nor a legacy torch pickle)");
}

/** Pre-1.6 layout: magic, protocol and sys-info pickles, the state dict, the storage keys, then raw storages. */
function readLegacy(bytes: Uint8Array, source: string, maxBytes: number, fail: (w: string) => never): StateDict {
  const reader = new BufferReader(bytes.subarray(LEGACY_MAGIC.length));
  const plain = new Parser({ nameResolver: { resolve: (m, n) => forbid(m, n, source) }, unpicklingTypeOfDictionary: "Map" });
  plain.read(reader); // protocol version
  const sysInfo = plain.read<Map<string, unknown>>(reader);
  if (!(sysInfo instanceof Map) || sysInfo.get("little_endian") !== true) fail("legacy sys info is missing or says big-endian (not supported)");
  const { root, storages } = unpickle(reader, source);
  const keys = plain.read<unknown>(reader);
  if (!Array.isArray(keys)) fail("legacy storage key list is missing");
  const data = new Map<string, Uint8Array>();
  let pos = LEGACY_MAGIC.length + reader.position;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys as unknown[]) {
    const s = storages.get(String(key)) ?? fail(`legacy storage ${String(key)} is not referenced by the pickle`);
    if (pos + 8 > bytes.length) fail("legacy storage data is truncated");
    const numel = Number(view.getBigInt64(pos, true));
    const end = pos + 8 + numel * DTYPE_SIZE[s.dtype];
    if (numel < 0 || end > bytes.length) fail(`legacy storage ${s.key} is truncated`);
    data.set(s.key, bytes.subarray(pos + 8, end));
    pos = end;
  }
  return materialize(root, storages, (s) => data.get(s.key) ?? fail(`storage ${s.key} has no data`), maxBytes, fail);
}

function forbid(module: unknown, name: unknown, source: string): never {
  throw new FormatError(`${source}: forbidden global ${String(module)}.${String(name)} in pickle`);
}

/** Runs one pickle with the allow-list; tensors come back as TensorRefs. */
function unpickle(reader: BufferReader, source: string): { root: unknown; storages: Map<string, StorageRef> } {
  const storages = new Map<string, StorageRef>();
  const storageTypes = new Map<unknown, DType>();
  const rebuildTensor = (storage: unknown, offset: unknown, shape: unknown, stride: unknown): TensorRef => {
    const isIdx = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
    const isDims = (v: unknown): v is number[] => Array.isArray(v) && v.every(isIdx);
    if (!(storage && storages.get((storage as StorageRef).key) === storage) || !isIdx(offset) || !isDims(shape) || !isDims(stride) || shape.length !== stride.length) {
      throw new FormatError(`${source}: invalid tensor arguments in pickle`);
    }
    return new TensorRef(storage as StorageRef, offset as number, shape, stride);
  };
  const allowed = new Map<string, (...args: any[]) => unknown>([
    ["collections.OrderedDict", (items?: unknown) => new Map(Array.isArray(items) ? items : [])],
    ["torch._utils._rebuild_tensor", rebuildTensor],
    ["torch._utils._rebuild_tensor_v2", rebuildTensor],
    ["torch._utils._rebuild_parameter", (t: unknown) => t],
    ["torch._utils._rebuild_parameter_with_state", (t: unknown) => t],
    ["torch.Size", (dims: unknown) => dims],
  ]);
  for (const [cls, dtype] of Object.entries(STORAGE_DTYPES)) {
    // Storage classes only ever appear inside persistent ids, never called.
    const marker = () => forbid("torch", `${cls}()`, source);
    storageTypes.set(marker, dtype);
    allowed.set(`torch.${cls}`, marker);
  }
  const parser = new Parser({
    // Map dictionaries: a plain object would let a "__proto__" key rewrite prototypes.
    unpicklingTypeOfDictionary: "Map",
    nameResolver: { resolve: (m, n) => allowed.get(`${m}.${n}`) ?? forbid(m, n, source) },
    persistentResolver: {
      resolve: (pid: unknown) => {
        const [kind, type, key, , numel, view] = Array.isArray(pid) ? pid : [];
        const dtype = storageTypes.get(type);
        if (kind !== "storage" || !dtype || typeof key !== "string" || !Number.isSafeInteger(numel) || numel < 0 || view != null) {
          throw new FormatError(`${source}: unsupported persistent id in pickle`);
        }
        const known = storages.get(key);
        if (known && (known.dtype !== dtype || known.numel !== numel)) throw new FormatError(`${source}: storage ${key} declared twice differently`);
        if (!known) storages.set(key, Object.freeze({ key, dtype, numel }));
        return storages.get(key);
      },
    },
  });
  return { root: parser.read(reader), storages };
}

function materialize(root: unknown, storages: Map<string, StorageRef>, load: (s: StorageRef) => Uint8Array, maxBytes: number, fail: (w: string) => never): StateDict {
  if (!(root instanceof Map)) return fail("pickle does not hold a state dict");
  const decoded = new Map<StorageRef, Float32Array>();
  const out: StateDict = new Map();
  let outBytes = 0;
  for (const [name, value] of root as Map<unknown, unknown>) {
    // Not instanceof: a hostile BUILD can give any list a TensorRef as prototype.
    if (typeof name !== "string" || Object.getPrototypeOf(value) !== TensorRef.prototype) return fail(`state dict entry ${String(name)} is not a tensor`);
    const ref = value as TensorRef;
    const count = numElements(ref.shape);
    outBytes += count * 4;
    if (outBytes > maxBytes) fail(`tensors exceed the ${maxBytes}-byte limit`);
    let last = ref.offset;
    for (let d = 0; d < ref.shape.length; d++) last += (ref.shape[d] - 1) * ref.stride[d];
    if (count > 0 && last >= ref.storage.numel) fail(`tensor ${name} reaches past the end of storage ${ref.storage.key}`);
    let storage = decoded.get(ref.storage);
    if (!storage) {
      const raw = load(ref.storage);
      if (raw.length < ref.storage.numel * DTYPE_SIZE[ref.storage.dtype]) fail(`storage ${ref.storage.key} is shorter than declared`);
      storage = toFloat32(raw, ref.storage.dtype, ref.storage.numel);
      decoded.set(ref.storage, storage);
    }
    out.set(name, { shape: [...ref.shape], data: gather(storage, ref, count) });
  }
  return out;
}

/** Contiguous tensors are views into their storage; strided ones (transposes, expands) are copied out. */
function gather(storage: Float32Array, ref: TensorRef, count: number): Float32Array {
  const { shape, stride, offset } = ref;
  let expected = 1;
  let contiguous = true;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) contiguous = false;
    expected *= shape[d];
  }
  if (contiguous || count === 0) return storage.subarray(offset, offset + count);
  const out = new Float32Array(count);
  const index = new Array<number>(shape.length).fill(0);
  let src = offset;
  for (let i = 0; i < count; i++) {
    out[i] = storage[src];
    for (let d = shape.length - 1; d >= 0; d--) {
      src += stride[d];
      if (++index[d] < shape[d]) break;
      src -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

type Entry = () => Uint8Array;

/**
 * Central-directory zip reader (zip64 aware). Declared sizes are summed and
 * checked against the limit before anything is inflated, and inflation is
 * capped at the declared size, so a lying entry cannot grow past it.
 */
function readZip(bytes: Uint8Array, maxBytes: number, fail: (w: string) => never): Map<string, Entry> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (at: number) => Number(v.getBigUint64(at, true));
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (v.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) fail("zip end of central directory not found");
  let count = v.getUint16(eocd + 10, true);
  let cdOffset = v.getUint32(eocd + 16, true);
  if (eocd >= 20 && v.getUint32(eocd - 20, true) === 0x07064b50) {
    const z = u64(eocd - 12);
    if (z + 56 > bytes.length || v.getUint32(z, true) !== 0x06064b50) fail("bad zip64 end record");
    count = u64(z + 32);
    cdOffset = u64(z + 48);
  }
  const entries = new Map<string, Entry>();
  let total = 0;
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > bytes.length || v.getUint32(p, true) !== 0x02014b50) fail("corrupt zip central directory");
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    let csize = v.getUint32(p + 20, true);
    let size = v.getUint32(p + 24, true);
    const [nameLen, extraLen, commentLen] = [v.getUint16(p + 28, true), v.getUint16(p + 30, true), v.getUint16(p + 32, true)];
    let local = v.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen > bytes.length) fail("corrupt zip central directory");
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen; ) {
      const [id, len] = [v.getUint16(e, true), v.getUint16(e + 2, true)];
      if (id === 0x0001) {
        let f = e + 4;
        if (size === 0xffffffff) { size = u64(f); f += 8; }
        if (csize === 0xffffffff) { csize = u64(f); f += 8; }
        if (local === 0xffffffff) local = u64(f);
      }
      e += 4 + len;
    }
    p += 46 + nameLen + extraLen + commentLen;
    if (flags & 1) fail(`zip entry ${name} is encrypted`);
    if (method !== 0 && method !== 8) fail(`zip entry ${name} uses unsupported compression method ${method}`);
    if (method === 0 && csize !== size) fail(`zip entry ${name} is stored but its sizes differ`);
    total += size;
    if (total > maxBytes) fail(`zip declares more than ${maxBytes} uncompressed bytes (zip bomb?)`);
    if (local + 30 > bytes.length || v.getUint32(local, true) !== 0x04034b50) fail(`zip entry ${name} has a bad local header`);
    const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    if (start + csize > bytes.length) fail(`zip entry ${name} runs past the end of the file`);
    const raw = bytes.subarray(start, start + csize);
    entries.set(name, () => (method === 0 ? raw : inflateCapped(raw, size, name, fail)));
  }
  return entries;
}

/**
 * Inflates one entry, stopping as soon as the output passes its declared
 * size. The input goes in small slices, so a lying entry (a few hundred KB
 * that inflate to gigabytes) costs at most one slice's output past the
 * limit, never the whole expansion; and memory follows the bytes actually
 * produced, not the size the entry claims.
 */
function inflateCapped(raw: Uint8Array, size: number, name: string, fail: (w: string) => never): Uint8Array {
  const chunks: Uint8Array[] = [];
  let got = 0;
  const inflater = new Inflate((chunk) => {
    got += chunk.length;
    if (got <= size) chunks.push(chunk);
  });
  const SLICE = 4096; // deflate expands at most ~1032:1, so ≤ ~4 MiB of output per slice
  for (let i = 0; got <= size; i += SLICE) {
    const last = i + SLICE >= raw.length;
    inflater.push(raw.subarray(i, i + SLICE), last);
    if (last) break;
  }
  if (got !== size) fail(`zip entry ${name} inflates to ${got > size ? "more" : "less"} than its declared ${size} bytes`);
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
