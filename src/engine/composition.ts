import { z } from "zod";
import { CompositionError } from "../core/errors.ts";
import { QUALIFIED_RE, QUALIFIED_RULE } from "../core/names.ts";
import { compositionMistake } from "./composition-errors.ts";

// The composition grammar of the API (it mirrors AdapterHub's blocks) and its
// normal form. Parallel and BatchSplit only route rows: every row of a branch
// goes through the same chain of Stack / Fuse / Average blocks, and a branch
// computes exactly what it would alone. So a composition becomes a list of
// branches, each a row set plus a chain without Parallel or BatchSplit.

export type Composition =
  | string
  | { stack: Composition[] }
  | { fuse: Composition[]; fusion?: string }
  | { parallel: Composition[] }
  | { batch_split: Composition[]; sizes: number[] }
  | { average: Composition[]; weights?: number[] };

export const MAX_DEPTH = 6;
export { MAX_WIDTH } from "../core/limits.ts";
import { MAX_WIDTH } from "../core/limits.ts";
/**
 * Parallel blocks under a stack multiply: {"stack": [P, P, P, P]} with P a
 * parallel of 16 is 65,536 branches in a few hundred bytes. The expansion is
 * bounded while it is computed, by branches and by the rows they run.
 */
export const MAX_BRANCHES = 64;
export const MAX_BRANCH_ROWS = 1024;

export const QualifiedName = z.string().regex(QUALIFIED_RE, QUALIFIED_RULE);

const list = <T extends z.ZodTypeAny>(item: T) => z.array(item).min(1, "a block needs at least one member").max(MAX_WIDTH, `a block has at most ${MAX_WIDTH} members`);

const explained = { error: (issue: { input?: unknown }) => compositionMistake(issue.input) ?? undefined };

export const CompositionSchema: z.ZodType<Composition> = z.lazy(() =>
  z.union(
    [
      QualifiedName,
      z.strictObject({ stack: list(CompositionSchema) }, explained),
      z.strictObject({ fuse: list(CompositionSchema), fusion: QualifiedName.optional() }, explained),
      z.strictObject({ parallel: list(CompositionSchema) }, explained),
      z.strictObject({ batch_split: list(CompositionSchema), sizes: z.array(z.number().int().nonnegative()).min(1).max(MAX_WIDTH) }, explained),
      z.strictObject({ average: list(CompositionSchema), weights: z.array(z.number().finite()).min(1).max(MAX_WIDTH).optional() }, explained),
    ],
    // a failed union says only "Invalid input", an unknown key only that it is unknown: say what the mistake is, and where
    explained,
  ),
);

/** A chain block after normalisation: no Parallel, no BatchSplit. */
export type Chain =
  | { t: "adapter"; name: string }
  | { t: "stack"; children: Chain[] }
  | { t: "fuse"; fusion: string | undefined; children: Chain[] }
  | { t: "average"; weights: number[]; children: Chain[] };

export interface Branch {
  chain: Chain;
  /** indices into the request's inputs */
  rows: number[];
}

export function depth(c: Composition): number {
  if (typeof c === "string") return 1;
  const children = Object.values(c).find(Array.isArray) as Composition[];
  return 1 + Math.max(...children.filter((x) => typeof x !== "number").map(depth));
}

/** Splits a composition into branches over `rows`, in branch order. */
export function toBranches(c: Composition, rows: number[], path = "adapters"): Branch[] {
  if (depth(c) > MAX_DEPTH) throw new CompositionError(`composition is nested deeper than ${MAX_DEPTH}`, path);
  return branches(c, rows, path);
}

function bounded<T extends { rows: number[] }>(out: T[], path: string): T[] {
  if (out.length > MAX_BRANCHES) throw new CompositionError(`the composition expands to more than ${MAX_BRANCHES} branches (parallel blocks multiply under a stack)`, path);
  const total = out.reduce((n, b) => n + b.rows.length, 0);
  if (total > MAX_BRANCH_ROWS) throw new CompositionError(`the composition runs ${total} rows over its branches, at most ${MAX_BRANCH_ROWS}`, path);
  return out;
}

function branches(c: Composition, rows: number[], path: string): Branch[] {
  if (typeof c === "string") return [{ chain: { t: "adapter", name: c }, rows }];
  if ("parallel" in c) return bounded(c.parallel.flatMap((child, i) => branches(child, rows, `${path}.parallel[${i}]`)), path);
  if ("batch_split" in c) {
    const { batch_split: children, sizes } = c;
    if (sizes.length !== children.length) {
      throw new CompositionError(`batch_split has ${children.length} branches but ${sizes.length} sizes`, `${path}.sizes`);
    }
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== rows.length) {
      throw new CompositionError(`batch_split sizes add up to ${total}, but the batch has ${rows.length} rows`, `${path}.sizes`);
    }
    let at = 0;
    return children.flatMap((child, i) => {
      const mine = rows.slice(at, (at += sizes[i]));
      return mine.length ? branches(child, mine, `${path}.batch_split[${i}]`) : [];
    });
  }
  if ("stack" in c) {
    let acc: { chains: Chain[]; rows: number[] }[] = [{ chains: [], rows }];
    c.stack.forEach((child, i) => {
      acc = bounded(
        acc.flatMap((a) => branches(child, a.rows, `${path}.stack[${i}]`).map((b) => ({ chains: [...a.chains, b.chain], rows: b.rows }))),
        `${path}.stack[${i}]`,
      );
    });
    return acc.map((a) => ({ chain: { t: "stack", children: a.chains }, rows: a.rows }));
  }
  if ("fuse" in c) {
    const children = c.fuse.map((child, i) => single(child, rows, `${path}.fuse[${i}]`, "fuse"));
    for (const [i, ch] of children.entries()) {
      if (ch.t !== "adapter" && ch.t !== "stack") {
        throw new CompositionError("fuse may contain adapters and stacks only", `${path}.fuse[${i}]`);
      }
    }
    return [{ chain: { t: "fuse", fusion: c.fusion, children }, rows }];
  }
  const n = c.average.length;
  const raw = c.weights ?? new Array(n).fill(1 / n);
  if (raw.length !== n) throw new CompositionError(`average has ${n} adapters but ${raw.length} weights`, `${path}.weights`);
  const sum = raw.reduce((a, b) => a + b, 0);
  if (sum === 0) throw new CompositionError("average weights add up to 0", `${path}.weights`);
  const children = c.average.map((child, i) => single(child, rows, `${path}.average[${i}]`, "average"));
  return [{ chain: { t: "average", weights: raw.map((w) => w / sum), children }, rows }];
}

function single(c: Composition, rows: number[], path: string, parent: string): Chain {
  const b = branches(c, rows, path);
  if (b.length !== 1 || b[0].rows.length !== rows.length) {
    throw new CompositionError(`parallel and batch_split cannot be nested inside ${parent}`, path);
  }
  return b[0].chain;
}
