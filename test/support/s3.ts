import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

// A real S3-protocol server (s3rver) on loopback, started by the tests
// themselves, in a child process: stop() kills it, as a store that goes
// away, and restart() starts it again on the same port over the same folder,
// so it comes back with the objects it held.

export const S3_BUCKET = "polyhead";
/** s3rver's fixed credentials */
export const S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "s3rver-main.mjs");

export interface TestS3 {
  endpoint: string;
  port: number;
  bucket: string;
  credentials: typeof S3_CREDENTIALS;
  /** the AWS_* variables that point the SDK's default chain at this server */
  env: Record<string, string>;
  stop(): Promise<void>;
  /** starts again on the same port, with the objects it held */
  restart(): Promise<void>;
  /** stops it and deletes its files */
  dispose(): Promise<void>;
}

export async function startS3(): Promise<TestS3> {
  const directory = mkdtempSync(path.join(os.tmpdir(), "polyhead-s3-"));
  let child: ChildProcess | null = null;
  const start = async (port: number): Promise<number> => {
    const c = spawn(process.execPath, ["--openssl-legacy-provider", MAIN, directory, String(port), S3_BUCKET], { stdio: ["pipe", "pipe", "inherit"] });
    child = c;
    const exited = once(c, "exit").then(([code]) => {
      throw new Error(`s3rver exited with ${code} before it listened`);
    });
    const ready = (async () => {
      for await (const line of createInterface({ input: c.stdout! })) return JSON.parse(line).port as number;
      throw new Error("s3rver closed its output before it listened");
    })();
    return Promise.race([ready, exited]);
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = once(c, "exit");
    c.kill("SIGKILL");
    await gone;
  };
  const port = await start(0);
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    bucket: S3_BUCKET,
    credentials: S3_CREDENTIALS,
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
    },
    stop,
    restart: async () => {
      await stop();
      await start(port);
    },
    dispose: async () => {
      await stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Sets (or, with undefined, removes) environment variables; returns the function that restores them. */
export function withEnv(vars: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, val] of Object.entries(v)) {
      if (val === undefined) delete process.env[k];
      else process.env[k] = val;
    }
  };
  apply(vars);
  return () => apply(saved);
}
