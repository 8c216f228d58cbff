import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
type Attr = number | number[] | string | Float32Array;
export type ElemType = "float32" | "int64" | "bool" | "int8";

const ELEM: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
  int8: onnx.TensorProto.DataType.INT8,
};

/** Data an initializer may hold: float32 values, or int8 ones (quantised weights). */
export type InitData = Float32Array | Int8Array;

/**
 * Where large initializers go instead of the graph itself: a file shared by
 * every graph of one model, so sessions map one copy of the base weights.
 * `ref` stores the data once per key and says where it lies.
 */
export interface ExternalWeights {
  ref(key: string, data: InitData): { location: string; offset: number; length: number };
  /** whether `key` is stored already (so its data need not even be computed) */
  has(key: string): boolean;
}

/** onnxruntime's contrib-op domain (DynamicQuantizeMatMul and the like). */
export const MS = "com.microsoft";

/** Initializers smaller than this stay inside the graph. */
const EXTERNAL_MIN_BYTES = 64 * 1024;

/** A symbolic tensor in the graph under construction. */
export class Value {
  constructor(readonly g: GraphBuilder, readonly name: string) {}
}

/** A dimension: a number, or a named symbolic dimension such as "batch". */
export type Dim = number | string;

/**
 * A small ONNX graph builder: every op helper returns a fresh Value, names are
 * generated, so graph code reads like the math it implements.
 */
export class GraphBuilder {
  private nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private inits: InstanceType<typeof onnx.TensorProto>[] = [];
  private inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private counter = 0;
  private constCache = new Map<string, Value>();
  readonly inputNames = new Set<string>();

  constructor(private readonly external?: ExternalWeights) {}

  private fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  input(name: string, type: ElemType, dims: Dim[]): Value {
    if (this.inputNames.has(name)) return new Value(this, name);
    this.inputNames.add(name);
    this.inputs.push(valueInfo(name, type, dims));
    return new Value(this, name);
  }

  output(v: Value, name: string, type: ElemType = "float32"): void {
    const named = this.op("Identity", [v], {}, name);
    this.outputs.push(valueInfo(named.name, type, null));
  }

  /** An initializer whose data is derived (a transpose, a quantisation): computed only when the weight file does not hold it yet. */
  initDerived(name: string, dims: number[], data: () => Float32Array, type?: "float32"): Value;
  initDerived(name: string, dims: number[], data: () => Int8Array, type: "int8"): Value;
  initDerived(name: string, dims: number[], data: () => InitData, type: "float32" | "int8" = "float32"): Value {
    const bytes = dims.reduce((a, b) => a * b, type === "int8" ? 1 : 4);
    if (this.external?.has(name) && bytes >= EXTERNAL_MIN_BYTES) return this.init(name, dims, type === "int8" ? new Int8Array(0) : new Float32Array(0), bytes);
    return this.init(name, dims, data());
  }

  /** A float32 (or int8) initializer: inside the graph, or (large ones, with ExternalWeights) in the model's shared weight file. */
  init(name: string, dims: number[], data: InitData, byteLength = data.byteLength): Value {
    const dataType = data instanceof Int8Array ? ELEM.int8 : ELEM.float32;
    if (this.external && byteLength >= EXTERNAL_MIN_BYTES) {
      const at = this.external.ref(name, data);
      const externalData = [
        { key: "location", value: at.location },
        { key: "offset", value: String(at.offset) },
        { key: "length", value: String(at.length) },
      ];
      this.inits.push(onnx.TensorProto.create({ name, dims, dataType, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData }));
    } else {
      this.inits.push(onnx.TensorProto.create({ name, dims, dataType, rawData: bytesOf(data) }));
    }
    return new Value(this, name);
  }

  /** A float32 constant (a scalar when given a number); equal constants are shared. */
  constF(values: number[] | number, dims?: number[]): Value {
    return this.constant("float32", values, dims);
  }

  /** An int64 constant (shapes, axes, indices). */
  constI(values: number[] | number, dims?: number[]): Value {
    return this.constant("int64", values, dims);
  }

  private constant(type: "float32" | "int64", values: number[] | number, dims?: number[]): Value {
    const arr = typeof values === "number" ? [values] : values;
    const shape = dims ?? (typeof values === "number" ? [] : [arr.length]);
    const key = `${type}:${shape.join(",")}:${arr.join(",")}`;
    let v = this.constCache.get(key);
    if (!v) {
      v = new Value(this, this.fresh(type === "int64" ? "ci" : "cf"));
      const data = type === "int64" ? new BigInt64Array(arr.map((x) => BigInt(x))) : new Float32Array(arr);
      this.inits.push(onnx.TensorProto.create({ name: v.name, dims: shape, dataType: ELEM[type], rawData: bytesOf(data) }));
      this.constCache.set(key, v);
    }
    return v;
  }

  op(type: string, ins: (Value | null)[], attrs: Record<string, Attr> = {}, outName?: string, domain?: string): Value {
    const out = outName ?? this.fresh(type.toLowerCase());
    this.nodes.push(
      onnx.NodeProto.create({
        opType: type,
        domain: domain ?? "",
        input: ins.map((v) => (v ? v.name : "")),
        output: [out],
        attribute: Object.entries(attrs).map(([name, a]) => attribute(name, a)),
      }),
    );
    return new Value(this, out);
  }

  /** Ops with several outputs (Split, EmbedLayerNormalization). */
  opN(type: string, ins: (Value | null)[], n: number, attrs: Record<string, Attr> = {}, domain?: string): Value[] {
    const outs = Array.from({ length: n }, () => this.fresh(type.toLowerCase()));
    this.nodes.push(
      onnx.NodeProto.create({
        opType: type,
        domain: domain ?? "",
        input: ins.map((v) => (v ? v.name : "")),
        output: outs,
        attribute: Object.entries(attrs).map(([name, a]) => attribute(name, a)),
      }),
    );
    return outs.map((o) => new Value(this, o));
  }

  encode(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: "polyhead",
      // onnxruntime's contrib ops (com.microsoft) only when a node uses them
      opsetImport: [{ domain: "", version: 17 }, ...(this.nodes.some((n) => n.domain === MS) ? [{ domain: MS, version: 1 }] : [])],
      graph: onnx.GraphProto.create({
        name: "polyhead",
        node: this.nodes,
        initializer: this.inits,
        input: this.inputs,
        output: this.outputs,
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function bytesOf(a: InitData | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function valueInfo(name: string, type: ElemType, dims: Dim[] | null) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        shape: dims ? { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } : undefined,
      },
    },
  });
}

function attribute(name: string, a: Attr) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof a === "string") return { name, type: T.STRING, s: new TextEncoder().encode(a) };
  if (a instanceof Float32Array) return { name, type: T.FLOATS, floats: Array.from(a) };
  if (Array.isArray(a)) return { name, type: T.INTS, ints: a };
  if (Number.isInteger(a) && !Object.is(a, -0)) return { name, type: T.INT, i: a };
  return { name, type: T.FLOAT, f: a };
}
