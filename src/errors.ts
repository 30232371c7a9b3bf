/**
 * Errors the action reports to the user. Each carries a message written for the
 * person reading the workflow log: what went wrong and what to do about it.
 */

/** A bad input value. Thrown before any AWS resource is created. */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(`Input '${input}': ${message}`);
  }
}

/** A failure with a known cause and an actionable message (AWS, GitHub, the builder). */
export class ActionError extends Error {
  override readonly name = 'ActionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The run was cancelled (SIGINT/SIGTERM from the runner) or hit its overall timeout. */
export class AbortedError extends Error {
  override readonly name = 'AbortedError';
}

/** The message of any thrown value, for logs. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The AWS error name (`error.name`) of an SDK exception, when there is one. */
export function awsErrorName(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'name' in error) {
    const name = (error as { name: unknown }).name;
    return typeof name === 'string' ? name : undefined;
  }
  return undefined;
}

/** An AWS error for a message: its name (when the message does not already start with it) and message. */
export function describeAwsError(error: unknown): string {
  const name = awsErrorName(error);
  const message = errorMessage(error);
  return name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}
