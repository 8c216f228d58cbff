#!/usr/bin/env node
// The checkout's launcher: runs the TypeScript sources through tsx's loader (a
// dev dependency), so working on polyhead needs no build step. The published
// package's bin is dist/cli/main.js, compiled by `npm pack` (prepack).
import { register } from "tsx/esm/api";
register();
await import("../src/cli/main.ts");
