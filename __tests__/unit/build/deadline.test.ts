// timeout-minutes (src/build/deadline.ts): the budget, the explained timeout, the combined
// signal, and a build stopped by it.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import {
  CancelCommandCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { buildSnapshot } from '../../../src/build/index.js';
import { mockAws, type MockedAws } from '../../../test-support/aws-mocks.js';
import { rejectionOf } from '../../../test-support/rejection.js';
import { Deadline } from '../../../src/build/deadline.js';
import { WaitTimeoutError } from '../../../src/aws/wait.js';
import { AbortedError, ActionError } from '../../../src/core/errors.js';
import { VirtualClock } from '../../../test-support/virtual-clock.js';
import { config, deps, REGISTRY } from '../../../test-support/build.js';

let aws: MockedAws | undefined;
afterEach(() => aws?.restore());

describe('timeout-minutes', () => {
  it('cuts off an SDK request in flight at timeout-minutes, and cleans up', async () => {
    aws = mockAws(REGISTRY);
    const mocked = aws;
    // A request that hangs until its abort signal fires (what the SDK's HTTP handler does).
    mocked.ssm.on(SendCommandCommand).callsFake(() => {
      const call = mocked.ssm.commandCalls(SendCommandCommand).at(-1);
      const options = (call?.args as unknown[] | undefined)?.[1] as
        { abortSignal?: AbortSignal } | undefined;
      return new Promise((_, reject) => {
        options?.abortSignal?.addEventListener('abort', () =>
          reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })),
        );
      });
    });
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const { d } = deps(aws);
      const build = rejectionOf(buildSnapshot(config({ 'timeout-minutes': '15' }), d));
      // Let the build reach the hanging request, then move the wall clock to the deadline.
      for (let i = 0; i < 200 && mocked.ssm.commandCalls(SendCommandCommand).length === 0; i++)
        await new Promise((r) => setImmediate(r));
      expect(mocked.ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
      jest.advanceTimersByTime(15 * 60_000);
      const error = await build;
      expect(error.message).toBe('timeout-minutes (15) was reached: the build was stopped.');
      expect(mocked.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
    } finally {
      jest.useRealTimers();
    }
  });

  it('stops at timeout-minutes, naming the bound', async () => {
    aws = mockAws(REGISTRY);
    aws.ssm
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'InProgress', StatusDetails: 'InProgress' });
    const { d, clock } = deps(aws);
    const start = clock.now();
    const error = await rejectionOf(buildSnapshot(config({ 'timeout-minutes': '15' }), d));
    expect(error.message).toContain('timeout-minutes (15)');
    expect(clock.now() - start).toBeLessThanOrEqual(16 * 60_000);
    expect(aws.ssm.commandCalls(CancelCommandCommand)).toHaveLength(1);
    expect(aws.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
  });
});

describe('Deadline', () => {
  const waitTimeout = () =>
    new WaitTimeoutError('the builder i-1 to be running', 60_000, 'pending');
  const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

  it('gives a wait its bound, or what is left of timeout-minutes, and refuses once none is', () => {
    const clock = new VirtualClock();
    const deadline = new Deadline(10, clock.now(), clock, new AbortController().signal);
    try {
      expect(deadline.at).toBe(clock.now() + 10 * 60_000);
      expect(deadline.budget(60_000, 'x')).toBe(60_000);
      clock.advance(9.5 * 60_000);
      expect(deadline.budget(60_000, 'x')).toBe(30_000);
      expect(deadline.budget(Number.POSITIVE_INFINITY, 'x')).toBe(30_000);
      clock.advance(30_000);
      expect(() => deadline.budget(60_000, 'the builder stopped')).toThrow(
        new ActionError('timeout-minutes (10) was reached before the builder stopped.'),
      );
    } finally {
      deadline.dispose();
    }
  });

  it('explains a wait that ran out because timeout-minutes did, and only that', async () => {
    const clock = new VirtualClock();
    const deadline = new Deadline(10, clock.now(), clock, new AbortController().signal);
    try {
      const early = waitTimeout();
      expect(deadline.explain(early)).toBe(early);
      clock.advance(10 * 60_000);
      const other = new Error('boom');
      expect(deadline.explain(other)).toBe(other);
      const late = waitTimeout();
      const explained = deadline.explain(late) as ActionError;
      expect(explained).toBeInstanceOf(ActionError);
      expect(explained.message).toBe(
        `${late.message} The whole build is bounded by timeout-minutes (10).`,
      );
      expect(explained.cause).toBe(late);
      const rejected = await rejectionOf(deadline.explained(Promise.reject(waitTimeout())));
      expect(rejected.message).toContain('The whole build is bounded by timeout-minutes (10).');
      expect(await deadline.explained(Promise.resolve(7))).toBe(7);
    } finally {
      deadline.dispose();
    }
  });

  it('aborts its signal on cancellation, also one before it started, and says so', () => {
    const clock = new VirtualClock();
    for (const before of [true, false]) {
      const cancel = new AbortController();
      if (before) cancel.abort(new Error('SIGINT'));
      const deadline = new Deadline(10, clock.now(), clock, cancel.signal);
      if (!before) cancel.abort(new Error('SIGINT'));
      expect(deadline.signal.aborted).toBe(true);
      expect(deadline.signal.reason).toEqual(new AbortedError('The run was cancelled.'));
      // A cut-off request's own error says less than cancellation; an ActionError says more.
      expect(deadline.failure(new Error('Request aborted'))).toEqual(
        new AbortedError('The run was cancelled.'),
      );
      const said = new ActionError('RunInstances failed: x');
      expect(deadline.failure(said)).toBe(said);
      // A part that wrapped the SDK's AbortError as its own failure says no more than that.
      const sdkAbort = Object.assign(new Error('Request aborted'), { name: 'AbortError' });
      const wrapped = new ActionError('SSM SendCommand failed: AbortError: Request aborted', {
        cause: sdkAbort,
      });
      expect(deadline.failure(wrapped)).toEqual(new AbortedError('The run was cancelled.'));
      deadline.dispose();
    }
  });

  it('aborts its signal at timeout-minutes on the wall clock: the deadline is then the failure', async () => {
    const clock = new VirtualClock();
    const deadline = new Deadline(1, clock.now() - 60_000, clock, new AbortController().signal);
    try {
      await tick();
      expect(deadline.signal.aborted).toBe(true);
      const reached = new ActionError('timeout-minutes (1) was reached: the build was stopped.');
      expect(deadline.signal.reason).toEqual(reached);
      expect(deadline.failure(new ActionError('SendCommand failed'))).toEqual(reached);
    } finally {
      deadline.dispose();
    }
  });

  it('fails with the error itself while neither happened', () => {
    const clock = new VirtualClock();
    const deadline = new Deadline(10, clock.now(), clock, new AbortController().signal);
    const error = new Error('boom');
    expect(deadline.failure(error)).toBe(error);
    deadline.dispose();
  });

  it('once disposed, follows neither the timer nor cancellation', async () => {
    const clock = new VirtualClock();
    const cancel = new AbortController();
    const deadline = new Deadline(1, clock.now() - 60_000, clock, cancel.signal);
    deadline.dispose();
    cancel.abort(new Error('SIGINT'));
    await tick();
    expect(deadline.signal.aborted).toBe(false);
  });
});
