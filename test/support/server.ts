import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { serve, type RunningServer, type ServeOptions } from "../../src/server/serve.ts";
import { DEVICES, isDevice } from "../../src/engine/session-options.ts";

/**
 * A real polyhead server on a loopback port over `store`. POLYHEAD_TEST_DEVICE (cuda or webgpu) runs it on a GPU,
 * so the golden tests check that device against AdapterHub's numbers: `POLYHEAD_TEST_DEVICE=webgpu npm run test:conformance`.
 */
export function startServer(store: string, extra: Partial<ServeOptions> = {}): Promise<RunningServer> {
  const device = process.env.POLYHEAD_TEST_DEVICE;
  if (device !== undefined && !isDevice(device)) throw new Error(`POLYHEAD_TEST_DEVICE: expected ${DEVICES.join(", ")}, got "${device}"`);
  return serve({ store, port: 0, host: "127.0.0.1", quiet: true, ...(device ? { device } : {}), ...extra });
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** the body parsed as JSON, or its text when it is not JSON */
  json: any;
}

/** Status, headers and body (JSON when it parses) of a response. */
export async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** POST a JSON body (a string is sent as it is). */
export async function post(url: string, body: unknown): Promise<Answer> {
  return answer(await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) }));
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return answer(await fetch(url, { headers }));
}

/** A copy of a store keeping only the files `keep` accepts (e.g. only .bin weights). */
export function copyStore(src: string, keep: (file: string) => boolean): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "polyhead-store-"));
  cpSync(src, dir, { recursive: true });
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = path.join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (!keep(p)) rmSync(p);
    }
  };
  walk(dir);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
