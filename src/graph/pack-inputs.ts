import onnxProto from "onnx-proto";

// On a GPU, onnxruntime-node copies every graph input to the device on its own, and each copy has a fixed cost:
// on an H100 with WebGPU, an adapter-like chain with its 24 weights as graph inputs ran in 32.8 ms, the same
// weights packed into one input in 13.7 ms (initializers: 8.3 ms). polyhead feeds adapter, fusion and head
// weights as inputs (so one graph serves every adapter of a shape): a Pfeiffer adapter over 12 layers is 48 of
// them, a fusion of 4 over two hundred. This pass rewrites a graph so that all its float32 inputs arrive as one
// flat input and an int64 index, each old input a Slice + Reshape of it; packFeeds() packs a run's feeds to match.
// Same numbers: the values are only moved.

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** The packed graph's two inputs. */
export const PACKED = "packed_inputs";
export const PACKED_INDEX = "packed_inputs_index";

/** Which inputs a packed graph expects in PACKED, in order, and their ranks. */
export interface Packing {
  names: string[];
  ranks: number[];
}

/**
 * The graph with its float32 inputs packed, or null when it has fewer than two (nothing to gain). Initializers
 * that are external data keep their locations: write the result beside the original file.
 */
export function packGraph(bytes: Uint8Array): { bytes: Uint8Array; packing: Packing } | null {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const inits = new Set(graph.initializer!.map((t) => t.name!));
  const packed = graph.input!.filter((i) => i.type?.tensorType?.elemType === FLOAT && !inits.has(i.name!));
  if (packed.length < 2) return null;
  const names = packed.map((i) => i.name!);
  const ranks = packed.map((i) => i.type!.tensorType!.shape?.dim?.length ?? 0);
  // the index: offsets of every input (n + 1), then every input's dims
  const n = names.length;
  const dimAt: number[] = [];
  let at = n + 1;
  for (const r of ranks) {
    dimAt.push(at);
    at += r;
  }
  const consts: onnxProto.onnx.ITensorProto[] = [];
  const int64 = (name: string, v: number): string => {
    consts.push({ name, dims: [1], dataType: INT64, int64Data: [v] });
    return name;
  };
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const slice = (input: string, from: number, to: number, out: string) =>
    nodes.push({ opType: "Slice", input: [input, int64(`${out}_from`, from), int64(`${out}_to`, to)], output: [out], name: out });
  names.forEach((name, i) => {
    const p = `${PACKED}_${i}`;
    slice(PACKED_INDEX, i, i + 1, `${p}_start`);
    slice(PACKED_INDEX, i + 1, i + 2, `${p}_end`);
    slice(PACKED_INDEX, dimAt[i], dimAt[i] + ranks[i], `${p}_shape`);
    nodes.push({ opType: "Slice", input: [PACKED, `${p}_start`, `${p}_end`], output: [`${p}_flat`], name: `${p}_flat` });
    // allowzero: a dimension of 0 is an empty tensor, not "copy the input's"
    nodes.push({ opType: "Reshape", input: [`${p}_flat`, `${p}_shape`], output: [name], name: `${p}_reshape`, attribute: [{ name: "allowzero", type: onnx.AttributeProto.AttributeType.INT, i: 1 }] });
  });
  const vector = (name: string, elemType: number, dim: string): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType, shape: { dim: [{ dimParam: dim }] } } },
  });
  const taken = new Set(names);
  graph.input = [...graph.input!.filter((i) => !taken.has(i.name!)), vector(PACKED, FLOAT, "packed_length"), vector(PACKED_INDEX, INT64, "packed_index_length")];
  graph.initializer = [...graph.initializer!, ...consts];
  graph.node = [...nodes, ...graph.node!];
  return { bytes: onnx.ModelProto.encode(model).finish(), packing: { names, ranks } };
}

/** Something with a tensor's type, dims and data (an ort.Tensor, or what the worker is sent). */
export interface TensorLike {
  type: string;
  dims: readonly number[];
  data: unknown;
}

/** A run's feeds for a packed graph: the packed inputs' data in one buffer and its index; other feeds as given. */
export function packFeeds<T extends TensorLike>(packing: Packing, feeds: Record<string, T>): { rest: Record<string, T>; packed: Float32Array; index: BigInt64Array } {
  const rest: Record<string, T> = { ...feeds };
  const parts = packing.names.map((name, i) => {
    const t = feeds[name];
    if (!t) throw new Error(`input '${name}' is missing in 'feeds'`);
    if (t.type !== "float32" || !(t.data instanceof Float32Array)) throw new Error(`input '${name}': expected float32, got ${t.type}`);
    if (t.dims.length !== packing.ranks[i]) throw new Error(`input '${name}': expected rank ${packing.ranks[i]}, got dims [${t.dims.join(", ")}]`);
    delete rest[name];
    return t as T & { data: Float32Array };
  });
  const packed = new Float32Array(parts.reduce((n, t) => n + t.data.length, 0));
  // the index: offsets of every input (n + 1), then every input's dims (as packGraph slices it)
  const index = new BigInt64Array(parts.length + 1 + packing.ranks.reduce((a, b) => a + b, 0));
  let offset = 0;
  let at = parts.length + 1;
  parts.forEach((t, i) => {
    index[i] = BigInt(offset);
    packed.set(t.data, offset);
    offset += t.data.length;
    for (const d of t.dims) index[at++] = BigInt(d);
  });
  index[parts.length] = BigInt(offset);
  return { rest, packed, index };
}
