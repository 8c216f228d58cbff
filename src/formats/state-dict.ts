import { readSafetensors } from "./safetensors.ts";
import { readTorchBin } from "./torch-bin.ts";
import { FormatError } from "../core/errors.ts";
import type { StateDict } from "../core/tensor.ts";

/** Reads a weight file, choosing the format by the file name's extension. */
export function readStateDict(bytes: Uint8Array, fileName: string): StateDict {
  const ext = fileName.toLowerCase().match(/\.([a-z]+)$/)?.[1];
  if (ext === "safetensors") return readSafetensors(bytes, fileName);
  if (ext === "bin" || ext === "pt" || ext === "pth") return readTorchBin(bytes, fileName);
  throw new FormatError(`${fileName}: unknown weight file type (expected .safetensors, .bin, .pt or .pth)`);
}
