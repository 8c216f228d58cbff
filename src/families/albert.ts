import { z } from "zod";
import { BERT_EMBEDDINGS, BertLikeConfig, bertLikeFields, checked, type Family, type ModelConfig } from "./family.ts";

// ALBERT: BERT's post-LN blocks with two twists. Tokens are embedded at
// embedding_size (word + position + type, LayerNorm at that width) and
// projected to the hidden size by encoder.embedding_hidden_mapping_in, after
// the embeddings' hooks (AdapterHub runs invertible adapters before the
// projection). And layers share weights: num_hidden_groups groups of
// inner_group_num layers each; the num_hidden_layers steps run the groups in
// turn (step i runs group floor(i · groups / layers)), each step all of its
// group's layers. AdapterHub numbers the distinct layer modules
// (group · inner_group_num + j): that is polyhead's layer count, so an
// adapter has one set of weights per distinct module, applied at every step
// that runs it, as the library's shared modules do. AlbertAttention hands
// its adapter layer (input, attention output) where BERT hands (attention
// output, input): served the same way (swappedAdapterInputs).

const Config = BertLikeConfig.extend({
  model_type: z.literal("albert"),
  embedding_size: z.number().int().positive().default(128),
  num_hidden_groups: z.number().int().positive().default(1),
  inner_group_num: z.number().int().positive().default(1),
  hidden_act: z.string().default("gelu_new"),
  pad_token_id: z.number().int().nonnegative().nullable().default(0),
});

interface AlbertOptions {
  /** num_hidden_layers: how many group steps run */
  steps: number;
  groups: number;
  inner: number;
}

const optionsOf = (c: ModelConfig) => c.options as AlbertOptions;

const layerPath = (l: number, c: ModelConfig) => {
  const { inner } = optionsOf(c);
  return `encoder.albert_layer_groups.${Math.floor(l / inner)}.albert_layers.${l % inner}`;
};

export const albert: Family = {
  name: "albert",
  modelTypes: ["albert"],
  parseConfig(json) {
    const c = Config.parse(json);
    if (c.position_embedding_type !== "absolute") {
      throw new Error(`position_embedding_type "${c.position_embedding_type}" is not supported (only "absolute")`);
    }
    if (c.num_hidden_groups > c.num_hidden_layers) throw new Error("num_hidden_groups must not exceed num_hidden_layers");
    const options: AlbertOptions = { steps: c.num_hidden_layers, groups: c.num_hidden_groups, inner: c.inner_group_num };
    return checked({
      ...bertLikeFields(c, "albert", 0),
      layers: c.num_hidden_groups * c.inner_group_num,
      embeddingSize: c.embedding_size,
      options,
    });
  },
  weightPrefixes: ["", "albert.", "model."],
  roots: ["embeddings", "encoder", "pooler"],
  embeddings: { ...BERT_EMBEDDINGS, projectAfter: "encoder.embedding_hidden_mapping_in" },
  layer(l, c) {
    if (!c) throw new Error("internal: ALBERT layer names need the model's config");
    const p = layerPath(l, c);
    return {
      linear: {
        q: `${p}.attention.query`,
        k: `${p}.attention.key`,
        v: `${p}.attention.value`,
        attnOut: `${p}.attention.dense`,
        inter: `${p}.ffn`,
        out: `${p}.ffn_output`,
      },
      attnNorm: `${p}.attention.LayerNorm`,
      outNorm: `${p}.full_layer_layer_norm`,
    };
  },
  // AlbertModel's pooler is one Linear (then tanh), not BERT's pooler.dense
  pooler: "pooler",
  swappedAdapterInputs: ["mh"],
  adapterModule(l, loc, c) {
    if (!c) throw new Error("internal: ALBERT adapter modules need the model's config");
    if (loc === "mh") return `${layerPath(l, c)}.attention.attention_adapters`;
    if (loc === "out") return `${layerPath(l, c)}.output_adapters`;
    return null;
  },
  encoder: {
    schedule(c) {
      const { steps, groups, inner } = optionsOf(c);
      const order: number[] = [];
      for (let i = 0; i < steps; i++) {
        // transformers: int(i / (num_hidden_layers / num_hidden_groups)), in floating point as written there
        const group = Math.floor(i / (steps / groups));
        for (let j = 0; j < inner; j++) order.push(group * inner + j);
      }
      return order;
    },
  },
  tokenTypes: true,
  positions: (ids) => ids.map((_, t) => t),
  padPosition: (t) => t,
  maxTokens: (c) => c.maxPositions,
};
