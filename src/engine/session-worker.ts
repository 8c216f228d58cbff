// Runs inside a worker thread (see worker-pool.ts): onnxruntime-node's session.run blocks its thread for the
// whole forward pass, so sessions live here and the main thread only exchanges messages.
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { parentPort, threadId, workerData } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import type { HotFailed, WorkerMessage, WorkerRequest, WorkerResponse, WorkerSettings } from "./worker-pool.ts";
import { GPUS, isGpu, sessionOptions } from "./session-options.ts";
import { PACKED, PACKED_INDEX, packFeeds, packGraph, type Packing } from "../graph/pack-inputs.ts";

const settings = workerData as WorkerSettings;
// On Linux a nice value belongs to a thread, and the threads it starts inherit it: set here, before any session
// exists, it covers this worker and onnxruntime's thread pools (elsewhere it would lower the whole process).
if (settings.nice && process.platform === "linux") {
  try {
    os.setPriority(settings.nice);
  } catch {
    // a container may forbid it; inference then shares the HTTP thread's priority
  }
}
const stop = new Int32Array(settings.stop);
const sessions = new Map<string, Promise<ort.InferenceSession>>();
/** graph files, for the prepacked sessions of hot graphs (hot-graphs.ts) */
const paths = new Map<string, string>();
/** hot graphs' prepacked sessions, being built or built */
const hot = new Map<string, Promise<ort.InferenceSession>>();
/** those built: runs use them instead of the shared ones (never waiting for one being built) */
const hotReady = new Map<string, ort.InferenceSession>();
/** constant feeds (loaded weights, Feed.constant) kept between runs until the pool drops them */
const constants = new Map<string, ort.Tensor>();
/** graphs whose float inputs are fed packed into one (settings.packInputs) */
const packings = new Map<string, Packing>();
/** tensors kept between runs of a decoding loop (see RunRequest.state) */
const states = new Map<string, Record<string, ort.Tensor>>();

async function createSession(model: Uint8Array | string, noArena = false, prepack = false, cpu = false): Promise<ort.InferenceSession> {
  const device = cpu ? "cpu" : settings.device;
  try {
    // From a file, the graph's external weights are mapped, shared by every session of the model; prepacking
    // would give each session its own packed copy of them (which a hot graph's second session wants).
    if (typeof model === "string") return await ort.InferenceSession.create(model, sessionOptions(device, settings.intraOpThreads, !prepack, settings.spin));
    const opts = sessionOptions(device, settings.intraOpThreads, false, settings.spin);
    return await ort.InferenceSession.create(model, noArena ? { ...opts, enableCpuMemArena: false } : opts);
  } catch (e) {
    if (!isGpu(device)) throw e;
    const backends = ort.listSupportedBackends().map((b) => b.name).join(", ");
    throw new Error(`${GPUS[device].name} execution provider is not available (onnxruntime-node backends here: ${backends}; it needs ${GPUS[device].needs}): ${message(e).split("\n")[0]}`);
  }
}

/** The graph with its float inputs packed into one (see pack-inputs.ts); remembered under the graph's key. */
function packed(key: string, model: Uint8Array | string): Uint8Array | string {
  const p = packGraph(typeof model === "string" ? readFileSync(model) : model);
  if (!p) return model;
  packings.set(key, p.packing);
  if (typeof model !== "string") return p.bytes;
  // beside the original, whose external weights it names by relative path; one file per worker thread
  const file = `${model.replace(/\.onnx$/, "")}.packed-${threadId}.onnx`;
  writeFileSync(file, p.bytes);
  return file;
}

async function demote(key: string): Promise<void> {
  const s = hot.get(key);
  hot.delete(key);
  hotReady.delete(key);
  if (s) await s.then((x) => x.release()).catch(() => {});
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function handle(req: WorkerRequest): Promise<WorkerResponse> {
  let session = sessions.get(req.graphKey);
  if (!session) {
    if (!req.model) return { id: req.id, ok: false, loaded: false, error: `graph "${req.graphKey}" is not loaded in this worker and no model bytes were sent` };
    let model = req.model;
    try {
      if (settings.packInputs && !req.cpu) model = packed(req.graphKey, model);
    } catch (e) {
      return { id: req.id, ok: false, loaded: false, error: `graph "${req.graphKey}" could not be packed: ${message(e)}` };
    }
    session = createSession(model, req.noArena, false, req.cpu);
    sessions.set(req.graphKey, session);
    if (typeof model === "string") paths.set(req.graphKey, model);
    session.catch(() => sessions.delete(req.graphKey));
  }
  try {
    const prepacked = hotReady.get(req.graphKey);
    const s = prepacked ?? (await session);
    const kept = req.state ? (states.get(req.state.id) ?? {}) : {};
    const feeds: Record<string, ort.Tensor> = { ...kept };
    for (const [name, f] of Object.entries(req.feeds)) {
      if ("ref" in f) {
        const c = constants.get(f.ref);
        if (!c) return { id: req.id, ok: false, loaded: sessions.has(req.graphKey), error: `internal: constant feed "${name}" was not kept by this worker` };
        feeds[name] = c;
      } else {
        feeds[name] = new ort.Tensor(f.type, f.data, f.dims);
        if (f.keep) constants.set(f.keep, feeds[name]);
      }
    }
    const packing = packings.get(req.graphKey);
    let run = feeds;
    if (packing) {
      const { rest, packed, index } = packFeeds(packing, feeds);
      run = { ...rest, [PACKED]: new ort.Tensor("float32", packed, [packed.length]), [PACKED_INDEX]: new ort.Tensor("int64", index, [index.length]) };
    }
    const results = req.outputs ? await s.run(run, req.outputs) : await s.run(run);
    const outputs: WorkerResponse & { ok: true } = { id: req.id, ok: true, loaded: true, outputs: {}, ...(prepacked ? { hot: true } : {}) };
    const keep = req.state?.keep ?? {};
    if (req.state) {
      // the state keeps what it was fed (weights sent once) and the outputs it asked to keep (a KV cache)
      const next: Record<string, ort.Tensor> = { ...kept };
      for (const [name, f] of Object.entries(req.feeds)) if (!(name in next) || name in kept) next[name] = feeds[name];
      for (const [out, feed] of Object.entries(keep)) if (results[out]) next[feed] = results[out];
      states.set(req.state.id, next);
    }
    for (const [name, t] of Object.entries(results)) {
      if (name in keep) continue;
      const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number | bigint>, Number);
      outputs.outputs[name] = { dims: [...t.dims], data };
    }
    return outputs;
  } catch (e) {
    return { id: req.id, ok: false, loaded: sessions.has(req.graphKey), error: `onnxruntime (graph "${req.graphKey}"): ${message(e)}` };
  }
}

// One message at a time: a run's session.run happens in a later tick (setImmediate in the binding), and a
// demote or release handled in between would free the session under it.
let queue: Promise<void> = Promise.resolve();
parentPort!.on("message", (msg: WorkerMessage) => {
  queue = queue.then(() => onMessage(msg)).catch((e) => console.error(`session worker: ${message(e)}`));
});

async function onMessage(msg: WorkerMessage): Promise<void> {
  if ("close" in msg) {
    await Promise.allSettled([...sessions.values(), ...hot.values()].map(async (s) => (await s).release()));
    process.exit(0); // ends this worker thread only
  }
  if ("releaseState" in msg) {
    states.delete(msg.releaseState);
    return;
  }
  if ("release" in msg) {
    // the pool keeps a bounded number of graphs: this one was least recently used
    const s = sessions.get(msg.release);
    sessions.delete(msg.release);
    paths.delete(msg.release);
    packings.delete(msg.release);
    await demote(msg.release);
    if (s) await s.then((x) => x.release()).catch(() => {});
    return;
  }
  if ("demote" in msg) return demote(msg.demote);
  if ("dropConstants" in msg) {
    for (const key of msg.dropConstants) constants.delete(key);
    return;
  }
  if ("promote" in msg) {
    const file = paths.get(msg.promote);
    if (!file || hot.has(msg.promote)) return;
    const s = createSession(file, false, true);
    hot.set(msg.promote, s);
    s.then(
      (built) => hot.get(msg.promote) === s && hotReady.set(msg.promote, built),
      // not built (memory, a file gone): the graph keeps running on its shared session
      (e) => {
        if (hot.get(msg.promote) !== s) return;
        hot.delete(msg.promote);
        parentPort!.postMessage({ hotFailed: msg.promote, error: message(e) } satisfies HotFailed);
      },
    );
    return;
  }
  if (Atomics.load(stop, 0)) return; // the pool is closing and already rejected this run
  const res = await handle(msg);
  if (!res.ok) return parentPort!.postMessage(res);
  // empty buffers stay off the transfer list: Node silently drops messages listing a detached one
  const buffers = new Set(Object.values(res.outputs).filter((o) => o.data.byteLength > 0).map((o) => o.data.buffer));
  try {
    parentPort!.postMessage(res, [...buffers] as ArrayBuffer[]);
  } catch {
    parentPort!.postMessage(res); // e.g. a buffer that cannot be detached: let structured clone copy it
  }
}
