import { readFileSync } from "node:fs";
import { parseKeys, type ApiKey } from "../api/tenants.ts";
import { formatIssues } from "../core/issues.ts";
import { DEFAULT_ADMISSION, type AdmissionLimits } from "../engine/admission.ts";
import { DEFAULT_BATCH, type BatchOptions } from "../engine/batcher.ts";
import { DEFAULT_WORKER_NICE } from "../engine/worker-pool.ts";
import { DEFAULT_HOT_GRAPHS } from "../engine/hot-graphs.ts";
import { CompositionSchema, type Composition } from "../engine/composition.ts";
import type { ServeOptions } from "./serve.ts";
import { PRECISIONS, type Precision } from "../graph/quantize.ts";
import { DEVICES, isDevice, isGpu } from "../engine/session-options.ts";

/** --max-event-loop-delay's default, ms: under /healthz's 100 ms with room for a turn's tail, over a busy loop's usual turns. */
export const DEFAULT_MAX_EVENT_LOOP_DELAY_MS = 30;

// The server's configuration from outside, in one place: the container reads
// it from env vars (optionsFromEnv), `polyhead serve` from flags built from
// the same table, with the env vars as defaults. Kept apart from serve.ts so
// the CLI can build its flags without loading the server.

/**
 * Every setting of the server that comes from outside: its `polyhead serve`
 * flag, its env var, and what it means. The CLI builds its flags from this
 * table and both read values through optionsFromEnv, so a setting is parsed in
 * one place and a flag always wins over its env var.
 */
export const SERVE_SETTINGS = {
  store: { flag: "--store <location>", env: "POLYHEAD_STORE", help: "store: a local folder or s3://bucket/prefix (default: adapters)" },
  port: { flag: "--port <n>", env: "PORT", help: "port, 0 picks a free one (default: 8080)" },
  host: { flag: "--host <host>", env: "HOST", help: "interface to listen on (default: 127.0.0.1; 0.0.0.0 in the container)" },
  threads: { flag: "--threads <n>", env: "POLYHEAD_THREADS", help: "inference worker threads (default: 1)" },
  device: { flag: "--device <device>", env: "POLYHEAD_DEVICE", help: "cpu, cuda (onnxruntime's CUDA provider, installed separately) or webgpu (any GPU with a Vulkan driver; in the npm package) (default: cpu)" },
  shareWeights: {
    flag: "--share-weights <bool>",
    env: "POLYHEAD_SHARE_WEIGHTS",
    help: "true: every compiled graph maps one copy of a model's base weights; false: each graph keeps its own prepacked copy, ~7% faster, memory grows per composition shape (default: true)",
  },
  precision: {
    flag: "--precision <precision>",
    env: "POLYHEAD_PRECISION",
    help: "fp32: exact, as AdapterHub computes (default); int8: the base model's linear layers quantised to int8 at load (dynamic quantisation), faster, approximate, CPU only; fp16: the base model's MatMuls in half precision (for --device cuda or webgpu), approximate; adapters, fusions and heads stay fp32",
  },
  spin: {
    flag: "--spin <bool>",
    env: "POLYHEAD_SPIN",
    help: "onnxruntime's threads spin-wait between operators: 1–3% faster alone (bert-base 8×128), but under load they take the CPU the HTTP thread needs (default: false)",
  },
  workerNice: {
    flag: "--worker-nice <n>",
    env: "POLYHEAD_WORKER_NICE",
    help: `Linux: the nice value of the inference threads (0..19), so that under load the HTTP thread (parsing, refusals, /healthz, answers) goes first; 0: the same priority (default: ${DEFAULT_WORKER_NICE})`,
  },
  hotGraphs: {
    flag: "--hot-graphs <n>",
    env: "POLYHEAD_HOT_GRAPHS",
    help: `with shared weights, the busiest compiled graphs of each worker also get a prepacked session of their own (~10% faster on bert-base; one more copy of the base weights each); 0: none (default: ${DEFAULT_HOT_GRAPHS})`,
  },
  maxGraphs: { flag: "--max-graphs <n>", env: "POLYHEAD_MAX_GRAPHS", help: "compiled graphs (composition shapes) each worker keeps; the least recently used are released (default: 32)" },
  maxGraphBytes: { flag: "--max-graph-bytes <n>", env: "POLYHEAD_MAX_GRAPH_BYTES", help: "bytes of compiled graphs each worker keeps (default: 8 GiB)" },
  models: { flag: "--models <names>", env: "POLYHEAD_MODELS", help: "comma-separated base models to load at start (default: every folder under models/)" },
  ttl: { flag: "--ttl <seconds>", env: "POLYHEAD_TTL_SECONDS", help: "seconds a loaded adapter is served before its version is checked again (default: 30)" },
  cacheBytes: { flag: "--cache-bytes <n>", env: "POLYHEAD_CACHE_BYTES", help: "bytes of fetched store files kept in memory (default: 256 MiB for S3; 32 MiB for a local folder, whose big files the OS page cache already holds)" },
  cacheDir: { flag: "--cache-dir <folder>", env: "POLYHEAD_CACHE_DIR", help: "folder for fetched store files, so a restart starts warm (default: none)" },
  diskCacheBytes: { flag: "--disk-cache-bytes <n>", env: "POLYHEAD_DISK_CACHE_BYTES", help: "bytes kept in --cache-dir" },
  budgetBytes: { flag: "--budget-bytes <n>", env: "POLYHEAD_BUDGET_BYTES", help: "bytes of loaded adapters and fusions kept (default: 2 GiB)" },
  maxBatchRows: { flag: "--max-batch-rows <n>", env: "POLYHEAD_MAX_BATCH_ROWS", help: `rows per encoder run (default: ${DEFAULT_BATCH.maxRows})` },
  maxBatchTokens: { flag: "--max-batch-tokens <n>", env: "POLYHEAD_MAX_BATCH_TOKENS", help: `padded tokens per encoder run (default: ${DEFAULT_BATCH.maxTokens})` },
  maxWaitMs: { flag: "--max-wait-ms <ms>", env: "POLYHEAD_MAX_WAIT_MS", help: `how long a request waits for others to batch with (default: ${DEFAULT_BATCH.maxWaitMs})` },
  maxQueuedRows: { flag: "--max-queued-rows <n>", env: "POLYHEAD_MAX_QUEUED_ROWS", help: `encoder rows a model holds admitted at once; beyond, requests get 503 overloaded with Retry-After (default: ${DEFAULT_ADMISSION.maxQueuedRows})` },
  maxQueuedTokens: { flag: "--max-queued-tokens <n>", env: "POLYHEAD_MAX_QUEUED_TOKENS", help: `real tokens over those rows (default: ${DEFAULT_ADMISSION.maxQueuedTokens})` },
  maxRequestTokens: { flag: "--max-request-tokens <n>", env: "POLYHEAD_MAX_REQUEST_TOKENS", help: `encoder tokens one request may run (inputs × branches × tokens; decoding: every step of every beam); beyond, 413 over-budget (default: ${DEFAULT_ADMISSION.maxRequestTokens})` },
  maxResponseBytes: { flag: "--max-response-bytes <n>", env: "POLYHEAD_MAX_RESPONSE_BYTES", help: `estimated bytes of one answer's JSON; beyond, 413 over-budget (default: 32 MiB)` },
  maxQueueMs: { flag: "--max-queue-ms <ms>", env: "POLYHEAD_MAX_QUEUE_MS", help: `how long the work a model holds may take at its measured throughput (the wait a new request would have); beyond, 503 overloaded (default: ${DEFAULT_ADMISSION.maxQueueMs})` },
  maxEventLoopDelay: {
    flag: "--max-event-loop-delay <ms>",
    env: "POLYHEAD_MAX_EVENT_LOOP_DELAY",
    help: `while the HTTP thread's event loop runs later than this, inference requests get 503 overloaded with Retry-After before their bodies are read, so /healthz and the requests taken stay fast; 0: never (default: ${DEFAULT_MAX_EVENT_LOOP_DELAY_MS})`,
  },
  warm: {
    flag: "--warm <composition>",
    env: "POLYHEAD_WARM",
    help: "a composition (name or JSON, null: the bare model) compiled at start for every preloaded model; repeatable. Env: comma-separated names, or a JSON array",
  },
} as const;

export type ServeSetting = keyof typeof SERVE_SETTINGS;

/** Raw values that override the environment, e.g. the flags of `polyhead serve`; `warm` may be given several times. */
export type SettingOverrides = { [K in ServeSetting]?: K extends "warm" ? string[] : string };

/** ServeOptions from the environment (the container's configuration), with `overrides` winning over the env vars. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: SettingOverrides = {}): ServeOptions {
  const name = (k: ServeSetting) => `${SERVE_SETTINGS[k].flag.split(" ")[0]} / ${SERVE_SETTINGS[k].env}`;
  const raw = (k: Exclude<ServeSetting, "warm">): string | undefined => {
    const v = overrides[k] ?? env[SERVE_SETTINGS[k].env];
    return v === undefined || v === "" ? undefined : v;
  };
  const num = (k: Exclude<ServeSetting, "warm">, min = 0): number | undefined => {
    const v = raw(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`${name(k)}: expected a number ≥ ${min}, got "${v}"`);
    return n;
  };
  const int = (k: Exclude<ServeSetting, "warm">, min = 0): number | undefined => {
    const n = num(k, min);
    if (n !== undefined && !Number.isInteger(n)) throw new Error(`${name(k)}: expected a whole number, got "${raw(k)}"`);
    return n;
  };
  const bool = (k: Exclude<ServeSetting, "warm">): boolean | undefined => {
    const v = raw(k);
    if (v === undefined) return undefined;
    if (v === "true" || v === "1") return true;
    if (v === "false" || v === "0") return false;
    throw new Error(`${name(k)}: expected true or false, got "${v}"`);
  };
  const device = raw("device") ?? "cpu";
  if (!isDevice(device)) throw new Error(`${name("device")}: expected ${DEVICES.join(", ")}, got "${device}"`);
  const precision = raw("precision") ?? "fp32";
  if (!PRECISIONS.includes(precision as Precision)) throw new Error(`${name("precision")}: expected ${PRECISIONS.join(" or ")}, got "${precision}"`);
  // onnxruntime's DynamicQuantizeMatMul has CPU kernels only: on CUDA every linear layer would copy to the host and back
  if (precision === "int8" && isGpu(device)) throw new Error(`${name("precision")}: int8 runs on the CPU only; with --device ${device} use fp32 or fp16`);
  const admission: Partial<AdmissionLimits> = {
    maxQueuedRows: int("maxQueuedRows", 1),
    maxQueuedTokens: int("maxQueuedTokens", 1),
    maxRequestTokens: int("maxRequestTokens", 1),
    maxResponseBytes: int("maxResponseBytes", 1),
    maxQueueMs: num("maxQueueMs", 1),
  };
  const maxEventLoopDelay = num("maxEventLoopDelay");
  const batch: Partial<BatchOptions> = { maxRows: int("maxBatchRows", 1), maxTokens: int("maxBatchTokens", 1), maxWaitMs: num("maxWaitMs") };
  return {
    store: raw("store") ?? "adapters",
    port: int("port") ?? 8080,
    host: raw("host"),
    threads: int("threads", 1) ?? 1,
    device,
    shareWeights: bool("shareWeights"),
    precision: precision as Precision,
    spin: bool("spin"),
    workerNice: workerNice(int("workerNice"), name("workerNice")),
    hotGraphs: int("hotGraphs"),
    maxGraphs: int("maxGraphs", 1),
    maxGraphBytes: int("maxGraphBytes", 1),
    models: raw("models")?.split(",").map((m) => m.trim()).filter(Boolean),
    ttlSeconds: num("ttl"),
    cacheBytes: int("cacheBytes"),
    cacheDir: raw("cacheDir"),
    diskCacheBytes: int("diskCacheBytes"),
    budgetBytes: int("budgetBytes"),
    batch: Object.fromEntries(Object.entries(batch).filter(([, v]) => v !== undefined)),
    admission: Object.fromEntries(Object.entries(admission).filter(([, v]) => v !== undefined)),
    maxEventLoopDelayMs: maxEventLoopDelay ?? DEFAULT_MAX_EVENT_LOOP_DELAY_MS,
    warm: warmCompositions(overrides.warm ?? env[SERVE_SETTINGS.warm.env], name("warm")),
    // a secret: from the environment only, never a flag (flags show in process lists)
    backendSecret: env.POLYHEAD_BACKEND_SECRET || undefined,
    // API keys (hashes) → tenants: env only too
    keys: apiKeys(env),
  };
}

function workerNice(n: number | undefined, name: string): number | undefined {
  if (n !== undefined && n > 19) throw new Error(`${name}: expected a nice value from 0 to 19, got ${n}`);
  return n;
}

/** POLYHEAD_KEYS (a JSON array) or the JSON file named by POLYHEAD_KEYS_FILE; undefined when neither is set. */
function apiKeys(env: NodeJS.ProcessEnv): ApiKey[] | undefined {
  if (env.POLYHEAD_KEYS && env.POLYHEAD_KEYS_FILE) throw new Error("POLYHEAD_KEYS and POLYHEAD_KEYS_FILE: set one, not both");
  if (env.POLYHEAD_KEYS) return parseKeys(env.POLYHEAD_KEYS, "POLYHEAD_KEYS");
  if (env.POLYHEAD_KEYS_FILE) {
    let text: string;
    try {
      text = readFileSync(env.POLYHEAD_KEYS_FILE, "utf8");
    } catch (e) {
      throw new Error(`POLYHEAD_KEYS_FILE: cannot read ${env.POLYHEAD_KEYS_FILE}: ${(e as Error).message}`);
    }
    return parseKeys(text, `POLYHEAD_KEYS_FILE (${env.POLYHEAD_KEYS_FILE})`);
  }
  return undefined;
}

/** --warm values (each a name or JSON), or POLYHEAD_WARM: comma-separated names, or a JSON array of compositions. */
function warmCompositions(given: string | string[] | undefined, name: string): (Composition | null)[] | undefined {
  if (given === undefined || given === "" || (Array.isArray(given) && given.length === 0)) return undefined;
  let items: unknown[];
  if (Array.isArray(given)) items = given.map(jsonOrName);
  else if (given.trim().startsWith("[")) {
    try {
      items = JSON.parse(given);
    } catch (e) {
      throw new Error(`${name}: not a JSON array: ${(e as Error).message}`);
    }
  } else items = given.split(",").map((c) => jsonOrName(c.trim())).filter((c) => c !== "");
  return items.map((c) => {
    if (c === null) return null;
    const parsed = CompositionSchema.safeParse(c);
    if (!parsed.success) throw new Error(`${name}: ${JSON.stringify(c)} is not a composition: ${formatIssues(parsed.error.issues, "composition")}`);
    return parsed.data;
  });
}

/** A composition as written on a command line: JSON ({"stack": [...]}, null), else a bare adapter name. */
function jsonOrName(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
