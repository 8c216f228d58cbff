import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { writeSafetensors } from "../../src/formats/safetensors.ts";
import type { StateDict } from "../../src/core/tensor.ts";
import { ADAPTERHUB_FIXTURES } from "./paths.ts";

// Stores of random weights in the AdapterHub layout, for tests that need a
// bigger model than bert-tiny and for benchmarks (numbers don't matter for
// speed). The tokenizer is bert-tiny's WordPiece, so vocab ≥ 351.

export interface RandomStoreOptions {
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPositions: number;
  /** Pfeiffer adapters named a0, a1, ... with a 2-label classification head each */
  adapters: number;
  reductionFactor?: number;
  /** a dynamic fusion "fusion" of the first `fuse` adapters */
  fuse?: number;
  /** more dynamic fusions: each of the first `adapters` adapters */
  fusions?: { name: string; adapters: number }[];
  /** with AdapterHub's default configs, each with a head: "prefix" (prefix_tuning: 30 positions, MLP 512) and "compacter" (Houlsby placement, reduction 32, phm_dim 4) */
  methods?: boolean;
  seed?: number;
}

export function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function writeRandomStore(dir: string, o: RandomStoreOptions): void {
  const rand = rng(o.seed ?? 1);
  const t = (shape: number[], scale = 0.05, offset = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = offset + (rand() * 2 - 1) * scale;
    return { shape, data };
  };
  const H = o.hidden;
  const vocab = 351;
  const model = `models/random`;
  mkdirSync(path.join(dir, model), { recursive: true });
  writeFileSync(
    path.join(dir, model, "config.json"),
    JSON.stringify({
      model_type: "bert", hidden_size: H, num_hidden_layers: o.layers, num_attention_heads: o.heads, intermediate_size: o.intermediate,
      hidden_act: "gelu", layer_norm_eps: 1e-12, vocab_size: vocab, max_position_embeddings: o.maxPositions, type_vocab_size: 2, pad_token_id: 0,
    }),
  );
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(path.join(ADAPTERHUB_FIXTURES, "models/bert-tiny", f), path.join(dir, model, f));
  const base: StateDict = new Map();
  const put = (d: StateDict, k: string, v: ReturnType<typeof t>) => d.set(k, v);
  put(base, "embeddings.word_embeddings.weight", t([vocab, H], 0.5));
  put(base, "embeddings.position_embeddings.weight", t([o.maxPositions, H], 0.1));
  put(base, "embeddings.token_type_embeddings.weight", t([2, H], 0.1));
  put(base, "embeddings.LayerNorm.weight", t([H], 0.1, 1));
  put(base, "embeddings.LayerNorm.bias", t([H], 0.1));
  for (let l = 0; l < o.layers; l++) {
    const p = `encoder.layer.${l}`;
    for (const m of ["query", "key", "value"]) {
      put(base, `${p}.attention.self.${m}.weight`, t([H, H]));
      put(base, `${p}.attention.self.${m}.bias`, t([H]));
    }
    put(base, `${p}.attention.output.dense.weight`, t([H, H]));
    put(base, `${p}.attention.output.dense.bias`, t([H]));
    put(base, `${p}.attention.output.LayerNorm.weight`, t([H], 0.1, 1));
    put(base, `${p}.attention.output.LayerNorm.bias`, t([H], 0.1));
    put(base, `${p}.intermediate.dense.weight`, t([o.intermediate, H]));
    put(base, `${p}.intermediate.dense.bias`, t([o.intermediate]));
    put(base, `${p}.output.dense.weight`, t([H, o.intermediate]));
    put(base, `${p}.output.dense.bias`, t([H]));
    put(base, `${p}.output.LayerNorm.weight`, t([H], 0.1, 1));
    put(base, `${p}.output.LayerNorm.bias`, t([H], 0.1));
  }
  put(base, "pooler.dense.weight", t([H, H]));
  put(base, "pooler.dense.bias", t([H]));
  writeFileSync(path.join(dir, model, "model.safetensors"), writeSafetensors(base));

  const r = Math.max(1, Math.floor(H / (o.reductionFactor ?? 16)));
  const envelope = (name: string, config: object) => JSON.stringify({ config, hidden_size: H, model_class: "BertAdapterModel", model_name: null, model_type: "bert", name, version: "3.2.1" });
  const pfeiffer = {
    adapter_residual_before_ln: false, inv_adapter: null, is_parallel: false, leave_out: [], ln_after: false, ln_before: false, mh_adapter: false,
    non_linearity: "relu", original_ln_after: true, original_ln_before: true, output_adapter: true, reduction_factor: o.reductionFactor ?? 16,
    residual_before_ln: true, scaling: 1.0, use_gating: false, phm_layer: false, cross_adapter: false, init_weights: "bert",
  };
  const head = (name: string) => {
    const d: StateDict = new Map();
    put(d, `heads.${name}.1.weight`, t([H, H]));
    put(d, `heads.${name}.1.bias`, t([H]));
    put(d, `heads.${name}.4.weight`, t([2, H], 0.5));
    put(d, `heads.${name}.4.bias`, t([2]));
    return d;
  };
  const headConfig = (name: string) =>
    envelope(name, { head_type: "classification", num_labels: 2, layers: 2, activation_function: "tanh", label2id: { neg: 0, pos: 1 }, use_pooler: false, bias: true });
  const names = Array.from({ length: o.adapters }, (_, i) => `a${i}`);
  for (const name of names) {
    const a = path.join(dir, "adapters", name);
    mkdirSync(a, { recursive: true });
    const d: StateDict = new Map();
    for (let l = 0; l < o.layers; l++) {
      const p = `bert.encoder.layer.${l}.output.adapters.${name}`;
      put(d, `${p}.adapter_down.0.weight`, t([r, H], 0.2));
      put(d, `${p}.adapter_down.0.bias`, t([r], 0.1));
      put(d, `${p}.adapter_up.weight`, t([H, r], 0.2));
      put(d, `${p}.adapter_up.bias`, t([H], 0.1));
    }
    writeFileSync(path.join(a, "adapter_config.json"), envelope(name, pfeiffer));
    writeFileSync(path.join(a, "adapter.safetensors"), writeSafetensors(d));
    writeFileSync(path.join(a, "head_config.json"), headConfig(name));
    writeFileSync(path.join(a, "model_head.safetensors"), writeSafetensors(head(name)));
  }
  if (o.methods) {
    const adapter = (name: string, config: object, d: StateDict) => {
      const a = path.join(dir, "adapters", name);
      mkdirSync(a, { recursive: true });
      writeFileSync(path.join(a, "adapter_config.json"), envelope(name, config));
      writeFileSync(path.join(a, "adapter.safetensors"), writeSafetensors(d));
      writeFileSync(path.join(a, "head_config.json"), headConfig(name));
      writeFileSync(path.join(a, "model_head.safetensors"), writeSafetensors(head(name)));
    };
    const P = 30;
    const mlp = 512;
    const pre: StateDict = new Map();
    const root = "bert.prefix_tuning.prefix_tunings.prefix.self_prefix";
    put(pre, `${root}.wte.weight`, t([P, H], 1));
    put(pre, `${root}.control_trans.0.weight`, t([mlp, H], 0.1));
    put(pre, `${root}.control_trans.0.bias`, t([mlp], 0.1));
    put(pre, `${root}.control_trans.2.weight`, t([o.layers * 2 * H, mlp], 0.1));
    put(pre, `${root}.control_trans.2.bias`, t([o.layers * 2 * H], 0.1));
    adapter("prefix", { architecture: "prefix_tuning", encoder_prefix: true, cross_prefix: true, leave_out: [], flat: false, prefix_length: P, bottleneck_size: mlp, non_linearity: "tanh", dropout: 0, use_gating: false, shared_gating: true }, pre);
    const n = 4;
    const rc = Math.max(n, Math.floor(H / 32 / n) * n);
    const phm: StateDict = new Map();
    for (let l = 0; l < o.layers; l++) {
      for (const at of [`bert.encoder.layer.${l}.attention.output.adapters.compacter`, `bert.encoder.layer.${l}.output.adapters.compacter`]) {
        for (const [m, i, out] of [["adapter_down.0", H, rc], ["adapter_up", rc, H]] as const) {
          put(phm, `${at}.${m}.phm_rule`, t([n, n, n], 0.5));
          put(phm, `${at}.${m}.W_left`, t([n, i / n, 1], 0.5));
          put(phm, `${at}.${m}.W_right`, t([n, 1, out / n], 0.5));
          put(phm, `${at}.${m}.b`, t([out], 0.1));
        }
      }
    }
    adapter("compacter", {
      ...pfeiffer, mh_adapter: true, original_ln_before: false, reduction_factor: H / rc, non_linearity: "gelu", phm_layer: true, phm_dim: n, phm_rank: 1,
      factorized_phm_W: true, factorized_phm_rule: false, shared_phm_rule: false, shared_W_phm: false, phm_bias: true, learn_phm: true,
      phm_c_init: "normal", phm_init_range: 0.0001, hypercomplex_nonlinearity: "glorot-uniform",
    }, phm);
  }
  const fusions = [...(o.fuse ? [{ name: "fusion", adapters: o.fuse }] : []), ...(o.fusions ?? [])];
  for (const fusion of fusions) {
    const fused = names.slice(0, fusion.adapters);
    const saved = fused.join(",");
    const f = path.join(dir, "fusions", fusion.name);
    mkdirSync(f, { recursive: true });
    const d: StateDict = new Map();
    for (let l = 0; l < o.layers; l++) {
      const p = `bert.encoder.layer.${l}.output.adapter_fusion_layer.${saved}`;
      for (const m of ["query", "key"]) {
        put(d, `${p}.${m}.weight`, t([H, H]));
        put(d, `${p}.${m}.bias`, t([H]));
      }
      put(d, `${p}.value.weight`, t([H, H]));
    }
    writeFileSync(
      path.join(f, "adapter_fusion_config.json"),
      envelope(saved, { key: true, query: true, query_before_ln: false, regularization: true, residual_before: false, temperature: false, value: true, value_before_softmax: true, value_initialized: true }),
    );
    writeFileSync(path.join(f, "model_adapter_fusion.safetensors"), writeSafetensors(d));
    writeFileSync(path.join(f, "fusion.json"), JSON.stringify({ adapters: fused }));
    writeFileSync(path.join(f, "head_config.json"), headConfig(saved));
    writeFileSync(path.join(f, "model_head.safetensors"), writeSafetensors(head(saved)));
  }
}
