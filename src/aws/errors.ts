/**
 * AWS errors as the action reports them: the SDK error's name, which call it came from,
 * whether another try may succeed, cancellation apart, and KMS hints.
 */
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import { abortReason } from '../core/clock.js';
import { AbortedError, errorMessage, isOwnError } from '../core/errors.js';

/** The AWS error name (`error.name`) of an SDK exception, when there is one. */
export function awsErrorName(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'name' in error) {
    const name = (error as { name: unknown }).name;
    return typeof name === 'string' ? name : undefined;
  }
  return undefined;
}

/** Which AWS call an SDK error came from (set by the clients' middleware, src/aws/clients.ts). */
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
export function isTransientAwsError(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 10) return false;
  const sdkError = error as Parameters<typeof isTransientError>[0];
  if (isTransientError(sdkError) || isThrottlingError(sdkError) || isServerError(sdkError))
    return true;
  // isTransientError follows causes, the other two do not: a wrapped throttling error counts too.
  return isTransientAwsError((error as { cause?: unknown }).cause, depth + 1);
}

/** An AWS error for a message: its name (when the message does not already start with it) and message. */
export function describeAwsError(error: unknown): string {
  const name = awsErrorName(error);
  const message = errorMessage(error);
  return name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}

/** Rethrows cancellation as AbortedError, so it is never reported as an AWS failure. */
export function rethrowIfAborted(error: unknown, signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
  if (error instanceof AbortedError) throw error;
}

export const KMS_PERMISSIONS =
  'kms:CreateGrant, kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, kms:GenerateDataKey* and kms:DescribeKey';

export function looksLikeKmsProblem(error: unknown): boolean {
  const text = `${awsErrorName(error) ?? ''} ${errorMessage(error)}`;
  return /kms|key/i.test(text);
}
