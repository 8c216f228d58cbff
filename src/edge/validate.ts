import { FuseRequest, GenerateRequest, LIMITS, PredictRequest, ScoreRequest } from "../api/schemas.ts";
import { toBranches } from "../engine/composition.ts";
import { CompositionError } from "../core/errors.ts";
import { problemResponse, toProblem } from "../core/problem.ts";
import { problem } from "./problems.ts";
import { compositionNames } from "./routing.ts";

// Validation at the edge with the server's own schemas, so a bad request is
// answered before any backend is contacted, with the problem the server would give.

export type Checked = { ok: true; model: string; names: string[] } | { ok: false; response: Response };

/** Parses a JSON body text; a problem response when it is too large or not JSON. */
export function parseBody(text: string): { ok: true; body: unknown } | { ok: false; response: Response } {
  if (new TextEncoder().encode(text).length > LIMITS.maxBodyBytes) {
    return { ok: false, response: problem(413, "too-large", "Request too large", `the body is larger than ${LIMITS.maxBodyBytes} bytes`) };
  }
  try {
    return { ok: true, body: JSON.parse(text) };
  } catch {
    return { ok: false, response: problem(400, "invalid-json", "Malformed request body", "the body is not valid JSON") };
  }
}

/** A body whose tasks carry compositions: checked whole, its adapter names kept for affinity. */
function checkTasks(schema: typeof PredictRequest | typeof GenerateRequest | typeof ScoreRequest) {
  return (body: unknown): Checked => {
    const r = schema.safeParse(body);
    if (!r.success) return { ok: false, response: problemResponse(toProblem(r.error)) };
    const rows = r.data.inputs.map((_, i) => i);
    const names = new Set<string>();
    for (const [i, task] of r.data.tasks.entries()) {
      if (task.adapters === null) continue;
      try {
        toBranches(task.adapters, rows, `tasks[${i}].adapters`);
      } catch (e) {
        if (e instanceof CompositionError) return { ok: false, response: problemResponse(toProblem(e)) };
        throw e;
      }
      compositionNames(task.adapters, names);
    }
    return { ok: true, model: r.data.model, names: [...names] };
  };
}

export const checkPredict = checkTasks(PredictRequest);
export const checkGenerate = checkTasks(GenerateRequest);
export const checkScore = checkTasks(ScoreRequest);

export function checkFuse(body: unknown): Checked {
  const r = FuseRequest.safeParse(body);
  if (!r.success) return { ok: false, response: problemResponse(toProblem(r.error)) };
  const names = [...(r.data.fuse ?? []), ...(r.data.fusion ? [r.data.fusion] : [])];
  return { ok: true, model: r.data.model, names };
}
