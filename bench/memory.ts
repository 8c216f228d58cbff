// Memory of a server whose users compose freely: `polyhead serve` as a child
// process on a store, one request each of 7 composition shapes (single, stack
// of 2, fusion of 4, parallel of 2, bare, stack of 3, average of 2), and after
// each its RSS and PSS from /proc and the time of that first request (which
// compiles the shape). PSS counts pages shared by several mappings once, which
// is what the shared weight file is about; RSS counts them per mapping.
//
// Part of `npm run bench`; alone: `npx tsx bench/memory.ts <store> <model> [adapters a0,a1,a2,a3] [fusion adapters]`.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.join(import.meta.dirname, "..");

export interface ShapeMemory {
  shape: string;
  first_request_ms: number;
  rss_mib: number;
  pss_mib: number;
}

export interface MemoryResult {
  ready: { rss_mib: number; pss_mib: number };
  shapes: ShapeMemory[];
  /** RSS and PSS after the seventh shape over after the first */
  rss_growth: number;
  pss_growth: number;
}

function memoryOf(pid: number): { rss_mib: number; pss_mib: number } {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(t)![1]);
  return { rss_mib: Math.round(kb("Rss") / 1024), pss_mib: Math.round(kb("Pss") / 1024) };
}

/** The 7 shapes of issue 12, over adapters a, b, c, d (a fusion of all four must exist in the store). */
export function shapes(a: string[]): [string, unknown][] {
  return [
    ["single", a[0]],
    ["stack of 2", { stack: [a[0], a[1]] }],
    ["fusion of 4", { fuse: a.slice(0, 4) }],
    ["parallel of 2", { parallel: [a[0], a[1]] }],
    ["bare", null],
    ["stack of 3", { stack: [a[0], a[1], a[2]] }],
    ["average of 2", { average: [a[0], a[1]] }],
  ];
}

export async function measureShapes(store: string, model: string, adapters: string[], log: (s: string) => void = () => {}): Promise<MemoryResult> {
  const child = spawn(process.execPath, [path.join(ROOT, "bin/polyhead.js"), "serve", "--store", store, "--port", "0", "--max-wait-ms", "1"], {
    cwd: ROOT,
    env: { ...process.env, POLYHEAD_STORE: undefined, POLYHEAD_LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      let err = "";
      child.stderr!.on("data", (d) => (err += d));
      child.stdout!.on("data", (d) => {
        out += d;
        const m = /polyhead listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${err.slice(-2000)}`)));
    });
    const inputs = ["the film was good and the story was long", "a good film, it was the best"];
    // the model loads on its first use: a bare request, then memory "when ready"
    const warm = await fetch(`${url}/v1/models`);
    if (!warm.ok) throw new Error(`GET /v1/models: ${warm.status}`);
    const ready = memoryOf(child.pid!);
    const rows: ShapeMemory[] = [];
    for (const [shape, composition] of shapes(adapters)) {
      const t = performance.now();
      const r = await fetch(`${url}/v1/predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model, inputs, tasks: [composition === null ? { adapters: null, head: adapters[0] } : { adapters: composition }] }),
      });
      const body = await r.text();
      if (!r.ok) throw new Error(`${shape}: ${r.status} ${body.slice(0, 500)}`);
      const first_request_ms = performance.now() - t;
      const m = memoryOf(child.pid!);
      rows.push({ shape, first_request_ms, ...m });
      log(`    ${shape.padEnd(14)} first request ${first_request_ms.toFixed(0).padStart(5)} ms   RSS ${m.rss_mib} MiB   PSS ${m.pss_mib} MiB`);
    }
    return {
      ready,
      shapes: rows,
      rss_growth: rows.at(-1)!.rss_mib / rows[0].rss_mib,
      pss_growth: rows.at(-1)!.pss_mib / rows[0].pss_mib,
    };
  } finally {
    child.kill("SIGTERM");
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [store, model, list] = process.argv.slice(2);
  if (!store || !model) {
    console.error("usage: npx tsx bench/memory.ts <store> <model> [a0,a1,a2,a3]");
    process.exit(2);
  }
  const r = await measureShapes(store, model, (list ?? "a0,a1,a2,a3").split(","), console.log);
  console.log(`ready: RSS ${r.ready.rss_mib} MiB, PSS ${r.ready.pss_mib} MiB; after 7 shapes / after the first: RSS ${r.rss_growth.toFixed(2)}×, PSS ${r.pss_growth.toFixed(2)}×`);
}
