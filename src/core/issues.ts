// The one formatter of validation issues (zod's, or anything shaped like them):
// "path: message; path: message", with `root` standing for an empty path.

export interface Issue {
  path: readonly PropertyKey[];
  message: string;
}

export function issuePath(issue: Issue): string {
  return issue.path.map(String).join(".");
}

export function formatIssues(issues: readonly Issue[], root: string): string {
  return issues.map((i) => `${issuePath(i) || root}: ${i.message}`).join("; ");
}

/** The issues of a validation error (a ZodError or the like), or null when `e` is not one. */
export function issuesOf(e: unknown): readonly Issue[] | null {
  const issues = (e as { issues?: unknown } | null)?.issues;
  return e instanceof Error && Array.isArray(issues) ? (issues as Issue[]) : null;
}

/** An error's message: its issues formatted when it is a validation error. */
export function errorMessage(e: unknown, root: string): string {
  const issues = issuesOf(e);
  return issues ? formatIssues(issues, root) : e instanceof Error ? e.message : String(e);
}

/**
 * Why JSON.parse refused a text, without quoting the text: V8's messages can
 * carry a snippet of it, and a file in a store may be something else entirely
 * (a config linked to /etc/passwd).
 */
export function jsonSyntax(e: unknown, text?: string): string {
  const m = e instanceof Error ? e.message : String(e);
  const where = /line (\d+) column (\d+)/.exec(m) ?? null;
  const at = /position (\d+)/.exec(m);
  if (where) return `syntax error at line ${where[1]}, column ${where[2]}`;
  if (at && text !== undefined) {
    const before = text.slice(0, Number(at[1])).split("\n");
    return `syntax error at line ${before.length}, column ${before[before.length - 1].length + 1}`;
  }
  if (at) return `syntax error at position ${at[1]}`;
  return /end of JSON input/.test(m) ? "it ends too early" : "syntax error";
}
