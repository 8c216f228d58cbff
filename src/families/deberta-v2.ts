import { z } from "zod";
import { BERT_EMBEDDINGS, BertLikeConfig, bertLayer, bertLikeFields, checked, type AttentionInputs, type Family, type ModelConfig } from "./family.ts";
import type { GraphBuilder, Value } from "../graph/onnx-builder.ts";
import { add, concat, gather, matmul, reshape, scale, sub, transpose, unsqueeze } from "../graph/ops.ts";

// DeBERTa-v2 and -v3 (model_type "deberta-v2"): BERT's post-LN blocks and
// names (query_proj, key_proj, value_proj; AdapterHub's adapters in
// attention.output and output, as in BERT) with disentangled attention:
// besides q·k, each query scores the embedding of its relative distance to
// each key (c2p) and each key the distance's embedding seen from the query
// (p2c), all divided by sqrt(head size × (1 + number of those terms)).
// Distances are bucketed logarithmically beyond position_buckets / 2
// (position_buckets <= 0: no buckets, distances clamp at
// max_relative_positions). The relative embeddings may be LayerNormed
// (norm_rel_ebd "layer_norm") and projected by the layer's own query/key
// projections (share_att_key, LoRA included as in the library) or by
// pos_query_proj / pos_key_proj. Absolute positions are optional
// (position_biased_input), token types too (type_vocab_size 0), and tokens
// may be embedded narrower and projected (embedding_size, embed_proj).
// All as transformers 4.26's modeling_deberta_v2.py, which AdapterHub 3.2.1
// runs.

const Config = BertLikeConfig.extend({
  model_type: z.literal("deberta-v2"),
  hidden_act: z.string().default("gelu"),
  layer_norm_eps: z.number().positive().default(1e-7),
  max_position_embeddings: z.number().int().positive().default(512),
  type_vocab_size: z.number().int().nonnegative().default(0),
  pad_token_id: z.number().int().nonnegative().nullable().default(0),
  embedding_size: z.number().int().positive().nullish(),
  relative_attention: z.boolean().default(false),
  max_relative_positions: z.number().int().default(-1),
  position_buckets: z.number().int().default(-1),
  position_biased_input: z.boolean().default(true),
  // a string "p2c|c2p" in older configs, as DebertaV2Config accepts
  pos_att_type: z.union([z.array(z.string()), z.string()]).nullish(),
  share_att_key: z.boolean().default(false),
  norm_rel_ebd: z.string().default("none"),
  conv_kernel_size: z.number().int().default(0),
  attention_head_size: z.number().int().positive().nullish(),
});

interface DebertaOptions {
  relative: boolean;
  c2p: boolean;
  p2c: boolean;
  shareAttKey: boolean;
  /** att_span: relative distances run from -span to span - 1 after bucketing; the embedding table has 2·span rows */
  span: number;
  /** position_buckets (<= 0: none) and max_relative_positions, as the bucketing reads them */
  buckets: number;
  maxRelative: number;
  normRel: boolean;
  positions: boolean;
  types: boolean;
  project: boolean;
}

const optionsOf = (c: ModelConfig) => c.options as DebertaOptions;

export const deberta_v2: Family = {
  name: "deberta-v2",
  modelTypes: ["deberta-v2"],
  parseConfig(json) {
    const c = Config.parse(json);
    if (c.conv_kernel_size > 0) throw new Error("conv_kernel_size > 0 (DeBERTa-v2's convolution after the first layer) is not supported");
    if (c.attention_head_size != null && c.attention_head_size * c.num_attention_heads !== c.hidden_size) {
      throw new Error("attention_head_size × num_attention_heads must equal hidden_size");
    }
    const types = typeof c.pos_att_type === "string" ? c.pos_att_type.toLowerCase().split("|").map((s) => s.trim()) : (c.pos_att_type ?? []);
    const maxRelative = c.max_relative_positions < 1 ? c.max_position_embeddings : c.max_relative_positions;
    const E = c.embedding_size ?? c.hidden_size;
    const options: DebertaOptions = {
      relative: c.relative_attention,
      c2p: types.includes("c2p"),
      p2c: types.includes("p2c"),
      shareAttKey: c.share_att_key,
      span: c.position_buckets > 0 ? c.position_buckets : maxRelative,
      buckets: c.position_buckets,
      maxRelative,
      normRel: c.norm_rel_ebd.toLowerCase().split("|").map((s) => s.trim()).includes("layer_norm"),
      positions: c.position_biased_input,
      types: c.type_vocab_size > 0,
      project: E !== c.hidden_size,
    };
    return checked({
      ...bertLikeFields(c, "deberta-v2", 0),
      embeddingSize: E,
      options,
    });
  },
  weightPrefixes: ["", "deberta.", "model."],
  roots: ["embeddings", "encoder"],
  embeddings: BERT_EMBEDDINGS,
  embeddingsOf(c) {
    const o = optionsOf(c);
    return {
      ...deberta_v2.embeddings,
      position: o.positions ? "embeddings.position_embeddings" : null,
      tokenType: o.types ? "embeddings.token_type_embeddings" : null,
      projectBeforeNorm: o.project ? "embeddings.embed_proj" : null,
    };
  },
  extraWeights(c) {
    const o = optionsOf(c);
    const H = c.hidden;
    if (!o.relative) return [];
    const out: [string, number[]][] = [["encoder.rel_embeddings.weight", [2 * o.span, H]]];
    if (o.normRel) out.push(["encoder.LayerNorm.weight", [H]], ["encoder.LayerNorm.bias", [H]]);
    if (!o.shareAttKey) {
      for (let l = 0; l < c.layers; l++) {
        for (const [on, proj] of [[o.c2p, "pos_key_proj"], [o.p2c, "pos_query_proj"]] as const) {
          if (on) out.push([`encoder.layer.${l}.attention.self.${proj}.weight`, [H, H]], [`encoder.layer.${l}.attention.self.${proj}.bias`, [H]]);
        }
      }
    }
    return out;
  },
  layer(l) {
    const p = `encoder.layer.${l}`;
    const names = bertLayer(l);
    return {
      ...names,
      linear: { ...names.linear, q: `${p}.attention.self.query_proj`, k: `${p}.attention.self.key_proj`, v: `${p}.attention.self.value_proj` },
    };
  },
  pooler: null,
  adapterModule: (l, loc) => (loc === "mh" ? `encoder.layer.${l}.attention.output` : loc === "out" ? `encoder.layer.${l}.output` : null),
  encoder: {
    zeroPadding: true,
    attention(g, w, c, x) {
      const o = optionsOf(c);
      const nh = c.heads;
      const dh = c.hidden / nh;
      const factor = 1 + Number(o.c2p) + Number(o.p2c);
      const s = 1 / Math.sqrt(dh * factor);
      if (!o.relative || factor === 1) return () => ({ scale: s, bias: null });

      // Once per graph: the relative embeddings and each (query, key) pair's row in them.
      let rel = unsqueeze(w.W("encoder.rel_embeddings.weight"), [0]);
      if (o.normRel) rel = w.ln("encoder.LayerNorm")(rel);
      const T = gather(g.op("Shape", [x]), g.constI(1));
      const { index, indexT } = relativeIndex(g, T, o, c.maxPositions);
      const heads = (v: Value) => transpose(reshape(v, [0, 0, nh, dh]), [0, 2, 1, 3]);
      const proj = (l: number, name: string, own: "q" | "k", a: AttentionInputs) => {
        if (o.shareAttKey) return heads(a.linear(own, rel));
        const p = `encoder.layer.${l}.attention.self.${name}`;
        return heads(add(matmul(rel, w.WT(`${p}.weight`)), w.W(`${p}.bias`)));
      };

      return (l, a) => {
        // [N, heads, T, T]: the shape every gathered score takes
        const shape = concat([g.op("Slice", [g.op("Shape", [a.q]), g.constI([0]), g.constI([3])]), unsqueeze(T, [0])], 0);
        let bias: Value | null = null;
        if (o.c2p) {
          // c2p[i, j] = q_i · posK[index(i, j)]
          const all = matmul(a.q, transpose(proj(l, "pos_key_proj", "k", a), [0, 1, 3, 2]));
          bias = g.op("GatherElements", [all, g.op("Expand", [index, shape])], { axis: 3 });
        }
        if (o.p2c) {
          // p2c[i, j] = k_j · posQ[index(i, j)], gathered per key and transposed back
          const all = matmul(a.k, transpose(proj(l, "pos_query_proj", "q", a), [0, 1, 3, 2]));
          const p2c = transpose(g.op("GatherElements", [all, g.op("Expand", [indexT, shape])], { axis: 3 }), [0, 1, 3, 2]);
          bias = bias ? add(bias, p2c) : p2c;
        }
        return { scale: s, bias: scale(bias!, s) };
      };
    },
  },
  tokenTypes: true,
  positions: (ids) => ids.map((_, t) => t),
  padPosition: (t) => t,
  maxTokens: (c) => c.maxPositions,
};

/**
 * transformers' make_log_bucket_position for one distance, in float32 as
 * torch computes it: distances within bucketSize / 2 stay, farther ones
 * shrink logarithmically so that maxPosition - 1 lands on bucketSize - 1.
 */
export function logBucket(rel: number, bucketSize: number, maxPosition: number): number {
  const f = Math.fround;
  const mid = Math.floor(bucketSize / 2);
  const abs = rel < mid && rel > -mid ? mid - 1 : Math.abs(rel);
  if (abs <= mid) return rel;
  const ratio = f(f(Math.log(f(abs / mid))) / f(Math.log(f((maxPosition - 1) / mid))));
  return (Math.ceil(f(ratio * (mid - 1))) + mid) * Math.sign(rel);
}

/** The row of the relative embeddings a query at distance `rel` from its key reads: clamp(bucket(rel) + span, 0, 2·span - 1). */
export function relativeRow(rel: number, o: Pick<DebertaOptions, "buckets" | "maxRelative" | "span">): number {
  const r = o.buckets > 0 && o.maxRelative > 0 ? logBucket(rel, o.buckets, o.maxRelative) : rel;
  return Math.min(Math.max(r + o.span, 0), 2 * o.span - 1);
}

/** [T, T] rows of the relative embeddings for (query i, key j) and its transpose, from a table over every distance a row can have. */
function relativeIndex(g: GraphBuilder, T: Value, o: DebertaOptions, maxTokens: number): { index: Value; indexT: Value } {
  const table = Array.from({ length: 2 * maxTokens - 1 }, (_, i) => relativeRow(i - (maxTokens - 1), o));
  const r = g.op("Range", [g.constI(0), T, g.constI(1)]);
  const at = (a: Value, b: Value) => gather(g.constI(table), add(sub(a, b), g.constI(maxTokens - 1)));
  const rows = unsqueeze(r, [1]);
  const cols = unsqueeze(r, [0]);
  return { index: at(rows, cols), indexT: at(cols, rows) };
}
