import { closest, QUALIFIED_RE, QUALIFIED_RULE } from "../core/names.ts";
import { MAX_WIDTH } from "../core/limits.ts";

// What is wrong with a composition that does not parse, said the way a person
// would fix it. zod reports a failed union as a bare "Invalid input" at its
// root; this walks the value itself to the first mistake and names its place
// ("stack[1]: ...") and, for a misspelt key, the key that was meant.

/** Each block, and the one extra key it may carry. */
const BLOCKS: Record<string, string | null> = { stack: null, fuse: "fusion", parallel: null, batch_split: "sizes", average: "weights" };
const KEYS = [...Object.keys(BLOCKS), "fusion", "sizes", "weights"];
const SHAPES = '{"stack": [...]}, {"parallel": [...]}, {"fuse": [...]}, {"batch_split": [...], "sizes": [...]} or {"average": [...]}';

const kindOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "object" ? "an object" : `a ${typeof v}`);

function unknownKey(key: string, allowed: string[], where: string): string {
  const near = closest(key, allowed);
  return near.length ? `unknown key "${key}"${where} — did you mean "${near[0]}"?` : `unknown key "${key}"${where}: a composition is ${SHAPES}`;
}

/** The first mistake in `value` as a composition, or null when none is found. */
export function compositionMistake(value: unknown, depth = 0): string | null {
  if (depth > 32) return "the composition is nested too deep";
  if (typeof value === "string") return QUALIFIED_RE.test(value) ? null : `"${value.slice(0, 64)}" is not an adapter name (${QUALIFIED_RULE})`;
  if (Array.isArray(value)) return 'a list is not a composition: use {"stack": [...]} or {"parallel": [...]}';
  if (value === null || typeof value !== "object") return `expected an adapter name or a composition (${SHAPES}), got ${kindOf(value)}`;
  const keys = Object.keys(value);
  const blocks = keys.filter((k) => k in BLOCKS);
  if (blocks.length === 0) {
    const odd = keys.find((k) => !KEYS.includes(k));
    if (odd !== undefined) return unknownKey(odd, Object.keys(BLOCKS), "");
    return `a composition is ${SHAPES}${keys.length ? `; ${keys.map((k) => `"${k}"`).join(", ")} alone is not one` : ""}`;
  }
  if (blocks.length > 1) return `"${blocks[0]}" and "${blocks[1]}" in one object: nest one inside the other, e.g. {"${blocks[0]}": ["a", {"${blocks[1]}": [...]}]}`;
  const block = blocks[0];
  const extra = BLOCKS[block];
  const odd = keys.find((k) => k !== block && k !== extra);
  if (odd !== undefined) return unknownKey(odd, extra ? [extra] : [], ` in a "${block}" block`);
  const members = (value as Record<string, unknown>)[block];
  if (!Array.isArray(members)) return `"${block}" takes a list of adapters or compositions, got ${kindOf(members)}`;
  if (members.length === 0) return `"${block}" needs at least one member`;
  if (members.length > MAX_WIDTH) return `"${block}" has ${members.length} members; at most ${MAX_WIDTH}`;
  for (const [i, m] of members.entries()) {
    const inner = compositionMistake(m, depth + 1);
    if (inner) return `${block}[${i}]: ${inner}`;
  }
  const given = extra === null ? undefined : (value as Record<string, unknown>)[extra];
  if (given === undefined) return block === "batch_split" ? '"batch_split" needs "sizes": how many rows go to each branch' : null;
  if (extra === "fusion") return typeof given === "string" && QUALIFIED_RE.test(given) ? null : `"fusion" is a fusion folder name (${QUALIFIED_RULE})`;
  const numbers = Array.isArray(given) && given.length >= 1 && given.length <= MAX_WIDTH && given.every((n) => typeof n === "number" && Number.isFinite(n));
  if (!numbers) return `"${extra}" takes a list of 1 to ${MAX_WIDTH} numbers`;
  if (extra === "sizes" && !given.every((n) => Number.isInteger(n) && n >= 0)) return '"sizes" are whole numbers of rows, 0 or more';
  return null;
}
