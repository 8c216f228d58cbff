import { spawn } from "node:child_process";
import readline from "node:readline";

// The PyTorch side of the benchmark: a tools/adapterhub script run with
// `--serve` by the reference python (POLYHEAD_REFERENCE_PYTHON), one JSON
// request per line on its stdin, one JSON answer per line on its stdout. Its
// first line says what it loaded.

export interface ReferenceProcess {
  /** the script's first line: versions, what it loaded, the torch threads it chose */
  ready: Record<string, any>;
  /** one request, its answer (an answer with `error` is thrown) */
  ask(request: Record<string, unknown>, what: string): Promise<Record<string, any>>;
  close(): void;
}

export async function startReferenceProcess(python: string, script: string, args: string[]): Promise<ReferenceProcess> {
  const child = spawn(python, [script, ...args, "--serve"], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, TOKENIZERS_PARALLELISM: "false", PYTHONWARNINGS: "ignore" },
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  child.on("error", (e) => (stderr += `\n${e.message}`));
  const lines = readline.createInterface({ input: child.stdout });
  const queue: string[] = [];
  let waiting: ((l: string | null) => void) | null = null;
  let ended = false;
  lines.on("line", (l) => (waiting ? (waiting(l), (waiting = null)) : queue.push(l)));
  lines.on("close", () => ((ended = true), waiting?.(null), (waiting = null)));
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const done = (l: string | null) => (l === null ? reject(new Error(`reference python exited: ${stderr.trim().split("\n").slice(-3).join(" | ")}`)) : resolve(l));
      if (queue.length) done(queue.shift()!);
      else if (ended) done(null);
      else waiting = done;
    });
  const ready = JSON.parse(await next());
  return {
    ready,
    async ask(request, what) {
      child.stdin.write(`${JSON.stringify(request)}\n`);
      const res = JSON.parse(await next());
      if (res.error) throw new Error(`AdapterHub ${what}: ${res.error}`);
      return res;
    },
    close() {
      child.stdin.end();
      child.kill();
    },
  };
}
