/**
 * Errors the action reports to the user. Each carries a message written for the
 * person reading the workflow log: what went wrong and what to do about it.
 */

import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';

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

/** Several bad input values, each named; reported together so one run shows them all. */
export class InputErrors extends InputError {
  constructor(readonly errors: readonly InputError[]) {
    super(errors[0]?.input ?? 'inputs', '');
    this.message = `${errors.length} inputs are wrong:\n${errors.map((e) => `- ${e.message}`).join('\n')}`;
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

/** One of the action's own errors (its message is written for the reader), not an SDK's. */
export function isOwnError(error: unknown): boolean {
  return (
    error instanceof ActionError || error instanceof AbortedError || error instanceof InputError
  );
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

/** Which AWS call an SDK error came from (set by the clients' middleware, src/aws-clients.ts). */
export interface AwsCall {
  operation: string;
  /** The first ID or name in the request, e.g. vol-0abc, when it has one. */
  resource?: string;
}

const AWS_CALL = Symbol.for('bottlerocket-ebs-snapshot.awsCall');

/** Records on an error which call it came from (the first record stays). */
export function recordAwsCall(error: unknown, call: AwsCall): void {
  if (error && typeof error === 'object' && !(AWS_CALL in error)) {
    Object.defineProperty(error, AWS_CALL, { value: call, enumerable: false });
  }
}

/** The AWS call an error, or one of its causes, came from. */
export function awsCallOf(error: unknown, depth = 0): AwsCall | undefined {
  if (!error || typeof error !== 'object' || depth > 10) return undefined;
  const call = (error as { [AWS_CALL]?: AwsCall })[AWS_CALL];
  return call ?? awsCallOf((error as { cause?: unknown }).cause, depth + 1);
}

/**
 * The message a failure is reported with: an error that came from an AWS call and does not say
 * which gets "<Operation> of <resource> failed: " in front (a bare "socket hang up" says nothing).
 */
export function describeFailure(error: unknown): string {
  const message = errorMessage(error);
  // The action's own errors say what failed already (and cancellation is no call's failure).
  if (isOwnError(error)) return message;
  const call = awsCallOf(error);
  if (!call || message.includes(call.operation)) return message;
  return `${call.operation}${call.resource ? ` of ${call.resource}` : ''} failed: ${describeAwsError(error)}`;
}

/**
 * An error another try may not repeat: a network fault or timeout, throttling, a 5xx (the SDK's
 * own classification, @smithy/core retry), also when it comes as the cause of another error.
 */
export function isTransientAwsError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const sdkError = error as Parameters<typeof isTransientError>[0];
  return isTransientError(sdkError) || isThrottlingError(sdkError) || isServerError(sdkError);
}

/** An AWS error for a message: its name (when the message does not already start with it) and message. */
export function describeAwsError(error: unknown): string {
  const name = awsErrorName(error);
  const message = errorMessage(error);
  return name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}
