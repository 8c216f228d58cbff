// Domain errors: what went wrong, in terms of polyhead's own things. Each maps
// to one problem type (core/problem.ts); none depends on a runtime.

/** A name that the store does not hold (→ 404). */
export class NotFoundError extends Error {
  constructor(readonly kind: "model" | "adapter" | "fusion" | "head", readonly name: string, detail?: string) {
    super(detail ?? `${kind} "${name}" not found`);
  }
}

/** Files that exist but cannot be served with this model (→ 422). */
export class InvalidAdapterError extends Error {
  constructor(readonly kind: string, readonly name: string, detail: string) {
    super(`${kind} "${name}": ${detail}`);
  }
}

/** A composition that cannot run as asked; `path` points into the request (→ 422). */
export class CompositionError extends Error {
  constructor(message: string, readonly path: string) {
    super(message);
  }
}

/** An input the task cannot read: an empty text, a single text for a head that reads pairs; `path` points into the request (→ 422). */
export class InputError extends Error {
  constructor(message: string, readonly path: string) {
    super(message);
  }
}

/** A weight file is malformed, hostile or in a form polyhead does not read (→ 422). */
export class FormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FormatError";
  }
}

/** Raised when the store cannot be reached or answers with a server error, as opposed to a missing key (→ 503). */
export class StoreUnavailableError extends Error {}

/** A store location where there is no store (a local folder that does not exist). */
export class StoreMissingError extends Error {}

/** A folder `polyhead push` will not upload, with the reason. */
export class RefusedError extends Error {}

/** A name `polyhead inspect` finds in none of the folders it looked in. */
export class NotInStoreError extends Error {}

/** A model's queue of admitted work is full: the request may be sent again after `retryAfter` seconds (→ 503). */
export class OverloadedError extends Error {
  constructor(readonly model: string, detail: string, readonly retryAfter: number) {
    super(detail);
  }
}

/** A request that asks for more work, or a larger answer, than one request may (→ 413). */
export class OverBudgetError extends Error {}

/** The client went away: its queued work was dropped (the answer reaches no one). */
export class CancelledError extends Error {
  constructor() {
    super("the client closed the connection; the request's queued work was dropped");
  }

  /** Ends a request whose client has gone (its signal aborted). */
  static throwIfAborted(signal: AbortSignal | undefined): void {
    if (signal?.aborted) throw new CancelledError();
  }
}
