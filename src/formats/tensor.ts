/** Element types the readers accept, in safetensors spelling. */
export type DType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

export const DTYPE_SIZE: Readonly<Record<DType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

export function isDType(s: unknown): s is DType {
  return typeof s === "string" && Object.hasOwn(DTYPE_SIZE, s);
}

export function numElements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

let halfTable: Float32Array | undefined;
/** fp16 → fp32 for all 65536 bit patterns; 256 KiB once beats bit twiddling per element. */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    halfTable[h] =
      exp === 0 ? sign * frac * 2 ** -24
      : exp === 31 ? (frac ? NaN : sign * Infinity)
      : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return halfTable;
}

/**
 * Typed arrays need their byte offset aligned to the element size; file
 * bytes often are not (odd header lengths, zip entries), so copy then.
 * Assumes a little-endian host, like every platform Node ships for.
 */
function aligned(bytes: Uint8Array, size: number): Uint8Array {
  return bytes.byteOffset % size === 0 ? bytes : bytes.slice();
}

/**
 * Converts `count` elements of `dtype` at the start of `bytes` to float32.
 * F32 comes back as a view over `bytes` when aligned (no copy).
 */
export function toFloat32(bytes: Uint8Array, dtype: DType, count: number): Float32Array {
  const size = DTYPE_SIZE[dtype];
  const raw = aligned(bytes.subarray(0, count * size), size);
  const { buffer, byteOffset } = raw;
  switch (dtype) {
    case "F32":
      return new Float32Array(buffer, byteOffset, count);
    case "F16": {
      const table = halfToFloatTable();
      const src = new Uint16Array(buffer, byteOffset, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = table[src[i]];
      return out;
    }
    case "BF16": {
      // bf16 is the top half of an fp32: shift the bits into place.
      const src = new Uint16Array(buffer, byteOffset, count);
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = src[i] << 16;
      return out;
    }
    case "F64": return Float32Array.from(new Float64Array(buffer, byteOffset, count));
    case "I64": return Float32Array.from(new BigInt64Array(buffer, byteOffset, count), Number);
    case "I32": return Float32Array.from(new Int32Array(buffer, byteOffset, count));
    case "I16": return Float32Array.from(new Int16Array(buffer, byteOffset, count));
    case "I8": return Float32Array.from(new Int8Array(buffer, byteOffset, count));
    case "U8": return Float32Array.from(new Uint8Array(buffer, byteOffset, count));
    case "BOOL": return Float32Array.from(new Uint8Array(buffer, byteOffset, count), (b) => (b ? 1 : 0));
  }
}
