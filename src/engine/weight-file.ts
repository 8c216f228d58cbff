import { createHash } from "node:crypto";
import { mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ExternalWeights, InitData } from "../graph/onnx-builder.ts";

// One copy of a model's base weights however many graphs are compiled: the
// graphs keep their large initializers in a file per model (ONNX external
// data), each at a 64 KiB-aligned offset, and every session created from a
// graph file beside it maps the same pages instead of holding its own copy.

const ALIGN = 64 * 1024;

let root: string | null = null;

/** This process's folder of graph and weight files, removed when the process exits. */
function folder(): string {
  if (!root) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "polyhead-graphs-"));
    root = dir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return root;
}

let files = 0;

export class WeightFile implements ExternalWeights {
  private readonly file: string;
  private readonly fd: number;
  private readonly at = new Map<string, { location: string; offset: number; length: number }>();
  private size = 0;

  constructor() {
    this.file = `weights-${files++}.bin`;
    this.fd = openSync(path.join(folder(), this.file), "w");
  }

  has(key: string): boolean {
    return this.at.has(key);
  }

  ref(key: string, data: InitData) {
    let r = this.at.get(key);
    if (r && data.byteLength > 0 && r.length !== data.byteLength) throw new Error(`internal: weight "${key}" stored with ${r.length} bytes, now ${data.byteLength}`);
    if (!r) {
      const offset = Math.ceil(this.size / ALIGN) * ALIGN;
      writeSync(this.fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 0, data.byteLength, offset);
      this.size = offset + data.byteLength;
      r = { location: this.file, offset, length: data.byteLength };
      this.at.set(key, r);
    }
    return r;
  }

  /** Bytes of weights written. */
  get bytes(): number {
    return this.size;
  }

  /** Writes a graph beside the weights it refers to; sessions are created from this path. */
  graph(key: string, bytes: Uint8Array): string {
    const file = path.join(folder(), `${createHash("sha256").update(key).digest("hex").slice(0, 32)}.onnx`);
    writeFileSync(file, bytes);
    return file;
  }
}
