import { bert } from "./bert.ts";
import { distilbert } from "./distilbert.ts";
import { roberta } from "./roberta.ts";
import { albert } from "./albert.ts";
import { deberta_v2 } from "./deberta-v2.ts";
import { bart } from "./bart.ts";
import { mbart } from "./mbart.ts";
import { marian } from "./marian.ts";
import { t5 } from "./t5.ts";
import type { Family, ModelConfig } from "./family.ts";

// The registry of model families: adding one is a module beside this file
// and a line here.

export const FAMILIES: Family[] = [bert, roberta, distilbert, albert, deberta_v2, bart, mbart, marian, t5];

const byModelType = new Map(FAMILIES.flatMap((f) => f.modelTypes.map((t) => [t, f] as const)));

export const MODEL_TYPES = [...byModelType.keys()];

export function familyFor(modelType: string): Family {
  const f = byModelType.get(modelType);
  if (!f) throw new Error(`model_type "${modelType}" is not supported (supported: ${MODEL_TYPES.join(", ")})`);
  return f;
}

export const familyOf = (c: ModelConfig): Family => familyFor(c.modelType);

/** Reads a Hugging Face config.json; anything polyhead cannot build is refused here. */
export function parseModelConfig(json: unknown): ModelConfig {
  const type = (json as { model_type?: unknown } | null)?.model_type;
  if (typeof type !== "string") throw new Error("config.json has no model_type");
  return familyFor(type).parseConfig(json as Record<string, unknown>);
}

export { LINEAR_TARGETS, LOCATIONS, LOCATION_NAMES } from "./family.ts";
export type { Family, ModelConfig, LinearTarget, Location, Seq2SeqConfig, Seq2SeqShape } from "./family.ts";
