// The BERT graphs bench/ort-best.ts compares: the same bert-base weights
// written in different ways for onnxruntime's CPU provider, from plain ONNX
// ops to onnxruntime's own fused contrib ops (com.microsoft). Nothing here
// is polyhead's graph (src/graph/encoder.ts): this is the yardstick it is
// measured against.

import { GraphBuilder, MS, type Value } from "../src/graph/onnx-builder.ts";
import { add, gather, layerNorm, matmul, mul, reshape, softmax, sub, transpose, unsqueeze } from "../src/graph/ops.ts";
import type { Family, ModelConfig } from "../src/families/index.ts";
import type { BaseWeights } from "../src/families/base-weights.ts";
import { transpose2d } from "../src/formats/linear.ts";

export interface BertVariant {
  /** one [H, 3H] MatMul for q, k, v instead of three [H, H] */
  packedQkv: boolean;
  /** plain ops; com.microsoft Attention (projection included); com.microsoft MultiHeadAttention after the q/k/v MatMuls */
  attention: "plain" | "Attention" | "MultiHeadAttention";
  /** com.microsoft SkipLayerNormalization (bias + residual + LayerNorm in one op) instead of Add, Add, LayerNormalization */
  skipLn: boolean;
  /** GELU as Erf and friends; com.microsoft BiasGelu (bias add + exact GELU); ONNX Gelu (opset 20 is not ours: com.microsoft Gelu) */
  gelu: "plain" | "BiasGelu" | "Gelu";
  /** com.microsoft EmbedLayerNormalization for the three embeddings and their LayerNorm */
  embedLn: boolean;
}

export const VARIANTS: Record<string, BertVariant> = {
  plain: { packedQkv: false, attention: "plain", skipLn: false, gelu: "plain", embedLn: false },
  "plain+packed-qkv": { packedQkv: true, attention: "plain", skipLn: false, gelu: "plain", embedLn: false },
  "skipln+biasgelu": { packedQkv: false, attention: "plain", skipLn: true, gelu: "BiasGelu", embedLn: false },
  mha: { packedQkv: false, attention: "MultiHeadAttention", skipLn: true, gelu: "BiasGelu", embedLn: false },
  "mha+packed-qkv": { packedQkv: true, attention: "MultiHeadAttention", skipLn: true, gelu: "BiasGelu", embedLn: false },
  fused: { packedQkv: true, attention: "Attention", skipLn: true, gelu: "BiasGelu", embedLn: true },
  "fused-no-embedln": { packedQkv: true, attention: "Attention", skipLn: true, gelu: "BiasGelu", embedLn: false },
};

const INT32 = 6;

/** A bert-like encoder (post-LN, exact GELU) over the model's weights, written as `v` says; inputs as polyhead's graph. */
export function buildBert(family: Family, config: ModelConfig, weights: BaseWeights, v: BertVariant): Uint8Array {
  const g = new GraphBuilder();
  const H = config.hidden;
  const nh = config.heads;
  const dh = H / nh;
  const eps = config.eps;
  const inits = new Map<string, Value>();
  const W = (name: string) => inits.get(name) ?? inits.set(name, g.init(name, weights.get(name).shape, weights.get(name).data)).get(name)!;
  const WT = (name: string) => {
    const key = `${name}.T`;
    if (!inits.has(key)) {
      const t = transpose2d(weights.get(name));
      inits.set(key, g.init(key, t.shape, t.data));
    }
    return inits.get(key)!;
  };
  /** q, k, v weights side by side as [H, 3H], their biases as [3H] */
  const packed = (names: string[]) => {
    const ws = names.map((n) => transpose2d(weights.get(`${n}.weight`)).data);
    const w = new Float32Array(H * 3 * H);
    for (let r = 0; r < H; r++) ws.forEach((x, k) => w.set(x.subarray(r * H, (r + 1) * H), r * 3 * H + k * H));
    const b = new Float32Array(3 * H);
    names.forEach((n, k) => b.set(weights.get(`${n}.bias`).data, k * H));
    const key = names[0];
    return { w: g.init(`${key}.qkv.w`, [H, 3 * H], w), b: g.init(`${key}.qkv.b`, [3 * H], b) };
  };
  const ln = (prefix: string, x: Value) => layerNorm(x, W(`${prefix}.weight`), W(`${prefix}.bias`), eps);
  /** LayerNorm(x·W + b + residual) */
  const denseAddLn = (x: Value, p: string, residual: Value, norm: string) => {
    if (v.skipLn) return g.op("SkipLayerNormalization", [matmul(x, WT(`${p}.weight`)), residual, W(`${norm}.weight`), W(`${norm}.bias`), W(`${p}.bias`)], { epsilon: eps }, undefined, MS);
    return ln(norm, add(add(matmul(x, WT(`${p}.weight`)), W(`${p}.bias`)), residual));
  };
  const gelu = (x: Value, p: string) => {
    const y = matmul(x, WT(`${p}.weight`));
    if (v.gelu === "BiasGelu") return g.op("BiasGelu", [y, W(`${p}.bias`)], {}, undefined, MS);
    const z = add(y, W(`${p}.bias`));
    if (v.gelu === "Gelu") return g.op("Gelu", [z], {}, undefined, MS);
    const e = g.op("Erf", [mul(z, g.constF(Math.SQRT1_2))]);
    return mul(mul(z, g.constF(0.5)), add(e, g.constF(1)));
  };

  const e = family.embeddings;
  const inputIds = g.input("input_ids", "int64", ["batch", "seq"]);
  const posIds = g.input("position_ids", "int64", ["batch", "seq"]);
  const mask = g.input("attention_mask", "int64", ["batch", "seq"]);
  const types = g.input("token_type_ids", "int64", ["batch", "seq"]);
  const mask32 = g.op("Cast", [mask], { to: INT32 });
  let x: Value;
  if (v.embedLn) {
    const i32 = (t: Value) => g.op("Cast", [t], { to: INT32 });
    [x] = g.opN(
      "EmbedLayerNormalization",
      [i32(inputIds), i32(types), W(`${e.word}.weight`), W(`${e.position}.weight`), W(`${e.tokenType}.weight`), W(`${e.norm}.weight`), W(`${e.norm}.bias`), null, i32(posIds)],
      2,
      { epsilon: eps },
      MS,
    );
  } else {
    x = add(add(gather(W(`${e.word}.weight`), inputIds), gather(W(`${e.position}.weight`), posIds)), gather(W(`${e.tokenType}.weight`), types));
    x = ln(e.norm, x);
  }
  const maskBias = mul(sub(g.constF(1), unsqueeze(g.op("Cast", [mask], { to: 1 }), [1, 2])), g.constF(-1e30));

  for (let l = 0; l < config.layers; l++) {
    const n = family.layer(l, config);
    const L = n.linear;
    let ctx: Value;
    if (v.attention === "Attention") {
      const { w, b } = packed([L.q, L.k, L.v]);
      ctx = g.op("Attention", [x, w, b, mask32], { num_heads: nh }, undefined, MS);
    } else {
      let q: Value, k: Value, val: Value;
      let bias: Value | null = null;
      if (v.packedQkv) {
        const { w, b } = packed([L.q, L.k, L.v]);
        const qkv = v.attention === "MultiHeadAttention" ? matmul(x, w) : add(matmul(x, w), b);
        if (v.attention === "MultiHeadAttention") bias = b;
        [q, k, val] = g.opN("Split", [qkv, g.constI([H, H, H])], 3, { axis: 2 });
      } else if (v.attention === "MultiHeadAttention") {
        [q, k, val] = [L.q, L.k, L.v].map((p) => matmul(x, WT(`${p}.weight`)));
        const b = new Float32Array(3 * H);
        [L.q, L.k, L.v].forEach((p, i) => b.set(weights.get(`${p}.bias`).data, i * H));
        bias = g.init(`${L.q}.qkv.b`, [3 * H], b);
      } else {
        [q, k, val] = [L.q, L.k, L.v].map((p) => add(matmul(x, WT(`${p}.weight`)), W(`${p}.bias`)));
      }
      if (v.attention === "MultiHeadAttention") {
        ctx = g.op("MultiHeadAttention", [q, k, val, bias, mask32], { num_heads: nh }, undefined, MS);
      } else {
        const heads = (t: Value, perm: number[]) => transpose(reshape(t, [0, 0, nh, dh]), perm);
        const scores = add(mul(matmul(heads(q, [0, 2, 1, 3]), heads(k, [0, 2, 3, 1])), g.constF(1 / Math.sqrt(dh))), maskBias);
        ctx = reshape(transpose(matmul(softmax(scores), heads(val, [0, 2, 1, 3])), [0, 2, 1, 3]), [0, 0, H]);
      }
    }
    const a = denseAddLn(ctx, L.attnOut, x, n.attnNorm);
    x = denseAddLn(gelu(a, L.inter), L.out, a, n.outNorm);
  }
  g.output(x, "last_hidden_state");
  return g.encode();
}
