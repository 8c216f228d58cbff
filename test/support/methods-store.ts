import { readFileSync } from "node:fs";
import path from "node:path";
import { parseAdapterConfig, readAdapterParts } from "../../src/methods/index.ts";
import { familyFor, parseModelConfig } from "../../src/families/index.ts";
import { readSafetensors } from "../../src/formats/safetensors.ts";
import type { StateDict } from "../../src/core/tensor.ts";
import { LOCAL_FIXTURES, METHODS_STORE } from "./paths.ts";

// The BERT model and adapters of the methods store (test/fixtures/methods), read as the server reads them.

export const METHODS_DIR = path.join(LOCAL_FIXTURES, METHODS_STORE);
const json = (p: string) => JSON.parse(readFileSync(path.join(METHODS_DIR, p), "utf8"));

export const bertM = parseModelConfig(json("models/bert-m/config.json"));
export const bertFamily = familyFor("bert");

export const adapterJson = (name: string) => json(`adapters/${name}/adapter_config.json`);
export const adapterDict = (name: string): StateDict => readSafetensors(new Uint8Array(readFileSync(path.join(METHODS_DIR, `adapters/${name}/adapter.safetensors`))));

/** An adapter's parts; `config` replaces its adapter_config.json's config, `dict` its weights. */
export function loadParts(name: string, opts: { config?: Record<string, unknown>; dict?: StateDict } = {}) {
  const j = adapterJson(name);
  const file = parseAdapterConfig(opts.config ? { ...j, config: opts.config } : j);
  return readAdapterParts(file, opts.dict ?? adapterDict(name), bertFamily, bertM);
}
