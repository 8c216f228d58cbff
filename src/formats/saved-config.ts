import { z } from "zod";

/**
 * The envelope AdapterHub writes around every saved config
 * (adapter_config.json, head_config.json, adapter_fusion_config.json): the
 * config itself, the saved name, and what the adapter was trained on.
 */
export const SavedConfig = z.looseObject({
  config: z.record(z.string(), z.unknown()),
  name: z.string().min(1),
  hidden_size: z.number().int().positive().nullish(),
  model_type: z.string().nullish(),
  model_name: z.string().nullish(),
});

/** What a saved config says about the base model it was trained on (null where it says nothing). */
export const trainedOn = (env: z.infer<typeof SavedConfig>) => ({
  hiddenSize: env.hidden_size ?? null,
  modelType: env.model_type ?? null,
  modelName: env.model_name || null,
});
