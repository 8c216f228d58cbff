import type { LoadedHead } from "../store/catalog.ts";
import type { Encoded } from "../formats/tokenizer.ts";
import { headType } from "../heads/index.ts";
import type { Cost } from "./admission.ts";
import type { Resolved } from "./plan.ts";

// What a request will cost, from its tokenized inputs and resolved branches,
// before any encoder run (see admission.ts). Answer sizes are estimates of
// the JSON: a float32 printed as a JS number takes up to ~21 characters.

const FLOAT = 21;
/** a row's fixed keys and punctuation */
const ROW = 96;

export interface CostBranch {
  rows: number[];
  chain: Resolved | null;
  head: LoadedHead | null;
}

export interface PredictCostOptions {
  hidden: number;
  returnLogits: boolean;
  returnHiddenStates: boolean;
  returnFusionAttention: boolean;
}

export function predictCost(branches: CostBranch[], enc: Encoded, o: PredictCostOptions): Cost {
  let rows = 0;
  let tokens = 0;
  let bytes = 0;
  for (const b of branches) {
    const perToken = b.head ? headTokenBytes(b.head, o.returnLogits) : 0;
    const fusionWidths = o.returnFusionAttention && b.chain ? fusions(b.chain) : [];
    for (const r of b.rows) {
      const len = enc.length[r];
      rows++;
      tokens += len;
      bytes += ROW + (b.head ? headRowBytes(b.head, o.returnLogits) : 0) + len * perToken;
      if (o.returnHiddenStates || !b.head) bytes += len * o.hidden * FLOAT;
      for (const f of fusionWidths) bytes += len * f.places * f.width * FLOAT;
    }
  }
  return { rows, tokens, responseBytes: bytes, shape: `${enc.length.length} inputs over ${branches.length} branches, ${tokens.toLocaleString("en-US")} real tokens` };
}

export interface GenerateCostOptions {
  /** decoder steps per row (greedy) or per beam; 0 for scoring */
  maxNewTokens: number;
  numBeams: number;
  numReturnSequences: number;
  /** tokens of the targets, for scoring */
  targets?: Encoded;
  returnFusionAttention: boolean;
  /** encoder + decoder layers, for the size of fusion attention */
  layers: number;
}

/** Translation: encoder tokens, plus every decoder step of every beam (or the targets, scored in one pass). */
export function seq2seqCost(rowsOf: number[][], enc: Encoded, o: GenerateCostOptions): Cost {
  let rows = 0;
  let tokens = 0;
  let bytes = 0;
  for (const set of rowsOf) {
    for (const r of set) {
      const target = o.targets ? o.targets.length[r] : o.maxNewTokens;
      rows++;
      tokens += enc.length[r] + (o.targets ? target : target * o.numBeams);
      // text, token ids and token strings (or log-probabilities) of each output
      bytes += ROW + o.numReturnSequences * target * (FLOAT + 24);
      if (o.returnFusionAttention) bytes += (enc.length[r] + target) * o.layers * 2 * 16 * FLOAT;
    }
  }
  return { rows, tokens, responseBytes: bytes, shape: `${enc.length.length} inputs over ${rowsOf.length} branches, ${tokens.toLocaleString("en-US")} tokens` };
}

/** Bytes of a head's answer per row (sequence heads: the score of every label). */
function headRowBytes(head: LoadedHead, logits: boolean): number {
  if (headType(head.config).read === "tokens") return 0;
  return labelBytes(head) + (logits ? head.config.numLabels * FLOAT : 0);
}

/** Bytes of a head's answer per token (tagging: one entry per token). */
function headTokenBytes(head: LoadedHead, logits: boolean): number {
  if (headType(head.config).read !== "tokens") return 0;
  return ROW + (logits ? head.config.numLabels * FLOAT : 0);
}

const labelSizes = new WeakMap<LoadedHead, number>();

/** `"label": 0.1234567, ` for every label. */
function labelBytes(head: LoadedHead): number {
  let n = labelSizes.get(head);
  if (n === undefined) {
    n = head.config.labels.reduce((s, l) => s + l.length + 16, 0);
    labelSizes.set(head, n);
  }
  return n;
}

/** The fusions of a chain: how many places each acts at and how many adapters it weighs. */
function fusions(r: Resolved): { places: number; width: number }[] {
  if (r.t === "adapter") return [];
  const inner = r.children.flatMap(fusions);
  return r.t === "fuse" ? [{ places: r.fusion.weights.size, width: r.children.length }, ...inner] : inner;
}
