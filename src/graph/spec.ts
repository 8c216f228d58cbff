import type { PartSpec } from "../methods/method.ts";
import type { FusionShape } from "../methods/fusion.ts";

// A graph's shape: everything that changes the ONNX graph, nothing that only
// changes numbers. Adapter, fusion and average weights are graph inputs, so
// one compiled graph serves every adapter of the same shape; two requests
// whose specs serialise to the same key share a session.

/**
 * A slot is one position of the composition tree that holds weights. Each
 * slot has a bank of one or more adapters (or fusions); every row picks its
 * own. An adapter slot lists its parts (one per adapter method).
 */
export type SlotSpec =
  | { kind: "adapter"; parts: PartSpec[] }
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
  /** the slot whose embedding hooks apply (AdapterHub: the composition's first adapter), or null */
  embeddings: number | null;
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
  param: (slot: number, method: string, place: string, param: string) => `s${slot}.${method}.${place}.${param}`,
  average: (id: number) => `avg${id}.w`,
  /** [N, width]: 0 for a row's real fused adapters, a large negative number for padding */
  fusionMask: (slot: number) => `s${slot}.mask`,
};
/** [N, T]: 1 at the positions a row's gates average over (its request's padded length), 0 beyond */
export const GATE_MASK = "gate_mask";
export const fusionOutputName = (slot: number, place: string) => `fusion.s${slot}.${place}`;

/** Inputs with one entry per row (bank indexes, fusion masks, average weights), as opposed to the banks' weights. */
export const isPerRowInput = (name: string) => /^(s\d+\.(idx|mask)|avg\d+\.w)$/.test(name);

/** Whether some part of the spec has learned gates (UniPELT): runs then feed GATE_MASK. */
export const hasGates = (spec: GraphSpec) => spec.slots.some((s) => s.kind === "adapter" && s.parts.some((p) => p.shape?.gated === true));

export function lastSlot(b: BlockSpec): number | null {
  if (b.t === "adapter") return b.slot;
  for (let i = b.children.length - 1; i >= 0; i--) {
    const s = lastSlot(b.children[i]);
    if (s !== null) return s;
  }
  return null;
}

/** The first adapter of a composition: AdapterHub's AdapterCompositionBlock.first(). */
export function firstSlot(b: BlockSpec): number | null {
  if (b.t === "adapter") return b.slot;
  for (const c of b.children) {
    const s = firstSlot(c);
    if (s !== null) return s;
  }
  return null;
}
