// `npm run dev:edge`: the request path of a deploy, on this machine. A local
// polyhead server (the demo store, or POLYHEAD_STORE) on :8080 as the only
// GPU-pool backend, and the edge Worker under `wrangler dev --local` in front
// of it (http://127.0.0.1:8787). Containers are not started locally
// (`--env local` in infra/wrangler.jsonc has no containers section): requests go to BACKENDS. Secrets for the Worker
// (API_KEYS, BACKEND_SECRET) come from infra/.dev.vars. Ctrl-C stops both.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const port = process.env.PORT ?? "8080";
const bin = (name: string) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));

const children: ChildProcess[] = [];
let stopping = false;

function start(name: string, cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false" } });
  child.on("exit", (code, signal) => {
    if (stopping) return;
    console.error(`dev:edge: ${name} exited (${signal ?? code}); stopping`);
    stop(typeof code === "number" && code !== 0 ? code : 1);
  });
  children.push(child);
  return child;
}

function stop(code: number) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGINT");
  // wrangler and the server close on SIGINT; anything still running after 5 s is killed
  const force = setTimeout(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    process.exit(code);
  }, 5000);
  force.unref();
  Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once("exit", r))))).then(() => process.exit(code));
}

for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => stop(0));

start("polyhead serve", bin("tsx"), ["src/cli/main.ts", "serve", "--port", port]);
start("wrangler dev", bin("wrangler"), [
  "dev",
  "--config", "infra/wrangler.jsonc",
  "--env", "local",
  "--local",
  "--var", `BACKENDS:${JSON.stringify([`http://127.0.0.1:${port}`])}`,
]);
