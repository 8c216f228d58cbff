// A graph's shape: everything that changes the ONNX graph, nothing that only
// changes numbers. Adapter, fusion and average weights are graph inputs, so
// one compiled graph serves every adapter of the same shape; two requests
// whose specs serialise to the same key share a session.

export interface BottleneckShape {
  lnBefore: boolean;
  lnAfter: boolean;
  originalLnBefore: boolean;
  originalLnAfter: boolean;
  residualBeforeLn: boolean;
  adapterResidualBeforeLn: boolean;
  isParallel: boolean;
  act: string;
}

export interface FusionShape {
  query: boolean;
  key: boolean;
  value: boolean;
  queryBeforeLn: boolean;
  residualBefore: boolean;
  /** 1, or 50 for fusions trained with `temperature` (a freshly loaded model's value) */
  temperature: number;
}

/**
 * A slot is one position of the composition tree that holds weights. Each
 * slot has a bank of one or more adapters; every row picks its own.
 * `places` are "<layer>.<where>" keys with where ∈ mh|out (bottleneck,
 * fusion) or q|k|v|inter|out (LoRA); `dims` the bottleneck size per place,
 * so adapters banked together have the same shapes.
 */
export type SlotSpec =
  | { kind: "bottleneck"; shape: BottleneckShape; places: string[]; dims: number[] }
  | { kind: "lora"; mode: "add" | "scale"; places: string[]; dims: number[] }
  | { kind: "fusion"; shape: FusionShape; places: string[] };

export type BlockSpec =
  | { t: "adapter"; slot: number }
  | { t: "stack"; children: BlockSpec[] }
  | { t: "fuse"; slot: number; children: BlockSpec[]; masked?: boolean }
  | { t: "average"; id: number; children: BlockSpec[] };

export interface GraphSpec {
  block: BlockSpec | null;
  slots: SlotSpec[];
  averages: number;
  /**
   * Set when every row of a run uses the same adapter in every slot: weights
   * are then fed as plain tensors instead of banks gathered per row. Decided
   * per run, after batching, so it is not part of the planning key.
   */
  uniform?: boolean;
}

export const specKey = (model: string, spec: GraphSpec) => `${model}|${JSON.stringify(spec)}`;

/** Graph input names, shared by the builder and the planner that fills them. */
export const inputName = {
  idx: (slot: number) => `s${slot}.idx`,
  param: (slot: number, place: string, param: string) => `s${slot}.${place}.${param}`,
  average: (id: number) => `avg${id}.w`,
  /** [N, width]: 0 for a row's real fused adapters, a large negative number for padding */
  fusionMask: (slot: number) => `s${slot}.mask`,
};
export const fusionOutputName = (slot: number, place: string) => `fusion.s${slot}.${place}`;

export function lastSlot(b: BlockSpec): number | null {
  if (b.t === "adapter") return b.slot;
  for (let i = b.children.length - 1; i >= 0; i--) {
    const s = lastSlot(b.children[i]);
    if (s !== null) return s;
  }
  return null;
}

export function firstSlot(b: BlockSpec): number | null {
  if (b.t === "adapter") return b.slot;
  for (const c of b.children) {
    const s = firstSlot(c);
    if (s !== null) return s;
  }
  return null;
}
