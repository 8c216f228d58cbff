import type { StateDict, Tensor } from "../core/tensor.ts";
import type { AdapterConfig, BottleneckConfig, FusionConfig, HeadConfig, LoraConfig } from "./adapter-config.ts";

// Turns the flat state dicts AdapterHub saves into per-layer weights. Linear
// weights are transposed to [in, out] here, once, so graphs use MatMul as is.
// Keys carry the adapter's saved name; a file may also hold other adapters'
// or heads' keys whose names share a prefix, so names are matched exactly.

/** mh = after attention output ("attention.output"), out = after the FFN ("output"). */
export type Location = "mh" | "out";
export const LOCATIONS: Location[] = ["mh", "out"];
const LOCATION_PATH: Record<string, Location> = { "attention.output": "mh", output: "out" };

export interface Linear { w: Tensor; b: Tensor | null }
export interface Norm { gamma: Tensor; beta: Tensor }

export interface BottleneckPlace {
  down: Linear;
  up: Linear;
  normBefore: Norm | null;
  normAfter: Norm | null;
  scaling: number;
}

export type LoraTarget = "q" | "k" | "v" | "inter" | "out";
export interface LoraPlace {
  /** [in, r] (add mode only) */
  a: Tensor | null;
  /** [r, out] in add mode, [out] in scale mode */
  b: Tensor;
}

export interface BottleneckWeights { kind: "bottleneck"; places: Map<string, BottleneckPlace> }
export interface LoraWeights { kind: "lora"; places: Map<string, LoraPlace> }
export type AdapterWeights = BottleneckWeights | LoraWeights;

export interface FusionPlace { query: Linear | null; key: Linear | null; value: Linear | null }
export interface FusionWeights { places: Map<string, FusionPlace> }

export interface HeadWeights { layers: Linear[] }

export const placeKey = (layer: number, where: string) => `${layer}.${where}`;

export function transpose2d(t: Tensor): Tensor {
  if (t.shape.length !== 2) throw new Error(`expected a matrix, got shape [${t.shape}]`);
  const [r, c] = t.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return { shape: [c, r], data: out };
}

/** Strips a model prefix (bert., roberta., ...) so keys start at encoder./heads./embeddings. */
function stripPrefix(key: string): string {
  const m = /(?:^|\.)((?:encoder|embeddings|pooler)\..*)$/.exec(key);
  return m ? m[1] : key;
}

function escapeRe(s: string) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function need(dict: Map<string, Tensor>, key: string, what: string): Tensor {
  const t = dict.get(key);
  if (!t) throw new Error(`${what}: missing weight "${key}"`);
  return t;
}

function checkShape(t: Tensor, shape: number[], what: string) {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${what}: shape [${t.shape}] does not fit the model, expected [${shape}]`);
  }
}

function linearOf(dict: Map<string, Tensor>, base: string, what: string, inDim: number | null, outDim: number | null, bias = true): Linear {
  const key = (leaf: string) => (base ? `${base}.${leaf}` : leaf);
  const w = need(dict, key("weight"), what);
  if (w.shape.length !== 2) throw new Error(`${what}: ${key("weight")} must be a matrix`);
  if (inDim !== null && w.shape[1] !== inDim) throw new Error(`${what}: ${base}.weight has input size ${w.shape[1]}, expected ${inDim}`);
  if (outDim !== null && w.shape[0] !== outDim) throw new Error(`${what}: ${base}.weight has output size ${w.shape[0]}, expected ${outDim}`);
  const b = bias ? dict.get(key("bias")) ?? null : null;
  if (b) checkShape(b, [w.shape[0]], `${what} ${key("bias")}`);
  return { w: transpose2d(w), b };
}

/** Collects `encoder.layer.<l>.<rest>` keys under a name segment into a map keyed by the part after it. */
function collect(dict: StateDict, pattern: RegExp): Map<string, Map<string, Tensor>> {
  const out = new Map<string, Map<string, Tensor>>();
  for (const [rawKey, t] of dict) {
    const m = pattern.exec(stripPrefix(rawKey));
    if (!m) continue;
    const [, layer, where, rest] = m;
    const k = placeKey(Number(layer), where);
    if (!out.has(k)) out.set(k, new Map());
    out.get(k)!.set(rest, t);
  }
  return out;
}

export function readAdapterWeights(dict: StateDict, name: string, config: AdapterConfig, hidden: number, layers: number, format: "adapterhub" | "peft" = "adapterhub"): AdapterWeights {
  if (config.kind === "bottleneck") return readBottleneck(dict, name, config, hidden, layers);
  return readLora(format === "peft" ? peftKeys(dict) : dict, name, config, hidden, layers);
}

/**
 * PEFT saves `base_model.model.<prefix>encoder.layer.N.<module>.lora_A.weight`;
 * renamed here to AdapterHub's `encoder.layer.N.<module>.loras.<name>.lora_A`
 * with an empty name, so one reader serves both.
 */
function peftKeys(dict: StateDict): StateDict {
  const out: StateDict = new Map();
  for (const [k, t] of dict) {
    const m = /(encoder\.layer\.\d+\.[a-z.]+?)\.lora_(A|B)(?:\.[A-Za-z0-9_-]+)?\.weight$/.exec(k);
    if (m) out.set(`${m[1]}.loras..lora_${m[2]}`, t);
  }
  return out;
}

function readBottleneck(dict: StateDict, name: string, c: BottleneckConfig, hidden: number, layers: number): BottleneckWeights {
  const re = new RegExp(`^encoder\\.layer\\.(\\d+)\\.(attention\\.output|output)\\.adapters\\.${escapeRe(name)}\\.(.+)$`);
  const found = collect(dict, re);
  const places = new Map<string, BottleneckPlace>();
  for (let l = 0; l < layers; l++) {
    if (c.leaveOut.includes(l)) continue;
    for (const [path, loc] of Object.entries(LOCATION_PATH)) {
      if (loc === "mh" ? !c.mhAdapter : !c.outputAdapter) continue;
      const what = `adapter "${name}" layer ${l} ${path}`;
      const w = found.get(placeKey(l, path));
      if (!w) throw new Error(`${what}: no weights (expected keys like encoder.layer.${l}.${path}.adapters.${name}.adapter_down...)`);
      // With ln_before the down projection is index 1 of the Sequential (index 0 is the LayerNorm).
      const downIdx = c.lnBefore ? 1 : 0;
      const down = linearOf(w, `adapter_down.${downIdx}`, what, hidden, null);
      const up = linearOf(w, "adapter_up", what, down.w.shape[1], hidden);
      const norm = (base: string): Norm => {
        const gamma = need(w, `${base}.weight`, what);
        const beta = need(w, `${base}.bias`, what);
        checkShape(gamma, [hidden], what);
        checkShape(beta, [hidden], what);
        return { gamma, beta };
      };
      const normBefore = c.lnBefore ? (w.has("adapter_norm_before.weight") ? norm("adapter_norm_before") : norm("adapter_down.0")) : null;
      const normAfter = c.lnAfter ? norm("adapter_norm_after") : null;
      let scaling: number;
      if (c.scaling === "learned") {
        const s = need(w, "scaling", what);
        if (s.data.length !== 1) throw new Error(`${what}: learned scaling must hold one number`);
        scaling = s.data[0];
      } else scaling = c.scaling;
      places.set(placeKey(l, loc), { down, up, normBefore, normAfter, scaling });
    }
  }
  return { kind: "bottleneck", places };
}

const LORA_PATH: Record<string, LoraTarget> = {
  "attention.self.query": "q",
  "attention.self.key": "k",
  "attention.self.value": "v",
  "intermediate.dense": "inter",
  "output.dense": "out",
};

/** Which linear layers a LoRA config touches. */
export function loraTargets(c: LoraConfig): LoraTarget[] {
  const t: LoraTarget[] = c.selfattnLora ? [...c.attnMatrices] : [];
  if (c.intermediateLora) t.push("inter");
  if (c.outputLora) t.push("out");
  return t;
}

function readLora(dict: StateDict, name: string, c: LoraConfig, hidden: number, layers: number): LoraWeights {
  const re = new RegExp(
    `^encoder\\.layer\\.(\\d+)\\.(attention\\.self\\.query|attention\\.self\\.key|attention\\.self\\.value|intermediate\\.dense|output\\.dense)\\.loras\\.${escapeRe(name)}\\.(.+)$`,
  );
  const found = collect(dict, re);
  const places = new Map<string, LoraPlace>();
  const targets = loraTargets(c);
  for (let l = 0; l < layers; l++) {
    if (c.leaveOut.includes(l) || (c.onlyLayers && !c.onlyLayers.includes(l))) continue;
    for (const [path, target] of Object.entries(LORA_PATH)) {
      if (!targets.includes(target)) continue;
      const what = `LoRA "${name}" layer ${l} ${path}`;
      const w = found.get(placeKey(l, path));
      if (!w) throw new Error(`${what}: no weights`);
      const B = need(w, "lora_B", what);
      if (B.shape.length !== 2 || B.shape[1] !== c.r) throw new Error(`${what}: lora_B must be [out, ${c.r}], got [${B.shape}]`);
      if (c.compositionMode === "scale") {
        places.set(placeKey(l, target), { a: null, b: { shape: [B.shape[0]], data: B.data } });
      } else {
        const A = need(w, "lora_A", what);
        if (A.shape.length !== 2 || A.shape[0] !== c.r) throw new Error(`${what}: lora_A must be [${c.r}, in], got [${A.shape}]`);
        places.set(placeKey(l, target), { a: transpose2d(A), b: transpose2d(B) });
      }
    }
  }
  // The model's dimensions are checked where the graph is planned (intermediate size is known there).
  void hidden;
  return { kind: "lora", places };
}

export function readFusionWeights(dict: StateDict, name: string, c: FusionConfig, hidden: number): FusionWeights {
  const re = new RegExp(`^encoder\\.layer\\.(\\d+)\\.(attention\\.output|output)\\.adapter_fusion_layer\\.${escapeRe(name)}\\.(.+)$`);
  const found = collect(dict, re);
  const places = new Map<string, FusionPlace>();
  for (const [k, w] of found) {
    const [layer, path] = [k.slice(0, k.indexOf(".")), k.slice(k.indexOf(".") + 1)];
    const what = `fusion "${name}" layer ${layer} ${path}`;
    places.set(placeKey(Number(layer), LOCATION_PATH[path]), {
      query: c.query ? linearOf(w, "query", what, hidden, hidden) : null,
      key: c.key ? linearOf(w, "key", what, hidden, hidden) : null,
      value: c.value ? linearOf(w, "value", what, hidden, hidden, false) : null,
    });
  }
  if (places.size === 0) throw new Error(`fusion "${name}": no weights found for it in the file`);
  return { places };
}

export function readHeadWeights(dict: StateDict, head: HeadConfig, hidden: number): HeadWeights {
  const re = new RegExp(`^heads\\.${escapeRe(head.name)}\\.(\\d+)\\.(weight|bias)$`);
  const byIdx = new Map<number, Map<string, Tensor>>();
  for (const [k, t] of dict) {
    const m = re.exec(k);
    if (!m) continue;
    const idx = Number(m[1]);
    if (!byIdx.has(idx)) byIdx.set(idx, new Map());
    byIdx.get(idx)!.set(m[2], t);
  }
  const idxs = [...byIdx.keys()].sort((a, b) => a - b);
  if (idxs.length !== head.layers) {
    throw new Error(`head "${head.name}": config says ${head.layers} layer(s), file holds ${idxs.length} linear layer(s)`);
  }
  const layers = idxs.map((idx, i) => {
    const last = i === idxs.length - 1;
    const m = byIdx.get(idx)!;
    const lin = linearOf(m, "", `head "${head.name}"`, hidden, last ? head.numLabels : hidden);
    return lin;
  });
  return { layers };
}
