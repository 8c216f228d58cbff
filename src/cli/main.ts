#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError, Option } from "commander";
import { storeOption } from "./store-option.ts";
import { optionsFromEnv, SERVE_SETTINGS, type SettingOverrides } from "../server/settings.ts";
import { KINDS, type Kind } from "../store/layout.ts";

// polyhead's command line: one subcommand per job, options mirrored by env vars.
// Each command imports its code when it runs: `push` or `ls` should not pay
// for loading the inference engine and onnxruntime.

// The AWS SDK warns on Node < 22 that its releases after January 2027 will
// need Node 22. That is for whoever upgrades the lockfile (README, "Install":
// engines goes to >= 22 with that upgrade), not for someone running
// `polyhead ls`; an explicit setting still wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a non-negative integer");
  return n;
};

const kind = (v: string): Kind => {
  if (!KINDS.includes(v as Kind)) throw new InvalidArgumentError(`expected ${KINDS.join(", ")}`);
  return v as Kind;
};

// src/cli/main.ts in a checkout, dist/cli/main.js installed: the package root is two folders up either way.
const PACKAGE_ROOT = new URL("../../", import.meta.url);
const { version } = JSON.parse(readFileSync(new URL("package.json", PACKAGE_ROOT), "utf8")) as { version: string };
/** The demo store that ships with the package, wherever the command runs from. */
const DEMO_STORE = fileURLToPath(new URL("adapters", PACKAGE_ROOT));

/** Every --help ends with examples a user can paste. */
const examples = (...lines: string[]) => `\nExample${lines.length > 1 ? "s" : ""}:\n${lines.map((l) => `  $ ${l}`).join("\n")}`;

const program = new Command("polyhead")
  .description("Serve many AdapterHub/PEFT adapters from one base model: classify, tag, answer, translate")
  .version(version, "-V, --version", "print polyhead's version")
  .addHelpText(
    "after",
    examples(
      "polyhead serve --demo                                         # the bundled demo store on http://127.0.0.1:8080",
      "polyhead pull bert-base-uncased --store ./store               # a base model from the Hugging Face Hub",
      "polyhead push ./out/sentiment --store ./store                 # an adapter you saved with AdapterHub or PEFT",
      "polyhead serve --store ./store",
    ),
  );

const serveCommand = program.command("serve").description("serve the HTTP API over a store (every flag defaults to its env var)");
for (const [key, s] of Object.entries(SERVE_SETTINGS)) {
  const o = new Option(s.flag, `${s.help} [env: ${s.env}]`);
  serveCommand.addOption(key === "warm" ? o.argParser((v: string, all: string[] = []) => [...all, v]) : o);
}
serveCommand.addHelpText("after", examples("polyhead serve --demo", "polyhead serve --store s3://my-bucket/store --port 8080 --warm sentiment"));
serveCommand.option("--demo", "serve the demo store that ships with polyhead (instead of --store)");
serveCommand.action(async ({ demo, ...flags }: SettingOverrides & { demo?: boolean }) => {
  const { serve } = await import("../server/serve.ts");
  const running = await serve(optionsFromEnv(process.env, demo ? { ...flags, store: DEMO_STORE } : flags));
  // Tests and scripts read the bound port from this line.
  console.log(`polyhead listening on ${running.url}`);
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void running.close().then(() => process.exit(0)));
});

program
  .command("predict")
  .description("run the engine in-process and print the JSON result")
  .requiredOption("--model <name>", "model folder under models/")
  .addOption(storeOption("adapters"))
  .option("--adapters <composition>", "composition: a name or JSON", "null")
  .option("--head <name>", "head to use (default: the composition's own)")
  .option("--max-length <n>", "truncate to this many tokens", int, 128)
  .option("--pair", "treat the texts as one pair [A, B]")
  .argument("<texts...>", "input texts")
  .addHelpText("after", examples('polyhead predict --store adapters --model demo-bert --adapters sentiment "what a wonderful film"'))
  .action(async (texts: string[], o) => {
    const [{ Catalog }, { openStore }, { Engine }, { WorkerPool }] = await Promise.all([
      import("../store/catalog.ts"),
      import("../store/open.ts"),
      import("../engine/engine.ts"),
      import("../engine/worker-pool.ts"),
    ]);
    const composition = await compositionOf(o.adapters);
    const pool = new WorkerPool({ threads: 1 });
    const store = openStore(o.store);
    try {
      const engine = new Engine(new Catalog(store), pool);
      const inputs = o.pair ? [[texts[0], texts[1] ?? ""] as [string, string]] : texts;
      const out = await engine.predict({
        model: o.model,
        inputs,
        tasks: [{ adapters: composition, head: o.head }],
        options: { maxLength: o.maxLength, returnLogits: true, returnHiddenStates: false, returnFusionAttention: false },
      });
      console.log(JSON.stringify(out, null, 2));
    } catch (e) {
      throw await explained(e, store);
    } finally {
      await pool.close();
    }
  });

/** An unknown adapter or fusion name with the closest ones in the store, as the API answers it. */
async function explained(e: unknown, store: import("../store/store.ts").Store): Promise<unknown> {
  const { withSuggestions } = await import("../api/suggest.ts");
  return withSuggestions(e, store, undefined);
}

/** An in-process translator over a store, for `generate` and `score`. */
async function translatorOver(store: string) {
  const [{ Catalog }, { openStore }, { Engine }, { WorkerPool }, { Translator }] = await Promise.all([
    import("../store/catalog.ts"),
    import("../store/open.ts"),
    import("../engine/engine.ts"),
    import("../engine/worker-pool.ts"),
    import("../engine/seq2seq.ts"),
  ]);
  const pool = new WorkerPool({ threads: 1 });
  const opened = openStore(store);
  const catalog = new Catalog(opened);
  return { translator: new Translator(catalog, new Engine(catalog, pool), pool), close: () => pool.close(), explain: (e: unknown) => explained(e, opened) };
}

/** --adapters as a composition: a bare name or JSON; a mistake is one short line, as the API says it. */
async function compositionOf(text: string) {
  const [{ CompositionSchema }, { formatIssues }] = await Promise.all([import("../engine/composition.ts"), import("../core/issues.ts")]);
  let adapters: unknown = text;
  try {
    adapters = JSON.parse(text);
  } catch {
    // a bare adapter name
  }
  if (adapters === null) return null;
  const parsed = CompositionSchema.safeParse(adapters);
  if (!parsed.success) throw new Error(formatIssues(parsed.error.issues, "--adapters"));
  return parsed.data;
}

program
  .command("generate")
  .description("translate (generate) with an encoder-decoder model in-process and print the JSON result")
  .requiredOption("--model <name>", "model folder under models/")
  .addOption(storeOption("adapters"))
  .option("--adapters <composition>", "composition: a name or JSON", "null")
  .option("--max-new-tokens <n>", "tokens to generate at most (default: the model's max_length - 1)", int)
  .option("--num-beams <n>", "beam search with this many beams (default: the model's)", int)
  .option("--num-return-sequences <n>", "outputs per input (at most --num-beams)", int)
  .option("--src-lang <code>", "source language (mBART-50-style models)")
  .option("--tgt-lang <code>", "target language (mBART-50-style models)")
  .argument("<texts...>", "source texts")
  .addHelpText("after", examples('polyhead generate --store ./store --model mbart-s2s --adapters mbart-news --src-lang en_XX --tgt-lang de_DE "The movie was great!"'))
  .action(async (texts: string[], o) => {
    const adapters = await compositionOf(o.adapters);
    const { translator, close, explain } = await translatorOver(o.store);
    try {
      const out = await translator.generate({
        model: o.model,
        inputs: texts,
        tasks: [{ adapters }],
        options: { maxNewTokens: o.maxNewTokens, numBeams: o.numBeams, numReturnSequences: o.numReturnSequences, srcLang: o.srcLang, tgtLang: o.tgtLang },
      });
      console.log(JSON.stringify(out, null, 2));
    } catch (e) {
      throw await explain(e);
    } finally {
      await close();
    }
  });

program
  .command("score")
  .description("log-probability of each target token given its source (teacher forcing), printed as JSON")
  .requiredOption("--model <name>", "model folder under models/")
  .addOption(storeOption("adapters"))
  .option("--adapters <composition>", "composition: a name or JSON", "null")
  .option("--src-lang <code>", "source language (mBART-50-style models)")
  .option("--tgt-lang <code>", "target language (mBART-50-style models)")
  .requiredOption("--target <text...>", "one target per source text")
  .argument("<texts...>", "source texts")
  .addHelpText("after", examples('polyhead score --store ./store --model bart-s2s --target "Der Vertrag endet." -- "The contract ends."'))
  .action(async (texts: string[], o) => {
    const adapters = await compositionOf(o.adapters);
    const { translator, close, explain } = await translatorOver(o.store);
    try {
      const out = await translator.score({ model: o.model, inputs: texts, targets: o.target, tasks: [{ adapters }], options: { srcLang: o.srcLang, tgtLang: o.tgtLang } });
      console.log(JSON.stringify(out, null, 2));
    } catch (e) {
      throw await explain(e);
    } finally {
      await close();
    }
  });

program
  .command("push")
  .description("check saved AdapterHub/PEFT/transformers folders, then upload them to a store (manifest last)")
  .argument("<folders...>", "saved folders: a model (config.json + weights), an adapter, or a fusion")
  .addOption(storeOption())
  .option("--as <name>", "store name (default: the folder's name; one folder only)")
  .option("--tenant <tenant>", "push adapters and fusions into a tenant's namespace (adapters/<tenant>/<name>/), used as \"tenant/name\"")
  .option("--kind <kind>", "model, adapter or fusion (default: detected from the files)", kind)
  .option("-q, --quiet", "no progress bar")
  .addHelpText("after", examples("polyhead push ./bert-base-uncased ./out/sentiment --store s3://my-bucket/store", "polyhead push ./out/sentiment --as sentiment-v2 --store ./store"))
  .action(async (folders: string[], o) => {
    const { push } = await import("./push.ts");
    await push(folders, { store: o.store, as: o.as, tenant: o.tenant, kind: o.kind, quiet: o.quiet });
  });

program
  .command("pull")
  .description("fetch a model, adapter or fusion from the Hugging Face Hub into a store: only the files polyhead reads, checked like push")
  .argument("<repo>", "a Hub repository: bert-base-uncased, AdapterHub/bert-base-uncased-pf-sst2")
  .addOption(storeOption())
  .option("--as <name>", "store name (default: the repository's name)")
  .option("--revision <rev>", "a branch, tag or commit (default: the default branch); pinned to its commit for the whole download")
  .option("--tenant <tenant>", "pull an adapter or fusion into a tenant's namespace")
  .option("--kind <kind>", "model, adapter or fusion (default: detected from the files)", kind)
  .option("--cache-dir <dir>", "where downloads wait until they are pushed; running the same pull again continues a cut one (default: ~/.cache/polyhead/pull)")
  .option("-q, --quiet", "no progress bar")
  .addHelpText(
    "after",
    "\nThe Hub is HF_ENDPOINT (default https://huggingface.co); a private or gated repository needs HF_TOKEN.\n" +
      examples("polyhead pull bert-base-uncased --store s3://my-bucket/store", "polyhead pull AdapterHub/bert-base-uncased-pf-sst2 --as sst2 --store ./store --revision main"),
  )
  .action(async (repo: string, o) => {
    const { pull } = await import("./pull.ts");
    await pull(repo, { store: o.store, as: o.as, revision: o.revision, tenant: o.tenant, kind: o.kind, quiet: o.quiet, cacheDir: o.cacheDir });
  });

program
  .command("ls")
  .description("list the models, adapters and fusions in a store")
  .addOption(storeOption("adapters"))
  .option("--json", "print JSON")
  .addHelpText("after", examples("polyhead ls --store s3://my-bucket/store --json"))
  .action(async (o) => {
    const { ls, lsTable } = await import("./ls.ts");
    const entries = await ls(o.store);
    console.log(o.json ? JSON.stringify(entries, null, 2) : lsTable(entries));
  });

program
  .command("inspect")
  .description("show what the server makes of an adapter, fusion or model: config, head, files, fusions using it")
  .argument("<name>", "folder name under adapters/, fusions/ or models/")
  .addOption(storeOption("adapters"))
  .option("--kind <kind>", "look only under this kind's folder", kind)
  .option("--json", "print JSON")
  .addHelpText("after", examples("polyhead inspect sentiment --store ./store"))
  .action(async (name: string, o) => {
    const { inspect, inspectText } = await import("./inspect.ts");
    const found = await inspect(o.store, name, o.kind);
    console.log(o.json ? JSON.stringify(found, null, 2) : inspectText(found));
  });

await program.parseAsync(process.argv).catch((e: Error) => {
  console.error(`polyhead: ${e.message}`);
  process.exit(1);
});
