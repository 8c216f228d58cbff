import type { Kind } from "../store/store.ts";

// Which file names say what a saved folder is (as AdapterHub, PEFT and
// transformers save them). The kinds themselves live in src/store/store.ts.

/** Weight files the server reads, preferred first (mirrors the catalog). */
export const WEIGHT_FILES = {
  model: ["model.safetensors", "pytorch_model.bin"],
  adapter: ["adapter.safetensors", "pytorch_adapter.bin", "adapter_model.safetensors", "adapter_model.bin"],
  head: ["model_head.safetensors", "pytorch_model_head.bin"],
  fusion: ["model_adapter_fusion.safetensors", "pytorch_model_adapter_fusion.bin"],
};

/** JSON files that make a folder what it is; they are uploaded after the weights they describe. */
export const CONFIG_FILES = new Set(["config.json", "adapter_config.json", "head_config.json", "adapter_fusion_config.json", "fusion.json"]);

export const isWeightFile = (name: string) => /\.(safetensors|bin|pt|pth)$/i.test(name);

/** The kind a folder's file names say it is, or null. A fusion folder may hold a head_config.json, so it is checked first. */
export function detectKind(files: string[]): Kind | null {
  const has = (f: string) => files.includes(f);
  if (has("adapter_fusion_config.json")) return "fusion";
  if (has("adapter_config.json")) return "adapter";
  if (has("config.json") && WEIGHT_FILES.model.some(has)) return "model";
  return null;
}
