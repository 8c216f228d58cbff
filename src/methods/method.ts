import type { Tensor, StateDict } from "../core/tensor.ts";
import type { Params } from "../formats/linear.ts";
import type { Family, ModelConfig, LinearTarget } from "../families/index.ts";
import type { Value } from "../graph/onnx-builder.ts";
import type { TokenMean } from "./gate.ts";

// The contract of an adapter method (bottleneck, LoRA, (IA)^3, invertible,
// ...). A saved adapter is one or more parts, each served by one method: a
// MAD-X language adapter is a bottleneck part plus an invertible part. Each
// method reads its part of adapter_config.json and of the weight file, says
// what of it changes the graph (its spec), stacks the weights of several
// adapters into banks (feeds), and adds its ops where the encoder skeleton
// calls it.

/** The adapter's keys with the model's prefix removed, and what they belong to. */
export interface ReadContext {
  family: Family;
  model: ModelConfig;
  /** the adapter's saved name: its keys carry it (empty for PEFT files) */
  name: string;
  keys: StateDict;
}

/** A part's graph shape: everything that changes the graph (it is part of the compiled graph's key). */
export interface PartSpec {
  method: string;
  /** where the part has weights: "<layer>.<location or linear target>", or "embeddings" */
  places: string[];
  /** a size per place that banked adapters must share (bottleneck or rank) */
  dims: number[];
  /** method-specific flags */
  shape?: Record<string, unknown>;
}

/** Stacks one parameter of every bank member into a graph input. */
export type Put = (place: string, param: string, parts: Float32Array[], shape: number[]) => void;

/** A graph input of this slot and part, one entry per row ([A, ...dims] gathered by row, or plain when uniform). */
export type ParamFn = (place: string, param: string, dims: (number | "hidden" | string)[]) => Value;

export interface AdapterMethod<C = unknown, W = unknown> {
  /** the type shown in listings */
  name: string;
  /** Reads this method's part of an adapter_config.json "config", or null when the config has none. Throws for options it cannot serve. */
  parse(config: Record<string, unknown>): C | null;
  read(ctx: ReadContext, config: C): W;
  spec(config: C, weights: W): PartSpec;
  feeds(spec: PartSpec, bank: { config: C; weights: W }[], put: Put): void;
  /** true for parts that act at AdapterHub's adapter locations and so may sit inside fuse / average */
  composable: boolean;
  /** a linear layer's output y = W x + b → y' (LoRA-like methods) */
  linear?(y: Value, x: Value, place: string, spec: PartSpec, p: ParamFn, mean: TokenMean): Value;
  /** the embeddings' output (invertible adapters) */
  embeddings?(x: Value, spec: PartSpec, p: ParamFn): Value;
  /** its inverse, on a translation model's decoder output before the LM head */
  embeddingsInverse?(x: Value, spec: PartSpec, p: ParamFn): Value;
}

export interface Part<C = unknown, W = unknown> {
  method: AdapterMethod<C, W>;
  config: C;
  weights: W;
  /** method.spec(config, weights), computed once when the part is read: plans read it on every request */
  spec: PartSpec;
}

export const placeKey = (layer: number, where: string) => `${layer}.${where}`;

/** Keys under `module.` (a module path), relative to it. */
export function under(keys: StateDict, module: string): Params {
  const out: Params = new Map();
  const p = `${module}.`;
  for (const [k, t] of keys) if (k.startsWith(p)) out.set(k.slice(p.length), t);
  return out;
}

/** Strips the model's prefix (bert., distilbert., ...) so keys start at one of the family's roots. */
export function familyKeys(dict: StateDict, family: Family): StateDict {
  const roots = [...family.roots, "invertible_adapters", "prefix_tuning"].map((r) => r.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  const re = new RegExp(`(?:^|\\.)((?:${roots})\\..*)$`);
  const out: StateDict = new Map();
  for (const [k, t] of dict) out.set(re.exec(k)?.[1] ?? k, t);
  return out;
}

export function sortedPlaces(keys: Iterable<string>): string[] {
  return [...keys].sort((a, b) => {
    const [la, wa] = a.split(".");
    const [lb, wb] = b.split(".");
    return Number(la) - Number(lb) || wa.localeCompare(wb);
  });
}

export type { LinearTarget, Tensor };
