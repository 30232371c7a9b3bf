/**
 * Errors the action reports to the user. Each carries a message written for the
 * person reading the workflow log: what went wrong and what to do about it.
 */

/**
 * A failure with a known cause and an actionable message (AWS, GitHub, the builder, an input).
 * Every error the action throws for a reader is one; each subclass sets its own `name`.
 */
export class ActionError extends Error {
  override readonly name: string = 'ActionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A bad input value. Thrown before any AWS resource is created. */
export class InputError extends ActionError {
  override readonly name: string = 'InputError';
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(`Input '${input}': ${message}`);
  }
}

/** Several bad input values, each named; reported together so one run shows them all. */
export class InputErrors extends InputError {
  override readonly name: string = 'InputErrors';
  constructor(readonly errors: readonly InputError[]) {
    super(errors[0]?.input ?? 'inputs', '');
    this.message = `${errors.length} inputs are wrong:\n${errors.map((e) => `- ${e.message}`).join('\n')}`;
  }
}

/** The run was cancelled (SIGINT/SIGTERM from the runner) or hit its overall timeout. */
export class AbortedError extends ActionError {
  override readonly name: string = 'AbortedError';
}

/** One of the action's own errors (its message is written for the reader), not an SDK's. */
export function isOwnError(error: unknown): boolean {
  return error instanceof ActionError;
}

/** The message of any thrown value, for logs. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
