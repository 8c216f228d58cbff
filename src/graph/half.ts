import onnxProto from "onnx-proto";

// --precision fp16: the base model's MatMul weights stored in half precision
// and multiplied in half precision (tensor cores on a GPU), everything else —
// biases, LayerNorm, softmax, adapters, heads — left in fp32. A pass over a
// finished graph, so it works whatever emitted the MatMuls: every MatMul
// whose right operand is a large float32 initializer (the base weights;
// adapter weights are graph inputs, never initializers) becomes
// Cast(x → fp16) · W16 → Cast(→ fp32). Not exact: AdapterHub's numbers are
// fp32, and the golden tests run fp32 only.

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;

/** Initializers smaller than this stay fp32 (the same threshold as the shared weight file). */
const MIN_BYTES = 64 * 1024;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half of a float, rounded to nearest even; overflow to ±Infinity, NaN kept. */
export function toHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // may carry into the exponent: still correct, up to Infinity
  return sign | h;
}

export function halfArray(a: Float32Array): Uint16Array {
  const out = new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = toHalf(a[i]);
  return out;
}

/** The graph `bytes` with its base-weight MatMuls in fp16; the weights must be inside the graph (not external data). */
export function halfMatMulWeights(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const inits = new Map(graph.initializer!.map((t) => [t.name!, t]));
  const halved = new Set<string>();
  const nodes: onnxProto.onnx.INodeProto[] = [];
  let n = 0;
  const cast = (input: string, output: string, to: number) =>
    onnx.NodeProto.create({ opType: "Cast", input: [input], output: [output], attribute: [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: to }] });
  for (const node of graph.node!) {
    const w = node.opType === "MatMul" && (node.domain ?? "") === "" ? inits.get(node.input![1]) : undefined;
    if (!w || w.dataType !== FLOAT || w.dims!.length !== 2) {
      nodes.push(node);
      continue;
    }
    if (w.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) throw new Error(`internal: fp16 needs the weights inside the graph; "${w.name}" is external`);
    const raw = w.rawData!;
    if (raw.byteLength < MIN_BYTES) {
      nodes.push(node);
      continue;
    }
    const name = `${w.name}.fp16`;
    if (!halved.has(w.name!)) {
      const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      const h = halfArray(data);
      graph.initializer!.push(onnx.TensorProto.create({ name, dims: w.dims, dataType: FLOAT16, rawData: new Uint8Array(h.buffer) }));
      halved.add(w.name!);
    }
    const x16 = `${node.input![0]}.fp16_${n}`;
    const y16 = `${node.output![0]}.fp16_${n++}`;
    nodes.push(cast(node.input![0], x16, FLOAT16));
    nodes.push(onnx.NodeProto.create({ ...node, input: [x16, name], output: [y16] }));
    nodes.push(cast(y16, node.output![0], FLOAT));
  }
  // fp32 copies no node reads any more
  const read = new Set(nodes.flatMap((x) => x.input!));
  graph.initializer = graph.initializer!.filter((t) => !halved.has(t.name!) || read.has(t.name!));
  graph.node = nodes;
  return onnx.ModelProto.encode(model).finish();
}
