#!/usr/bin/env node
// polyhead ships TypeScript sources and runs them through tsx's loader, so the
// CLI needs no build step.
import { register } from "tsx/esm/api";
register();
await import("../src/cli/main.ts");
