import cliProgress from "cli-progress";
import { formatBytes } from "./format.ts";

// A byte-counting progress bar on stderr, so stdout stays clean for results
// and pipes. Silent when stderr is not a terminal (CI logs, redirects) or
// with --quiet.

export interface Progress {
  start(totalBytes: number, label: string): void;
  advance(bytes: number, file: string): void;
  stop(): void;
}

const silent: Progress = { start() {}, advance() {}, stop() {} };

export function progressBar(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (quiet || !stream.isTTY) return silent;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: "{label} [{bar}] {percentage}% {done}/{size} {file}",
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let done = 0;
  let total = 0;
  let label = "";
  return {
    start(totalBytes, l) {
      done = 0;
      total = totalBytes;
      label = l;
      bar.start(Math.max(total, 1), 0, { label, done: formatBytes(0), size: formatBytes(total), file: "" });
    },
    advance(bytes, file) {
      done += bytes;
      bar.update(Math.min(done, Math.max(total, 1)), { label, done: formatBytes(done), size: formatBytes(total), file });
    },
    stop() {
      bar.stop();
    },
  };
}
