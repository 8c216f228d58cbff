import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";

export const CHROMIUM = "/usr/bin/chromium";

/** Flags for headless Chromium on a machine with no outside network (see the README's Playground section). */
export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

function apt(args: string[]): void {
  execFileSync("apt-get", args, {
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 15 * 60_000,
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    maxBuffer: 64 * 1024 * 1024,
  });
}

function why(e: unknown): string {
  const err = e as { stderr?: Buffer; message?: string };
  return (err.stderr?.toString().trim().split("\n").slice(-5).join("\n")) || err.message || String(e);
}

/** Debian's Chromium: its path, installed with apt-get first when it is missing. */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const install = ["install", "-y", "--no-install-recommends", "chromium"];
  try {
    apt(install);
  } catch (first) {
    // a fresh machine often has no package lists yet
    try {
      apt(["update"]);
      apt(install);
    } catch (second) {
      throw new Error(
        `Chromium is needed for the playground tests and could not be installed with ` +
          `'apt-get install -y --no-install-recommends chromium' (as root, with Debian's package lists reachable):\n` +
          `${why(first)}\n${why(second)}`,
      );
    }
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} is missing`);
  return CHROMIUM;
}
