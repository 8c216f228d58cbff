import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import { HttpProblem } from "../../core/problem.ts";
import { LIMITS } from "../schemas.ts";

/** Bodies larger than LIMITS.maxBodyBytes are refused with 413 before they are read whole. */
export function bodyLimit() {
  return honoBodyLimit({
    maxSize: LIMITS.maxBodyBytes,
    onError: () => {
      throw new HttpProblem(413, "too-large", "Request too large", `the body is larger than ${LIMITS.maxBodyBytes} bytes`);
    },
  });
}
