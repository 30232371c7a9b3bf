/**
 * AWS errors as the action reports them: which call an error came from, whether another try
 * may succeed, cancellation kept apart from AWS failures, and the KMS hint.
 */
import { describe, expect, it } from '@jest/globals';
import { AbortedError, ActionError } from '../../../src/core/errors.js';
import {
  awsCallOf,
  awsErrorName,
  describeAwsError,
  describeFailure,
  isTransientAwsError,
  KMS_PERMISSIONS,
  looksLikeKmsProblem,
  recordAwsCall,
  rethrowIfAborted,
} from '../../../src/aws/errors.js';

/** An error as the SDK throws it: its name, and the HTTP status when there was an answer. */
function sdkError(name: string, message: string, httpStatusCode?: number) {
  return Object.assign(new Error(message), {
    name,
    $metadata: httpStatusCode === undefined ? {} : { httpStatusCode },
  });
}

describe('awsErrorName', () => {
  it('is the name of an SDK error, and undefined for what has none', () => {
    expect(awsErrorName(sdkError('InvalidSnapshot.NotFound', 'x', 400))).toBe(
      'InvalidSnapshot.NotFound',
    );
    expect(awsErrorName({ name: 'ParameterNotFound' })).toBe('ParameterNotFound');
    expect(awsErrorName({ name: 42 })).toBeUndefined();
    expect(awsErrorName({ message: 'no name' })).toBeUndefined();
    expect(awsErrorName('InvalidSnapshot.NotFound')).toBeUndefined();
    expect(awsErrorName(null)).toBeUndefined();
    expect(awsErrorName(undefined)).toBeUndefined();
  });
});

describe('recordAwsCall and awsCallOf', () => {
  it('keeps the first call recorded on an error', () => {
    const error = new Error('socket hang up');
    recordAwsCall(error, { operation: 'CreateSnapshot', resource: 'vol-0abc' });
    recordAwsCall(error, { operation: 'DescribeSnapshots' });
    expect(awsCallOf(error)).toEqual({ operation: 'CreateSnapshot', resource: 'vol-0abc' });
  });

  it('records out of sight: not an own enumerable property, so logs and comparisons are as before', () => {
    const error = new Error('x');
    recordAwsCall(error, { operation: 'CreateSnapshot' });
    expect(Object.keys(error)).toEqual([]);
    expect(JSON.stringify(error)).toBe('{}');
    expect(error).toEqual(new Error('x'));
  });

  it('finds the call on a cause, the nearest first', () => {
    const inner = new Error('socket hang up');
    recordAwsCall(inner, { operation: 'CreateSnapshot' });
    const middle = new Error('middle', { cause: inner });
    const outer = new Error('outer', { cause: middle });
    expect(awsCallOf(outer)).toEqual({ operation: 'CreateSnapshot' });
    recordAwsCall(middle, { operation: 'DescribeVolumes' });
    expect(awsCallOf(outer)).toEqual({ operation: 'DescribeVolumes' });
  });

  it('has no call for an error from no AWS call, nor for values that are not objects', () => {
    expect(awsCallOf(new Error('plain'))).toBeUndefined();
    expect(awsCallOf(undefined)).toBeUndefined();
    expect(awsCallOf('text')).toBeUndefined();
    // Recording on a value that cannot carry it does nothing, and does not throw.
    expect(() => recordAwsCall('text', { operation: 'X' })).not.toThrow();
    expect(() => recordAwsCall(undefined, { operation: 'X' })).not.toThrow();
  });

  it('ends on a cycle of causes', () => {
    const a: Error & { cause?: unknown } = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(awsCallOf(a)).toBeUndefined();
  });
});

describe('describeFailure', () => {
  it('says which call a bare network error came from, also through a cause', () => {
    const hangUp = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    recordAwsCall(hangUp, { operation: 'CreateSnapshot', resource: 'vol-0abc' });
    expect(describeFailure(hangUp)).toBe('CreateSnapshot of vol-0abc failed: socket hang up');
    const wrapped = new Error('the snapshot could not be made', { cause: hangUp });
    expect(describeFailure(wrapped)).toBe(
      'CreateSnapshot of vol-0abc failed: the snapshot could not be made',
    );
  });

  it('leaves a message that already names the call, and one from no AWS call, as it is', () => {
    const named = new Error('CreateSnapshot of vol-0abc was refused: limit');
    recordAwsCall(named, { operation: 'CreateSnapshot', resource: 'vol-0abc' });
    expect(describeFailure(named)).toBe('CreateSnapshot of vol-0abc was refused: limit');
    expect(describeFailure(new Error('plain'))).toBe('plain');
  });

  it('leaves the action’s own errors (cancellation included) as they are', () => {
    for (const own of [new ActionError('The run was cancelled.'), new AbortedError('cancelled')]) {
      recordAwsCall(own, { operation: 'GetCommandInvocation', resource: 'cmd-1' });
      expect(describeFailure(own)).toBe(own.message);
    }
  });

  it('names the SDK error, and leaves out the resource when the request had none', () => {
    const limit = sdkError('SnapshotLimitExceeded', 'You have reached the limit.', 400);
    recordAwsCall(limit, { operation: 'CreateSnapshot' });
    expect(describeFailure(limit)).toBe(
      'CreateSnapshot failed: SnapshotLimitExceeded: You have reached the limit.',
    );
  });
});

describe('describeAwsError', () => {
  it('puts the error name in front of the message', () => {
    expect(describeAwsError(sdkError('UnauthorizedOperation', 'You are not authorized.'))).toBe(
      'UnauthorizedOperation: You are not authorized.',
    );
  });

  it('does not repeat a name the message starts with, nor add the generic "Error"', () => {
    expect(describeAwsError(sdkError('ThrottlingException', 'ThrottlingException: Rate'))).toBe(
      'ThrottlingException: Rate',
    );
    expect(describeAwsError(new Error('socket hang up'))).toBe('socket hang up');
    expect(describeAwsError('plain text')).toBe('plain text');
  });
});

describe('isTransientAwsError', () => {
  it('is true for network faults, timeouts, throttling and server errors', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(isTransientAwsError(reset)).toBe(true);
    expect(isTransientAwsError(Object.assign(new Error('x'), { code: 'ETIMEDOUT' }))).toBe(true);
    expect(isTransientAwsError(Object.assign(new Error('x'), { code: 'EAI_AGAIN' }))).toBe(true);
    expect(isTransientAwsError(sdkError('TimeoutError', 'timed out'))).toBe(true);
    expect(isTransientAwsError(sdkError('RequestLimitExceeded', 'Request limit', 503))).toBe(true);
    expect(isTransientAwsError(sdkError('ThrottlingException', 'Rate exceeded', 400))).toBe(true);
    expect(isTransientAwsError(sdkError('SomethingElse', 'slow down', 429))).toBe(true);
    expect(isTransientAwsError(sdkError('InternalError', 'oops', 500))).toBe(true);
    expect(isTransientAwsError(sdkError('NotImplemented', 'no', 501))).toBe(true);
  });

  it('is false for an error another try would repeat', () => {
    expect(isTransientAwsError(sdkError('UnauthorizedOperation', 'denied', 403))).toBe(false);
    expect(isTransientAwsError(sdkError('InvalidSnapshot.NotFound', 'gone', 400))).toBe(false);
    expect(isTransientAwsError(new ActionError('Input x: bad'))).toBe(false);
    expect(isTransientAwsError(sdkError('AbortError', 'aborted'))).toBe(false);
    expect(isTransientAwsError('ECONNRESET')).toBe(false);
    expect(isTransientAwsError(undefined)).toBe(false);
  });

  it('looks at the cause of a wrapping error', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(isTransientAwsError(new Error('wrapped', { cause: reset }))).toBe(true);
    const throttled = sdkError('ThrottlingException', 'Rate exceeded', 400);
    expect(isTransientAwsError(new Error('wrapped', { cause: throttled }))).toBe(true);
    const denied = sdkError('UnauthorizedOperation', 'denied', 403);
    expect(isTransientAwsError(new Error('wrapped', { cause: denied }))).toBe(false);
  });
});

describe('rethrowIfAborted', () => {
  it('throws the cancellation as AbortedError once the signal aborted, whatever the error', () => {
    const controller = new AbortController();
    controller.abort(new AbortedError('The run was cancelled.'));
    const socket = sdkError('RequestAbortedError', 'Request aborted');
    expect(() => rethrowIfAborted(socket, controller.signal)).toThrow(
      new AbortedError('The run was cancelled.'),
    );
    const other = new AbortController();
    other.abort('timeout-minutes reached');
    expect(() => rethrowIfAborted(new Error('x'), other.signal)).toThrow(AbortedError);
    expect(() => rethrowIfAborted(new Error('x'), other.signal)).toThrow('timeout-minutes reached');
  });

  it('rethrows an AbortedError, also while the signal is not aborted', () => {
    const aborted = new AbortedError('cancelled');
    let thrown: unknown;
    try {
      rethrowIfAborted(aborted, new AbortController().signal);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBe(aborted);
  });

  it('lets any other error through to the caller', () => {
    const signal = new AbortController().signal;
    expect(() =>
      rethrowIfAborted(sdkError('UnauthorizedOperation', 'denied'), signal),
    ).not.toThrow();
    expect(() => rethrowIfAborted(new ActionError('x'), signal)).not.toThrow();
  });
});

describe('looksLikeKmsProblem', () => {
  it('is true when the error’s name or message is about KMS or a key', () => {
    expect(looksLikeKmsProblem(sdkError('KMSKeyNotAccessibleFault', 'denied'))).toBe(true);
    expect(looksLikeKmsProblem(sdkError('InvalidParameter', 'The key ARN is invalid.'))).toBe(true);
    expect(looksLikeKmsProblem(new Error('Not authorized for kms:CreateGrant'))).toBe(true);
    expect(looksLikeKmsProblem(sdkError('InvalidKeyId.NotFound', 'x'))).toBe(true);
  });

  it('is false for other failures', () => {
    expect(looksLikeKmsProblem(sdkError('SnapshotLimitExceeded', 'limit reached'))).toBe(false);
    expect(looksLikeKmsProblem(new Error('socket hang up'))).toBe(false);
  });

  it('names the KMS permissions an encrypted copy needs', () => {
    expect(KMS_PERMISSIONS).toContain('kms:CreateGrant');
    expect(KMS_PERMISSIONS).toContain('kms:DescribeKey');
  });
});
