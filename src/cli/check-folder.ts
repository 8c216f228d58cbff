import { createHash } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { RefusedError } from "../core/errors.ts";
import path from "node:path";
import { checkKey, NAME_RE } from "../core/names.ts";
import { TextTokenizer } from "../formats/tokenizer.ts";
import { familyFor, parseModelConfig } from "../families/index.ts";
import { baseWeights } from "../families/base-weights.ts";
import { parseAdapterConfig } from "../methods/index.ts";
import { parseFusionConfig } from "../methods/fusion.ts";
import { isModelHead, parseHeadConfig, readHeadWeights } from "../heads/index.ts";
import { readStateDict } from "../formats/state-dict.ts";
import type { StateDict } from "../core/tensor.ts";
import { CONFIG_FILES, detectKind, filesToKeep, fusionListProblem, FUSION_LIST, isWeightFile, KINDS, MANIFEST, WEIGHT_FILES, type Kind } from "../store/layout.ts";
import { parseStoredJson } from "../core/json.ts";

// Everything `polyhead push` checks about a saved folder before a single byte
// goes to the store: what it is, that its configs are ones the server can
// serve, and that every weight file parses with the same readers the server
// uses, so a malformed or hostile file (a pickle calling os.system, a
// safetensors header pointing out of bounds) never reaches the store.

export interface LocalFile {
  name: string;
  path: string;
  size: number;
  sha256: string;
  /** upload order: weights, then other files, then the configs that announce the folder */
  phase: 0 | 1 | 2;
}

export interface CheckedFolder {
  dir: string;
  kind: Kind;
  name: string;
  files: LocalFile[];
  /** notes for the user: files left out and why */
  skipped: string[];
}

export async function checkFolder(dir: string, opts: { kind?: Kind; as?: string } = {}): Promise<CheckedFolder> {
  const refuse = (why: string): never => {
    throw new RefusedError(`${dir}: ${why}`);
  };
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    return refuse(`cannot read the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const skipped: string[] = [];
  const names: string[] = [];
  for (const e of entries) {
    // A previous push's manifest is rewritten, never copied: it would describe other bytes.
    if (e.name === MANIFEST || e.name.startsWith(".")) continue;
    if (!e.isFile()) {
      skipped.push(`${e.name} (not a plain file)`);
      continue;
    }
    try {
      checkKey(e.name);
      names.push(e.name);
    } catch {
      skipped.push(`${e.name} (a name the store cannot hold)`);
    }
  }
  names.sort();

  const kind = opts.kind ?? detectKind(names) ?? refuse("not a saved model, adapter or fusion (no adapter_config.json, adapter_fusion_config.json, or config.json with model weights)");
  if (!KINDS.includes(kind)) refuse(`unknown kind "${kind}"`);
  // Only what the server reads goes up (a transformers folder also carries TF/Flax weights, .bin beside .safetensors).
  const kept = filesToKeep(kind, names);
  for (const s of kept.skipped) skipped.push(`${s.name} (${s.why})`);
  const name = opts.as ?? path.basename(path.resolve(dir));
  if (!NAME_RE.test(name)) refuse(`"${name}" is not a valid name (1-128 letters, digits, '.', '_' or '-', starting with a letter or digit); pick one with --as`);

  const files: LocalFile[] = [];
  const dicts = new Map<string, StateDict>();
  const json = new Map<string, unknown>();
  for (const n of kept.keep) {
    const p = path.join(dir, n);
    const bytes = await readFile(p);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    if (isWeightFile(n)) {
      try {
        dicts.set(n, readStateDict(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), n));
      } catch (e) {
        refuse(`${n} is refused: ${(e as Error).message}`);
      }
    } else if (n.endsWith(".json")) {
      try {
        json.set(n, parseStoredJson(bytes.toString("utf8")));
      } catch (e) {
        refuse(`${n} is not valid JSON: ${(e as Error).message}`);
      }
    }
    files.push({ name: n, path: p, size: bytes.byteLength, sha256, phase: isWeightFile(n) ? 0 : CONFIG_FILES.has(n) ? 2 : 1 });
  }

  const check = <T,>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof RefusedError) throw e;
      return refuse(`${what}: ${(e as Error).message}`);
    }
  };
  const need = (file: string) => json.get(file) ?? refuse(`no ${file}`);
  const weights = (choices: string[]) => {
    const found = choices.find((c) => dicts.has(c)) ?? refuse(`no weights (expected ${choices.join(" or ")})`);
    return dicts.get(found)!;
  };
  const head = (hidden: number | null) => {
    if (!json.has("head_config.json") || isModelHead(json.get("head_config.json"))) return;
    const h = check("head_config.json", () => parseHeadConfig(json.get("head_config.json")));
    const dict = weights(WEIGHT_FILES.head);
    if (hidden !== null) check("head weights", () => readHeadWeights(dict, h, hidden));
  };

  if (kind === "model") {
    const config = check("config.json", () => parseModelConfig(need("config.json")));
    check("model weights", () => baseWeights(weights(WEIGHT_FILES.model), familyFor(config.modelType), config));
    check("tokenizer.json", () => TextTokenizer.fromJson(need("tokenizer.json"), json.get("tokenizer_config.json"), config.modelType));
  } else if (kind === "adapter") {
    const a = check("adapter_config.json", () => parseAdapterConfig(need("adapter_config.json")));
    // Per-layer adapter weights are checked against the model when served
    // (the layer count is the model's); here the file must at least parse.
    weights(WEIGHT_FILES.adapter);
    head(a.hiddenSize);
  } else {
    const f = check("adapter_fusion_config.json", () => parseFusionConfig(need("adapter_fusion_config.json")));
    // Per-layer fusion weights are checked against the model when served; here the file must at least parse.
    weights(WEIGHT_FILES.fusion);
    if (json.has(FUSION_LIST)) {
      const problem = fusionListProblem(json.get(FUSION_LIST));
      if (problem) refuse(problem);
    }
    head(f.hiddenSize);
  }
  return { dir, kind, name, files, skipped };
}
