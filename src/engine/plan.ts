import type { LoadedAdapter, LoadedFusion, LoadedHead, LoadedModel } from "../store/catalog.ts";
import { transpose2d, type Linear } from "../formats/adapter-weights.ts";
import { inputName, specKey, type BlockSpec, type GraphSpec, type SlotSpec } from "../graph/spec.ts";
import type { Encoded } from "./tokenize.ts";
import type { Feed } from "./worker-pool.ts";

// Planning: branches whose chains have the same shape share one encoder run.
// Each slot of the shared graph gets a bank of the distinct adapters used
// there; every row carries its index into each bank.

export type Resolved =
  | { t: "adapter"; adapter: LoadedAdapter }
  | { t: "stack"; children: Resolved[] }
  | { t: "fuse"; fusion: LoadedFusion; children: Resolved[] }
  | { t: "average"; weights: number[]; children: Resolved[] };

export interface PlannedBranch {
  rows: number[];
  chain: Resolved | null;
  head: LoadedHead | null;
}

export type Member = LoadedAdapter | LoadedFusion;

/** Describes a chain as a graph spec; `members` receives the adapter or fusion behind each slot. */
/** Fusions are compiled for 2, 4, 8 or 16 adapters; smaller ones mask the empty slots out of the softmax. */
export const fusionWidth = (n: number) => (n <= 2 ? n : 2 ** Math.ceil(Math.log2(n)));

function describe(chain: Resolved | null, members: Member[], weights: number[][], fused: Record<number, number>): GraphSpec {
  const slots: SlotSpec[] = [];
  let averages = 0;
  const walk = (n: Resolved): BlockSpec => {
    switch (n.t) {
      case "adapter": {
        slots.push(slotOf(n.adapter));
        members.push(n.adapter);
        return { t: "adapter", slot: slots.length - 1 };
      }
      case "stack":
        return { t: "stack", children: n.children.map(walk) };
      case "fuse": {
        const f = n.fusion;
        slots.push({
          kind: "fusion",
          shape: {
            query: f.config.query,
            key: f.config.key,
            value: f.config.value,
            queryBeforeLn: f.config.queryBeforeLn,
            residualBefore: f.config.residualBefore,
            temperature: f.config.temperature ? 50 : 1,
          },
          places: sortedPlaces(f.weights.places.keys()),
        });
        members.push(f);
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
  const block = chain ? walk(chain) : null;
  return { block, slots, averages };
}

function slotOf(a: LoadedAdapter): SlotSpec {
  const places = sortedPlaces(a.weights.places.keys());
  if (a.config.kind === "bottleneck" && a.weights.kind === "bottleneck") {
    const c = a.config;
    const w = a.weights;
    return {
      kind: "bottleneck",
      shape: {
        lnBefore: c.lnBefore,
        lnAfter: c.lnAfter,
        originalLnBefore: c.originalLnBefore,
        originalLnAfter: c.originalLnAfter,
        residualBeforeLn: c.residualBeforeLn,
        adapterResidualBeforeLn: c.adapterResidualBeforeLn,
        isParallel: c.isParallel,
        act: c.nonLinearity,
      },
      places,
      dims: places.map((p) => w.places.get(p)!.down.w.shape[1]),
    };
  }
  if (a.config.kind === "lora" && a.weights.kind === "lora") {
    const w = a.weights;
    return { kind: "lora", mode: a.config.compositionMode, places, dims: places.map((p) => w.places.get(p)!.a?.shape[1] ?? 1) };
  }
  throw new Error("internal: adapter config and weights disagree");
}

function sortedPlaces(keys: Iterable<string>): string[] {
  return [...keys].sort((a, b) => {
    const [la, wa] = a.split(".");
    const [lb, wb] = b.split(".");
    return Number(la) - Number(lb) || wa.localeCompare(wb);
  });
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
    const spec = describe(b.chain, members, weights, fused);
    const key = specKey(model.name, spec);
    let pj = jobs.get(key);
    if (!pj) {
      pj = { job: { key, model, spec, rows: [] }, branches: [] };
      jobs.set(key, pj);
    }
    pj.branches.push({ branch: i, offset: pj.job.rows.length });
    for (const r of b.rows) pj.job.rows.push({ ...tokensOf(model, enc, r), members, averages: weights, fused });
  });
  return [...jobs.values()];
}

function tokensOf(model: LoadedModel, enc: Encoded, r: number) {
  const n = enc.length[r];
  const ids = enc.inputIds[r].slice(0, n);
  const roberta = model.config.family === "roberta";
  const pad = model.config.padTokenId;
  let count = 0;
  return {
    ids,
    // RoBERTa has one token type, and numbers positions after the padding index, skipping padding tokens.
    types: roberta ? new Array<number>(n).fill(0) : enc.tokenTypeIds[r].slice(0, n),
    positions: roberta ? ids.map((id) => (id !== pad ? ++count + pad : pad)) : ids.map((_, t) => t),
  };
}

/** The feeds of one run: rows padded to the longest, each slot's bank of distinct members, each row's index into it. */
export function buildFeeds(job: Job): { feeds: Record<string, Feed>; seqLen: number; uniform: boolean } {
  const { rows, spec, model } = job;
  const N = rows.length;
  const T = Math.max(1, ...rows.map((r) => r.ids.length));
  const ids = new BigInt64Array(N * T).fill(BigInt(model.config.padTokenId));
  const types = new BigInt64Array(N * T);
  const pos = new BigInt64Array(N * T);
  const mask = new BigInt64Array(N * T);
  const roberta = model.config.family === "roberta";
  rows.forEach((r, i) => {
    for (let t = 0; t < T; t++) {
      const real = t < r.ids.length;
      if (real) {
        ids[i * T + t] = BigInt(r.ids[t]);
        types[i * T + t] = BigInt(r.types[t]);
        mask[i * T + t] = 1n;
      }
      pos[i * T + t] = BigInt(real ? r.positions[t] : roberta ? model.config.padTokenId : t);
    }
  });
  const dims = [N, T];
  const feeds: Record<string, Feed> = {
    input_ids: { type: "int64", dims, data: ids },
    token_type_ids: { type: "int64", dims, data: types },
    position_ids: { type: "int64", dims, data: pos },
    attention_mask: { type: "int64", dims, data: mask },
  };
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

/** Stacks one parameter of every bank member into [A, ...shape]. */
/** Added to a padded slot's fusion score: its softmax weight becomes exactly 0. */
const MASKED = -1e9;

function maskedFusions(b: BlockSpec | null): { slot: number; width: number }[] {
  if (!b || b.t === "adapter") return [];
  const inner = b.children.flatMap(maskedFusions);
  return b.t === "fuse" && b.masked ? [{ slot: b.slot, width: b.children.length }, ...inner] : inner;
}

function stack(parts: Float32Array[], shape: number[]): Feed {
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(parts.length * size);
  parts.forEach((p, i) => {
    if (p.length !== size) throw new Error(`internal: bank member has ${p.length} values, expected ${size}`);
    out.set(p, i * size);
  });
  return { type: "float32", dims: [parts.length, ...shape], data: out };
}

const biasOf = (l: Linear) => l.b?.data ?? new Float32Array(l.w.shape[1]);

function bankFeeds(s: number, slot: SlotSpec, bank: Member[]): Record<string, Feed> {
  const feeds: Record<string, Feed> = {};
  const put = (place: string, param: string, parts: Float32Array[], shape: number[]) => {
    feeds[inputName.param(s, place, param)] = stack(parts, shape);
  };
  for (const place of slot.places) {
    if (slot.kind === "bottleneck") {
      const ps = bank.map((m) => {
        const w = (m as LoadedAdapter).weights;
        if (w.kind !== "bottleneck") throw new Error("internal: bank mixes adapter kinds");
        return w.places.get(place)!;
      });
      const [H, r] = ps[0].down.w.shape;
      put(place, "down_w", ps.map((p) => p.down.w.data), [H, r]);
      put(place, "down_b", ps.map((p) => biasOf(p.down)), [r]);
      // scaling folded in: one elementwise pass less per location
      const scaled = (x: Float32Array, s: number) => (s === 1 ? x : x.map((v) => v * s));
      put(place, "up_w", ps.map((p) => scaled(p.up.w.data, p.scaling)), [r, H]);
      put(place, "up_b", ps.map((p) => scaled(biasOf(p.up), p.scaling)), [H]);
      if (slot.shape.lnBefore) {
        put(place, "nb_g", ps.map((p) => p.normBefore!.gamma.data), [H]);
        put(place, "nb_b", ps.map((p) => p.normBefore!.beta.data), [H]);
      }
      if (slot.shape.lnAfter) {
        put(place, "na_g", ps.map((p) => p.normAfter!.gamma.data), [H]);
        put(place, "na_b", ps.map((p) => p.normAfter!.beta.data), [H]);
      }
    } else if (slot.kind === "lora") {
      const as = bank as LoadedAdapter[];
      const ps = as.map((m) => {
        if (m.weights.kind !== "lora") throw new Error("internal: bank mixes adapter kinds");
        return m.weights.places.get(place)!;
      });
      const scales = as.map((m) => (m.config.kind === "lora" ? new Float32Array([m.config.scaling]) : new Float32Array([1])));
      put(place, "scale", scales, []);
      if (slot.mode === "add") {
        put(place, "a", ps.map((p) => p.a!.data), p0(ps).a!.shape);
        put(place, "b", ps.map((p) => p.b.data), p0(ps).b.shape);
      } else {
        put(place, "b", ps.map((p) => p.b.data), p0(ps).b.shape);
      }
    } else {
      const ps = (bank as LoadedFusion[]).map((f) => f.weights.places.get(place)!);
      const H = (ps[0].query ?? ps[0].key ?? ps[0].value)?.w.shape[0];
      const fusions = bank as LoadedFusion[];
      if (slot.shape.query && slot.shape.key) {
        // query and key folded into one map by the engine (Engine.fold)
        const folded = fusions.map((f) => {
          const x = f.folded?.get(place);
          if (!x) throw new Error(`internal: fusion "${f.name}" was not folded`);
          return x;
        });
        put(place, "qk_w", folded.map((x) => x.w.data), [H!, H!]);
        put(place, "qk_b", folded.map((x) => x.b.data), [H!]);
      } else if (slot.shape.query) {
        put(place, "q_w", ps.map((p) => p.query!.w.data), [H!, H!]);
        put(place, "q_b", ps.map((p) => biasOf(p.query!)), [H!]);
      } else if (slot.shape.key) {
        // The graph uses W_k in torch's [out, in] layout: (W_kᵀ q) is q·W_k.
        put(place, "k_w", ps.map((p) => transpose2d(p.key!.w).data), [H!, H!]);
      }
      if (slot.shape.value) put(place, "v_w", ps.map((p) => p.value!.w.data), [H!, H!]);
    }
  }
  return feeds;
}

const p0 = <T>(xs: T[]): T => xs[0];

