// src/action/sweep.ts: the sweep by invocation tag both steps end with, on the in-memory runtime
// with a mocked EC2: one look per kind and region when nothing may be unseen, looks again when a
// create request went unanswered, runs on its own bounded signal (a cancelled run still cleans
// up), and never throws.
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { sweep, type SweepScope } from '../../../src/action/sweep.js';
import type { Clock } from '../../../src/core/clock.js';
import { MemoryRuntime } from '../../../test-support/action-runtime.js';
import { VirtualClock } from '../../../test-support/virtual-clock.js';

const ec2 = mockClient(EC2Client);
afterEach(() => {
  ec2.reset();
});

const context = {
  repository: 'acme/platform',
  runId: '4242',
  runAttempt: '1',
  serverUrl: 'https://github.com',
  oidcAvailable: false,
  invocation: 'a1b2c3d4e5f6',
};

/** EC2 with these instances of the invocation left; terminating one removes it. */
function leftInEc2(instances: string[] = []) {
  const world = { instances: [...instances] };
  ec2.on(DescribeInstancesCommand).callsFake(() => ({
    Reservations: [{ Instances: world.instances.map((InstanceId) => ({ InstanceId })) }],
  }));
  ec2.on(TerminateInstancesCommand).callsFake((input: { InstanceIds: string[] }) => {
    world.instances = world.instances.filter((id) => !input.InstanceIds.includes(id));
    return { TerminatingInstances: input.InstanceIds.map((InstanceId) => ({ InstanceId })) };
  });
  ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
  ec2.on(DescribeVolumesCommand).resolves({ Volumes: [] });
  return world;
}

function scope(overrides: Partial<SweepScope> = {}): SweepScope {
  return {
    regions: [{ region: 'us-west-2', ec2: new EC2Client({ region: 'us-west-2' }) }],
    context,
    keep: new Set<string>(),
    ...overrides,
  };
}

const looks = () => ec2.commandCalls(DescribeInstancesCommand).length;

describe('sweep', () => {
  it('with nothing left and nothing unseen, looks once per kind and region and says clean', async () => {
    leftInEc2();
    const clock = new VirtualClock();
    const rt = new MemoryRuntime({ clock });
    const started = clock.now();
    const result = await sweep(rt, scope());

    expect(result).toEqual({
      clean: true,
      terminated: [],
      deletedSnapshots: [],
      deletedVolumes: [],
      errors: [],
    });
    expect(looks()).toBe(1);
    expect(ec2.commandCalls(DescribeSnapshotsCommand)).toHaveLength(1);
    expect(ec2.commandCalls(DescribeVolumesCommand)).toHaveLength(1);
    expect(clock.now()).toBe(started);
    // In the step's log.
    expect(rt.logger.messages('info')).toEqual([
      'Swept by tag: nothing of this run is left, nothing to clean up.',
    ]);
  });

  it('when a create request went unanswered, looks again on the step’s clock before saying clean', async () => {
    const world = leftInEc2();
    let n = 0;
    ec2.on(DescribeInstancesCommand).callsFake(() => {
      // The instance shows in EC2's Describe calls only at the third look.
      if (++n === 3) world.instances.push('i-0late0000000000000');
      return {
        Reservations: [{ Instances: world.instances.map((InstanceId) => ({ InstanceId })) }],
      };
    });
    const clock = new VirtualClock();
    const rt = new MemoryRuntime({ clock });
    const started = clock.now();
    const result = await sweep(rt, scope({ uncertain: true }));

    expect(result.clean).toBe(true);
    expect(result.terminated).toEqual(['i-0late0000000000000']);
    expect(looks()).toBeGreaterThanOrEqual(4);
    expect(clock.now() - started).toBeGreaterThan(0);
    expect(rt.logger.messages('info')).toContain('Terminated i-0late0000000000000 (us-west-2).');
  });

  it('looks again for the whole grace when nothing shows up, then says clean', async () => {
    leftInEc2();
    const clock = new VirtualClock();
    const started = clock.now();
    const result = await sweep(new MemoryRuntime({ clock }), scope({ uncertain: true }));
    expect(result.clean).toBe(true);
    expect(looks()).toBeGreaterThan(1);
    expect(clock.now() - started).toBeGreaterThanOrEqual(30_000);
  });

  it('removes what the step recorded even when a search by tag misses it', async () => {
    leftInEc2();
    const result = await sweep(
      new MemoryRuntime(),
      scope({ known: { instances: ['i-0untagged000000000'] } }),
    );
    expect(result.terminated).toEqual(['i-0untagged000000000']);
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input.InstanceIds).toEqual([
      'i-0untagged000000000',
    ]);
  });

  it('still cleans up after the run was cancelled: its calls carry a signal of their own', async () => {
    leftInEc2(['i-0123456789abcdef0']);
    const cancelled = new AbortController();
    cancelled.abort(new Error('Cancelled (SIGINT).'));
    const rt = new MemoryRuntime({ signal: cancelled.signal });
    const result = await sweep(rt, scope());

    expect(result.clean).toBe(true);
    expect(result.terminated).toEqual(['i-0123456789abcdef0']);
    const signals = ec2
      .calls()
      .map(
        (call) =>
          ((call.args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined)?.abortSignal,
      );
    expect(signals.length).toBeGreaterThan(0);
    for (const signal of signals) {
      expect(signal).toBeDefined();
      expect(signal).not.toBe(rt.signal);
      expect(signal?.aborted).toBe(false);
    }
  });

  it('never throws: a sweep that fails is reported unclean, with a warning', async () => {
    leftInEc2();
    const clock: Clock = {
      now: () => 0,
      sleep: () => Promise.reject(new Error('the clock stopped')),
    };
    const rt = new MemoryRuntime({ clock });
    const result = await sweep(rt, scope({ uncertain: true }));

    expect(result).toEqual({
      clean: false,
      terminated: [],
      deletedSnapshots: [],
      deletedVolumes: [],
      errors: ['the sweep by tag failed: the clock stopped'],
    });
    expect(rt.logger.messages('warning')).toEqual([
      'Cleanup: the sweep by tag failed: the clock stopped.',
    ]);
  });

  it('is not clean when something cannot be removed, naming it', async () => {
    leftInEc2(['i-0123456789abcdef0']);
    ec2
      .on(TerminateInstancesCommand)
      .rejects(Object.assign(new Error('not allowed'), { name: 'UnauthorizedOperation' }));
    const rt = new MemoryRuntime();
    const result = await sweep(rt, scope());
    expect(result.clean).toBe(false);
    expect(result.errors.join('\n')).toContain('i-0123456789abcdef0');
    expect(rt.logger.messages('warning').join('\n')).toContain(
      'bottlerocket-ebs-snapshot:invocation=a1b2c3d4e5f6',
    );
  });
});
