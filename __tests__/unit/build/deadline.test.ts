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
