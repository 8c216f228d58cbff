import { jsonSyntax } from "./issues.ts";

// JSON read from a store or a folder is untrusted: besides its syntax, its
// nesting is bounded. JSON.parse takes a 100,000-deep array in its stride,
// but everything recursive after it (String(), JSON.stringify, zod) overflows
// the stack: a 500 on every listing that reads the file.

/** No config polyhead reads is nested more than a few levels; 32 leaves room. */
export const MAX_JSON_DEPTH = 32;

/** Why a stored file's JSON is refused, without quoting it. */
export class JsonFileError extends Error {}

/** The parsed text; JsonFileError (with line and column, or the depth) when it is not JSON or nested too deep. */
export function parseStoredJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new JsonFileError(jsonSyntax(e, text));
  }
  if (depthOver(value, MAX_JSON_DEPTH)) throw new JsonFileError(`it is nested deeper than ${MAX_JSON_DEPTH} levels`);
  return value;
}

/** Whether arrays and objects nest more than `limit` deep; iterative, so any depth is safe to measure. */
function depthOver(root: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (d + 1 > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === "object") stack.push([child, d + 1]);
  }
  return false;
}
