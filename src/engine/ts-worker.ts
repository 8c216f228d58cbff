import { Worker, type WorkerOptions } from "node:worker_threads";

// A worker thread running one of polyhead's modules, given by its .ts URL. Installed, polyhead runs compiled
// JavaScript (dist/) and the module is plain JS beside this file. From a checkout it runs TypeScript through
// tsx, and Node 20 loads a worker's entry file without the module hooks (even with tsx in execArgv), so a
// plain-JS bootstrap registers tsx's loader in the worker and then imports the TypeScript module through it.
const COMPILED = import.meta.url.endsWith(".js");

export function tsWorker(module: URL, options: Omit<WorkerOptions, "eval"> = {}): Worker {
  const url = COMPILED ? new URL(module.href.replace(/\.ts$/, ".js")) : module;
  const bootstrap = COMPILED
    ? `import(${JSON.stringify(url.href)});`
    : `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
