/** How distribution reports AWS failures: cancellation apart, with the error's name, and KMS hints. */
import { abortReason } from '../core/clock.js';
import { AbortedError, awsErrorName, errorMessage } from '../core/errors.js';

/** Rethrows cancellation as AbortedError, so it is never reported as an AWS failure. */
export function rethrowIfAborted(error: unknown, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
  if (error instanceof AbortedError) throw error;
}

export { describeAwsError } from '../core/errors.js';

export const KMS_PERMISSIONS =
  'kms:CreateGrant, kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, kms:GenerateDataKey* and kms:DescribeKey';

export function looksLikeKmsProblem(error: unknown): boolean {
  const text = `${awsErrorName(error) ?? ''} ${errorMessage(error)}`;
  return /kms|key/i.test(text);
}
