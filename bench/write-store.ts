// Worker-thread entry for bench/run.ts: writes the random store off the main
// thread, so the main thread can show progress while it is generated.
import { parentPort, workerData } from "node:worker_threads";
import { writeRandomStore, type RandomStoreOptions } from "../test/support/random-store.ts";

const { dir, options } = workerData as { dir: string; options: RandomStoreOptions };
try {
  writeRandomStore(dir, options);
  parentPort!.postMessage({ ok: true });
} catch (e) {
  parentPort!.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
}
