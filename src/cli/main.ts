import { Command, InvalidArgumentError } from "commander";
import { serve } from "../../functions/server.ts";
import { Catalog } from "../store/catalog.ts";
import { openStore } from "../store/open.ts";
import { Engine } from "../engine/engine.ts";
import { WorkerPool } from "../engine/worker-pool.ts";
import { CompositionSchema } from "../engine/composition.ts";

// polyhead's command line: one subcommand per job, options mirrored by env vars.

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a non-negative integer");
  return n;
};

const program = new Command("polyhead").description("Serve many AdapterHub/PEFT adapters from one base encoder");

program
  .command("serve")
  .description("serve the HTTP API over a store")
  .option("--store <location>", "store: a local folder", process.env.POLYHEAD_STORE ?? "adapters")
  .option("--port <n>", "port (0 picks a free one)", int, Number(process.env.PORT ?? 8080))
  .option("--host <host>", "interface to listen on", process.env.HOST ?? "127.0.0.1")
  .option("--threads <n>", "inference worker threads", int, Number(process.env.POLYHEAD_THREADS ?? 1))
  .option("--device <device>", "cpu or cuda", process.env.POLYHEAD_DEVICE ?? "cpu")
  .action(async (o) => {
    const running = await serve({ store: o.store, port: o.port, host: o.host, threads: o.threads, device: o.device });
    // Tests and scripts read the bound port from this line.
    console.log(`polyhead listening on ${running.url}`);
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void running.close().then(() => process.exit(0)));
  });

program
  .command("predict")
  .description("run the engine in-process and print the JSON result")
  .requiredOption("--model <name>", "model folder under models/")
  .option("--store <location>", "store: a local folder", process.env.POLYHEAD_STORE ?? "adapters")
  .option("--adapters <composition>", "composition: a name or JSON", "null")
  .option("--head <name>", "head to use (default: the composition's own)")
  .option("--max-length <n>", "truncate to this many tokens", int, 128)
  .option("--pair", "treat the texts as one pair [A, B]")
  .argument("<texts...>", "input texts")
  .action(async (texts: string[], o) => {
    let adapters: unknown = o.adapters;
    try {
      adapters = JSON.parse(o.adapters);
    } catch {
      // a bare adapter name
    }
    const composition = adapters === null ? null : CompositionSchema.parse(adapters);
    const pool = new WorkerPool({ threads: 1 });
    try {
      const engine = new Engine(new Catalog(openStore(o.store)), pool);
      const inputs = o.pair ? [[texts[0], texts[1] ?? ""] as [string, string]] : texts;
      const out = await engine.predict({
        model: o.model,
        inputs,
        tasks: [{ adapters: composition, head: o.head }],
        options: { maxLength: o.maxLength, returnLogits: true, returnHiddenStates: false, returnFusionAttention: false },
      });
      console.log(JSON.stringify(out, null, 2));
    } finally {
      await pool.close();
    }
  });

await program.parseAsync(process.argv).catch((e: Error) => {
  console.error(`polyhead: ${e.message}`);
  process.exit(1);
});
