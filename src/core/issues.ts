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
