import type { LoadedAdapter, LoadedFusion, LoadedHead, LoadedModel } from "../store/catalog.ts";
import { GATE_MASK, hasGates, inputName, specKey, type BlockSpec, type GraphSpec, type SlotSpec } from "../graph/spec.ts";
import { fusionFeeds, fusionPlaces, fusionShape, type FusionMember } from "../methods/fusion.ts";
import type { Put } from "../methods/method.ts";
import type { Encoded } from "../formats/tokenizer.ts";
import type { Feed } from "./worker-pool.ts";

// Planning: branches whose chains have the same shape share one encoder run.
// Each slot of the shared graph gets a bank of the distinct adapters used
// there; every row carries its index into each bank.

export type Resolved =
  | { t: "adapter"; adapter: LoadedAdapter }
  | { t: "stack"; children: Resolved[] }
  | { t: "fuse"; fusion: LoadedFusion; member: FusionMember; children: Resolved[] }
  | { t: "average"; weights: number[]; children: Resolved[] };

export interface PlannedBranch {
  rows: number[];
  chain: Resolved | null;
  /** the adapter whose embedding hooks apply (the composition's first adapter, when it has any) */
  embeddings: LoadedAdapter | null;
  head: LoadedHead | null;
}

/** What a slot's bank holds: adapters, or fusions with their folded query-key maps. */
export type Member = LoadedAdapter | FusionMember;

/** Fusions are compiled for 2, 4, 8 or 16 adapters; smaller ones mask the empty slots out of the softmax. */
export const fusionWidth = (n: number) => (n <= 2 ? n : 2 ** Math.ceil(Math.log2(n)));

/** Describes a chain as a graph spec; `members` receives the adapter or fusion behind each slot. */
function describe(branch: PlannedBranch, members: Member[], weights: number[][], fused: Record<number, number>): GraphSpec {
  const slots: SlotSpec[] = [];
  let averages = 0;
  let embeddings: number | null = null;
  if (branch.embeddings) {
    const parts = branch.embeddings.parts.filter((p) => p.method.embeddings);
    slots.push({ kind: "adapter", parts: parts.map((p) => p.spec) });
    members.push(branch.embeddings);
    embeddings = 0;
  }
  const walk = (n: Resolved): BlockSpec => {
    switch (n.t) {
      case "adapter": {
        slots.push({ kind: "adapter", parts: n.adapter.parts.map((p) => p.spec) });
        members.push(n.adapter);
        return { t: "adapter", slot: slots.length - 1 };
      }
      case "stack":
        return { t: "stack", children: n.children.map(walk) };
      case "fuse": {
        slots.push({ kind: "fusion", shape: fusionShape(n.fusion.config), places: fusionPlaces(n.fusion.weights) });
        members.push(n.member);
        const slot = slots.length - 1;
        const children = n.children.map(walk);
        fused[slot] = children.length;
        // Same-shaped plain adapters: pad to the compiled width with copies of
        // the first one (masked out), so fusions of 3 and 4 share a graph.
        const first = children[0];
        const padable = children.every((c) => c.t === "adapter" && JSON.stringify(slots[c.slot]) === JSON.stringify(slots[(first as { slot: number }).slot]));
        if (!padable) return { t: "fuse", slot, children };
        const width = fusionWidth(children.length);
        const child0 = members[(first as { slot: number }).slot];
        while (children.length < width) {
          slots.push(slots[(first as { slot: number }).slot]);
          members.push(child0);
          children.push({ t: "adapter", slot: slots.length - 1 });
        }
        return { t: "fuse", slot, children, masked: true };
      }
      case "average":
        weights.push(n.weights);
        return { t: "average", id: averages++, children: n.children.map(walk) };
    }
  };
  const block = branch.chain ? walk(branch.chain) : null;
  return { block, slots, averages, embeddings };
}

/** One row of an encoder run: its real tokens and the weights it gathers from each slot. */
export interface RowJob {
  ids: number[];
  types: number[];
  positions: number[];
  /** the adapter or fusion behind each slot of the spec */
  members: Member[];
  /** per average block: its normalised weights */
  averages: number[][];
  /** per fusion slot: how many of its adapters are real (the rest are masked padding) */
  fused: Record<number, number>;
  /** the length AdapterHub pads this row's request to (its longest row): learned gates average over it */
  padTo: number;
}

/** Rows that share one compiled graph. Jobs with the same key can be merged into one run. */
export interface Job {
  key: string;
  model: LoadedModel;
  spec: GraphSpec;
  rows: RowJob[];
}

export interface PlannedJob {
  job: Job;
  /** the request's branches in this job, with the offset of their rows */
  branches: { branch: number; offset: number }[];
}

export function planJobs(model: LoadedModel, branches: PlannedBranch[], enc: Encoded): PlannedJob[] {
  const jobs = new Map<string, PlannedJob>();
  branches.forEach((b, i) => {
    const members: Member[] = [];
    const weights: number[][] = [];
    const fused: Record<number, number> = {};
    const spec = describe(b, members, weights, fused);
    const key = specKey(model.name, spec);
    let pj = jobs.get(key);
    if (!pj) {
      pj = { job: { key, model, spec, rows: [] }, branches: [] };
      jobs.set(key, pj);
    }
    pj.branches.push({ branch: i, offset: pj.job.rows.length });
    const padTo = Math.max(1, ...enc.length);
    for (const r of b.rows) pj.job.rows.push({ ...tokensOf(model, enc, r), members, averages: weights, fused, padTo });
  });
  return [...jobs.values()];
}

function tokensOf(model: LoadedModel, enc: Encoded, r: number) {
  const n = enc.length[r];
  const ids = enc.inputIds[r].slice(0, n);
  return { ids, types: enc.tokenTypeIds[r].slice(0, n), positions: model.family.positions(ids, model.config) };
}

/** The length a row pads its run to: its tokens, or with learned gates at least its request's padded length. */
export const runLength = (spec: GraphSpec, row: RowJob) => (hasGates(spec) ? Math.max(row.ids.length, row.padTo) : row.ids.length);

/** The feeds of one run: rows padded to the longest, each slot's bank of distinct members, each row's index into it. */
export function buildFeeds(job: Job): { feeds: Record<string, Feed>; seqLen: number; uniform: boolean } {
  const { rows, spec, model } = job;
  const N = rows.length;
  const gated = hasGates(spec);
  // Gates average over the request's padded length, so a run that has them is at least that long (runLength).
  const T = Math.max(1, ...rows.map((r) => runLength(spec, r)));
  const ids = new BigInt64Array(N * T).fill(BigInt(model.config.padTokenId));
  const types = new BigInt64Array(N * T);
  const pos = new BigInt64Array(N * T);
  const mask = new BigInt64Array(N * T);
  rows.forEach((r, i) => {
    for (let t = 0; t < T; t++) {
      const real = t < r.ids.length;
      if (real) {
        ids[i * T + t] = BigInt(r.ids[t]);
        types[i * T + t] = BigInt(r.types[t]);
        mask[i * T + t] = 1n;
      }
      pos[i * T + t] = BigInt(real ? r.positions[t] : model.family.padPosition(t, model.config));
    }
  });
  const dims = [N, T];
  const feeds: Record<string, Feed> = {
    input_ids: { type: "int64", dims, data: ids },
    token_type_ids: { type: "int64", dims, data: types },
    position_ids: { type: "int64", dims, data: pos },
    attention_mask: { type: "int64", dims, data: mask },
  };
  if (gated) {
    const m = new Float32Array(N * T);
    rows.forEach((r, i) => m.fill(1, i * T, i * T + r.padTo));
    feeds[GATE_MASK] = { type: "float32", dims, data: m };
  }
  const banks = spec.slots.map((_, s) => {
    const bank: Member[] = [];
    const idx = new BigInt64Array(N);
    rows.forEach((r, i) => {
      const m = r.members[s];
      let at = bank.indexOf(m);
      if (at < 0) at = bank.push(m) - 1;
      idx[i] = BigInt(at);
    });
    return { bank, idx };
  });
  const uniform = banks.every((b) => b.bank.length === 1);
  spec.slots.forEach((slot, s) => {
    const { bank, idx } = banks[s];
    const bankFed = bankFeeds(s, slot, bank);
    if (uniform) {
      // one member: drop the bank dimension (see GraphSpec.uniform)
      for (const f of Object.values(bankFed)) f.dims = f.dims.slice(1);
    } else feeds[inputName.idx(s)] = { type: "int64", dims: [N], data: idx };
    Object.assign(feeds, bankFed);
  });
  for (const f of maskedFusions(spec.block)) {
    const mask = new Float32Array(N * f.width);
    rows.forEach((r, i) => mask.fill(MASKED, i * f.width + r.fused[f.slot], (i + 1) * f.width));
    feeds[inputName.fusionMask(f.slot)] = { type: "float32", dims: [N, f.width], data: mask };
  }
  for (let a = 0; a < spec.averages; a++) {
    const n = rows[0].averages[a].length;
    const w = new Float32Array(N * n);
    rows.forEach((r, i) => w.set(r.averages[a], i * n));
    feeds[inputName.average(a)] = { type: "float32", dims: [N, n], data: w };
  }
  return { feeds, seqLen: T, uniform };
}

/** Added to a padded slot's fusion score: its softmax weight becomes exactly 0. */
const MASKED = -1e9;

function maskedFusions(b: BlockSpec | null): { slot: number; width: number }[] {
  if (!b || b.t === "adapter") return [];
  const inner = b.children.flatMap(maskedFusions);
  return b.t === "fuse" && b.masked ? [{ slot: b.slot, width: b.children.length }, ...inner] : inner;
}

/** Stacks one parameter of every bank member into [A, ...shape]. */
/** Weights fed as they are (a bank of one member) from this size on are kept by the worker between runs. */
const CONSTANT_BYTES = 64 * 1024;
const arrayIds = new WeakMap<Float32Array, number>();
let nextArrayId = 0;

function stack(parts: Float32Array[], shape: number[]): Feed {
  const size = shape.reduce((a, b) => a * b, 1);
  // One member: its own weights, not a copy; big ones are constants, sent to a worker once and kept there
  // (a bert-base fusion's value and folded query·key maps are 56 MB, which a copy per run would cost ~80 ms).
  if (parts.length === 1 && parts[0].length === size && parts[0].byteLength >= CONSTANT_BYTES) {
    let id = arrayIds.get(parts[0]);
    if (id === undefined) arrayIds.set(parts[0], (id = nextArrayId++));
    return { type: "float32", dims: [1, ...shape], data: parts[0], constant: `w${id}` };
  }
  const out = new Float32Array(parts.length * size);
  parts.forEach((p, i) => {
    if (p.length !== size) throw new Error(`internal: bank member has ${p.length} values, expected ${size}`);
    out.set(p, i * size);
  });
  return { type: "float32", dims: [parts.length, ...shape], data: out };
}

function bankFeeds(s: number, slot: SlotSpec, bank: Member[]): Record<string, Feed> {
  const feeds: Record<string, Feed> = {};
  const putFor = (method: string): Put => (place, param, parts, shape) => {
    feeds[inputName.param(s, method, place, param)] = stack(parts, shape);
  };
  if (slot.kind === "fusion") {
    fusionFeeds(slot.shape, slot.places, bank as FusionMember[], putFor("fusion"));
    return feeds;
  }
  const adapters = bank as LoadedAdapter[];
  for (const spec of slot.parts) {
    const partOf = (a: LoadedAdapter) => a.parts.find((p) => p.method.name === spec.method)!;
    partOf(adapters[0]).method.feeds(spec, adapters.map(partOf), putFor(spec.method));
  }
  return feeds;
}
