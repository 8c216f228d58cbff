import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { readSafetensors, writeSafetensors } from "../../src/formats/safetensors.ts";
import type { StateDict } from "../../src/core/tensor.ts";

/** Re-saves an AdapterHub LoRA folder (`dir`) in PEFT's save_pretrained layout into `out`; `extra` goes into adapter_config.json. */
export function toPeft(dir: string, out: string, extra: Record<string, unknown> = {}) {
  const cfg = JSON.parse(readFileSync(path.join(dir, "adapter_config.json"), "utf8")).config;
  const src = readSafetensors(new Uint8Array(readFileSync(path.join(dir, "adapter.safetensors"))));
  const dict: StateDict = new Map();
  for (const [k, t] of src) {
    const m = /encoder\.layer\.(\d+)\.(.+)\.loras\.[^.]+\.lora_(A|B)$/.exec(k);
    if (m) dict.set(`base_model.model.bert.encoder.layer.${m[1]}.${m[2]}.lora_${m[3]}.weight`, t);
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, "adapter_model.safetensors"), writeSafetensors(dict));
  const names: Record<string, string> = { q: "query", k: "key", v: "value" };
  writeFileSync(
    path.join(out, "adapter_config.json"),
    JSON.stringify({
      peft_type: "LORA", task_type: "FEATURE_EXTRACTION", r: cfg.r, lora_alpha: cfg.alpha, lora_dropout: 0.0, bias: "none",
      target_modules: cfg.attn_matrices.map((m: string) => names[m]), fan_in_fan_out: false, modules_to_save: null,
      base_model_name_or_path: "bert-tiny", ...extra,
    }),
  );
}
