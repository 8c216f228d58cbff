import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeSafetensors } from "../src/formats/safetensors.ts";
import type { StateDict } from "../src/core/tensor.ts";
import { rng } from "../test/support/random-store.ts";

// A store of random weights for the generation benchmark (bench/generate.ts): a
// translation model with BART's architecture (model_type "bart": AdapterHub has
// no Marian adapters) at Marian / opus-mt size by default, and Bapna & Firat
// adapters (AdapterHub 3.2.1's layout, as test/fixtures/seq2seq/adapters/bart-medical:
// LayerNorm, down, ReLU, up after each layer's FFN, in both stacks).
//
//   models/<model>/config.json, model.safetensors, tokenizer.json (bart-s2s's tiny byte-level BPE)
//   adapters/a0 .. a<n-1>/adapter_config.json, adapter.safetensors
//
// Speed does not depend on the values, but two details matter for a benchmark:
// * final_logits_bias of EOS is -1e4, so neither greedy nor beam search ever ends a
//   row early: every row generates exactly max_new_tokens tokens on both sides;
// * lm_head.weight is model.shared.weight (the same values, as BART ties them).

export interface Seq2SeqStoreOptions {
  model: string;
  dModel: number;
  encoderLayers: number;
  decoderLayers: number;
  heads: number;
  ffn: number;
  vocab: number;
  maxPositions: number;
  adapters: number;
  reductionFactor: number;
  seed: number;
}

export const MARIAN_SIZE: Seq2SeqStoreOptions = {
  model: "opus-size", dModel: 512, encoderLayers: 6, decoderLayers: 6, heads: 8, ffn: 2048, vocab: 32000, maxPositions: 512, adapters: 8, reductionFactor: 16, seed: 11,
};
export const QUICK_SIZE: Seq2SeqStoreOptions = {
  model: "tiny-s2s", dModel: 64, encoderLayers: 2, decoderLayers: 2, heads: 4, ffn: 256, vocab: 1024, maxPositions: 128, adapters: 8, reductionFactor: 4, seed: 11,
};

export const EOS = 2;
const TOKENIZER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../test/fixtures/seq2seq/models/bart-s2s/tokenizer.json");
const TOKENIZER_VOCAB = 715;


/** Writes the store; returns the adapter names. */
export function writeSeq2SeqStore(dir: string, o: Seq2SeqStoreOptions): string[] {
  if (o.vocab < TOKENIZER_VOCAB) throw new Error(`vocab ${o.vocab} is smaller than the tokenizer's ${TOKENIZER_VOCAB}`);
  const rand = rng(o.seed);
  const t = (shape: number[], scale = 0.05, offset = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = offset + (rand() * 2 - 1) * scale;
    return { shape, data };
  };
  const D = o.dModel;
  const F = o.ffn;
  const modelDir = path.join(dir, "models", o.model);
  mkdirSync(modelDir, { recursive: true });
  writeFileSync(
    path.join(modelDir, "config.json"),
    JSON.stringify({
      model_type: "bart", architectures: ["BartForConditionalGeneration"], is_encoder_decoder: true,
      d_model: D, encoder_layers: o.encoderLayers, decoder_layers: o.decoderLayers, num_hidden_layers: o.encoderLayers,
      encoder_attention_heads: o.heads, decoder_attention_heads: o.heads, encoder_ffn_dim: F, decoder_ffn_dim: F,
      activation_function: "gelu", vocab_size: o.vocab, max_position_embeddings: o.maxPositions, scale_embedding: false,
      dropout: 0, attention_dropout: 0, activation_dropout: 0, encoder_layerdrop: 0, decoder_layerdrop: 0, init_std: 0.02, use_cache: true,
      pad_token_id: 1, bos_token_id: 0, eos_token_id: EOS, decoder_start_token_id: EOS, forced_bos_token_id: null, forced_eos_token_id: null,
      no_repeat_ngram_size: 0, num_beams: 1, early_stopping: false, length_penalty: 1.0, min_length: 0, max_length: 200,
      transformers_version: "4.26.1",
    }),
  );
  copyFileSync(TOKENIZER, path.join(modelDir, "tokenizer.json"));

  const base: StateDict = new Map();
  const shared = t([o.vocab, D], 0.1);
  base.set("model.shared.weight", shared);
  base.set("lm_head.weight", shared);
  const bias = t([1, o.vocab], 0.1);
  bias.data[EOS] = -1e4;
  base.set("final_logits_bias", bias);
  const attention = (p: string) => {
    for (const m of ["q_proj", "k_proj", "v_proj", "out_proj"]) {
      base.set(`${p}.${m}.weight`, t([D, D]));
      base.set(`${p}.${m}.bias`, t([D], 0.02));
    }
  };
  const norm = (p: string) => {
    base.set(`${p}.weight`, t([D], 0.1, 1));
    base.set(`${p}.bias`, t([D], 0.1));
  };
  for (const stack of ["encoder", "decoder"] as const) {
    const s = `model.${stack}`;
    base.set(`${s}.embed_positions.weight`, t([o.maxPositions + 2, D], 0.1)); // BART's learned positions are offset by 2
    norm(`${s}.layernorm_embedding`);
    const layers = stack === "encoder" ? o.encoderLayers : o.decoderLayers;
    for (let l = 0; l < layers; l++) {
      const p = `${s}.layers.${l}`;
      attention(`${p}.self_attn`);
      norm(`${p}.self_attn_layer_norm`);
      if (stack === "decoder") {
        attention(`${p}.encoder_attn`);
        norm(`${p}.encoder_attn_layer_norm`);
      }
      base.set(`${p}.fc1.weight`, t([F, D]));
      base.set(`${p}.fc1.bias`, t([F], 0.02));
      base.set(`${p}.fc2.weight`, t([D, F], 0.025));
      base.set(`${p}.fc2.bias`, t([D], 0.02));
      norm(`${p}.final_layer_norm`);
    }
  }
  writeFileSync(path.join(modelDir, "model.safetensors"), writeSafetensors(base, { format: "pt" }));

  // Bapna & Firat: AdapterHub 3.2.1's bottleneck with ln_before (its LayerNorm is registered twice, as
  // adapter_norm_before and as adapter_down.0, so both names are saved with the same values)
  const r = Math.max(1, Math.floor(D / o.reductionFactor));
  const config = {
    adapter_residual_before_ln: false, cross_adapter: false, factorized_phm_W: true, factorized_phm_rule: false, hypercomplex_nonlinearity: "glorot-uniform",
    init_weights: "bert", inv_adapter: null, inv_adapter_reduction_factor: null, is_parallel: false, learn_phm: true, leave_out: [], ln_after: false,
    ln_before: true, mh_adapter: false, non_linearity: "relu", original_ln_after: true, original_ln_before: true, output_adapter: true, phm_bias: true,
    phm_c_init: "normal", phm_dim: 4, phm_init_range: 0.0001, phm_layer: false, phm_rank: 1, reduction_factor: o.reductionFactor, residual_before_ln: true,
    scaling: 1.0, shared_W_phm: false, shared_phm_rule: true, use_gating: false,
  };
  const names = Array.from({ length: o.adapters }, (_, i) => `a${i}`);
  for (const name of names) {
    const a = path.join(dir, "adapters", name);
    mkdirSync(a, { recursive: true });
    const d: StateDict = new Map();
    for (const stack of ["encoder", "decoder"] as const) {
      const layers = stack === "encoder" ? o.encoderLayers : o.decoderLayers;
      for (let l = 0; l < layers; l++) {
        const p = `model.${stack}.layers.${l}.output_adapters.adapters.${name}`;
        const lnW = t([D], 0.1, 1);
        const lnB = t([D], 0.1);
        d.set(`${p}.adapter_norm_before.weight`, lnW);
        d.set(`${p}.adapter_norm_before.bias`, lnB);
        d.set(`${p}.adapter_down.0.weight`, lnW);
        d.set(`${p}.adapter_down.0.bias`, lnB);
        d.set(`${p}.adapter_down.1.weight`, t([r, D], 0.1));
        d.set(`${p}.adapter_down.1.bias`, t([r], 0.05));
        d.set(`${p}.adapter_up.weight`, t([D, r], 0.1));
        d.set(`${p}.adapter_up.bias`, t([D], 0.05));
      }
    }
    writeFileSync(
      path.join(a, "adapter_config.json"),
      // AdapterHub tells a float scaling from "learned" by type: keep 1.0 a float in JSON
      JSON.stringify({ config, hidden_size: D, model_class: "BartForConditionalGeneration", model_name: null, model_type: "bart", name, version: "3.2.1" }, null, 2)
        .replace('"scaling": 1,', '"scaling": 1.0,'),
    );
    writeFileSync(path.join(a, "adapter.safetensors"), writeSafetensors(d, { format: "pt" }));
  }
  return names;
}
