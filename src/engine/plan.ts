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

type Member = LoadedAdapter | LoadedFusion;

export interface Group {
  key: string;
  spec: GraphSpec;
  /** branches of the request in this group, with the offset of their rows in the run */
  branches: { branch: number; offset: number }[];
  feeds: Record<string, Feed>;
  rows: number;
}

/** Describes a chain as a graph spec; `members` receives the adapter or fusion behind each slot. */
function describe(chain: Resolved | null, members: Member[], weights: number[][]): GraphSpec {
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
        return { t: "fuse", slot, children: n.children.map(walk) };
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

export function planGroups(model: LoadedModel, branches: PlannedBranch[], enc: Encoded): Group[] {
  const groups = new Map<string, { spec: GraphSpec; items: { branch: number; members: Member[]; weights: number[][] }[] }>();
  branches.forEach((b, i) => {
    const members: Member[] = [];
    const weights: number[][] = [];
    const spec = describe(b.chain, members, weights);
    const key = specKey(model.name, spec);
    if (!groups.has(key)) groups.set(key, { spec, items: [] });
    groups.get(key)!.items.push({ branch: i, members, weights });
  });

  return [...groups.entries()].map(([key, { spec, items }]) => {
    const rowIds: number[] = [];
    const placed = items.map((it) => {
      const offset = rowIds.length;
      rowIds.push(...branches[it.branch].rows);
      return { branch: it.branch, offset };
    });
    const feeds: Record<string, Feed> = { ...tokenFeeds(model, enc, rowIds) };
    spec.slots.forEach((slot, s) => {
      const bank: Member[] = [];
      const idx = new BigInt64Array(rowIds.length);
      items.forEach((it, k) => {
        const m = it.members[s];
        let at = bank.findIndex((x) => x.name === m.name && kindOf(x) === kindOf(m));
        if (at < 0) at = bank.push(m) - 1;
        const { offset } = placed[k];
        idx.fill(BigInt(at), offset, offset + branches[it.branch].rows.length);
      });
      feeds[inputName.idx(s)] = { type: "int64", dims: [rowIds.length], data: idx };
      Object.assign(feeds, bankFeeds(s, slot, bank));
    });
    for (let a = 0; a < spec.averages; a++) {
      const n = items[0].weights[a].length;
      const w = new Float32Array(rowIds.length * n);
      items.forEach((it, k) => {
        for (let r = 0; r < branches[it.branch].rows.length; r++) w.set(it.weights[a], (placed[k].offset + r) * n);
      });
      feeds[inputName.average(a)] = { type: "float32", dims: [rowIds.length, n], data: w };
    }
    return { key, spec, branches: placed, feeds, rows: rowIds.length };
  });
}

const kindOf = (m: Member) => ("adapters" in m ? "fusion" : "adapter");

function tokenFeeds(model: LoadedModel, enc: Encoded, rows: number[]): Record<string, Feed> {
  const T = enc.inputIds[0]?.length ?? 0;
  const N = rows.length;
  const ids = new BigInt64Array(N * T);
  const types = new BigInt64Array(N * T);
  const pos = new BigInt64Array(N * T);
  const mask = new BigInt64Array(N * T);
  const roberta = model.config.family === "roberta";
  const pad = model.config.padTokenId;
  rows.forEach((r, i) => {
    let count = 0;
    for (let t = 0; t < T; t++) {
      const id = enc.inputIds[r][t];
      ids[i * T + t] = BigInt(id);
      types[i * T + t] = BigInt(roberta ? 0 : enc.tokenTypeIds[r][t]);
      mask[i * T + t] = BigInt(enc.attentionMask[r][t]);
      // RoBERTa numbers positions after the padding index and skips padding tokens.
      if (roberta) pos[i * T + t] = BigInt(id !== pad ? ++count + pad : pad);
      else pos[i * T + t] = BigInt(t);
    }
  });
  const dims = [N, T];
  return {
    input_ids: { type: "int64", dims, data: ids },
    token_type_ids: { type: "int64", dims, data: types },
    position_ids: { type: "int64", dims, data: pos },
    attention_mask: { type: "int64", dims, data: mask },
  };
}

/** Stacks one parameter of every bank member into [A, ...shape]. */
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
      put(place, "up_w", ps.map((p) => p.up.w.data), [r, H]);
      put(place, "up_b", ps.map((p) => biasOf(p.up)), [H]);
      put(place, "scale", ps.map((p) => new Float32Array([p.scaling])), []);
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
      const scales = as.map((m) => (m.config.kind === "lora" ? new Float32Array([m.config.alpha / m.config.r]) : new Float32Array([1])));
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
      if (slot.shape.query) {
        put(place, "q_w", ps.map((p) => p.query!.w.data), [H!, H!]);
        put(place, "q_b", ps.map((p) => biasOf(p.query!)), [H!]);
      }
      // The graph uses W_k in torch's [out, in] layout: (W_kᵀ q) is q·W_k.
      if (slot.shape.key) put(place, "k_w", ps.map((p) => transpose2d(p.key!.w).data), [H!, H!]);
      if (slot.shape.value) put(place, "v_w", ps.map((p) => p.value!.w.data), [H!, H!]);
    }
  }
  return feeds;
}

const p0 = <T>(xs: T[]): T => xs[0];

