import { pathToFileURL } from "node:url";
import { serve } from "../src/server/serve.ts";
import { optionsFromEnv } from "../src/server/settings.ts";

// The inference container's entry point (infra/Dockerfile*): the server of
// src/server, configured from the environment.

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const opts = optionsFromEnv();
  // in a container, listen on every interface unless HOST says otherwise
  const running = await serve({ ...opts, host: opts.host ?? "0.0.0.0" });
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void running.close().then(() => process.exit(0)));
}
