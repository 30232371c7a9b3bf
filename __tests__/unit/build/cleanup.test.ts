import { afterEach, describe, expect, it } from '@jest/globals';
import {
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  TerminateInstancesCommand,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { sweepInvocation, type SweepRequest } from '../../../src/build/cleanup.js';
import { VirtualClock } from '../../../test-support/virtual-clock.js';
import { MemoryLogger } from '../../../test-support/memory-logger.js';

const ec2 = mockClient(EC2Client);
afterEach(() => {
  ec2.reset();
});
const context = {
  repository: 'acme/platform',
  runId: '9',
  runAttempt: '2',
  serverUrl: 'https://github.com',
  oidcAvailable: true,
  invocation: 'a1b2c3d4e5f6',
};
const TAG_FILTERS = [
  { Name: 'tag:bottlerocket-ebs-snapshot:run', Values: ['acme/platform/9/2'] },
  { Name: 'tag:bottlerocket-ebs-snapshot:invocation', Values: ['a1b2c3d4e5f6'] },
];

/** EC2 as the sweep sees it: what is left, and what the calls do to it. */
function fakeEc2(left: { instances?: string[]; snapshots?: Snapshot[]; volumes?: string[] }) {
  const world = {
    instances: [...(left.instances ?? [])],
    snapshots: [...(left.snapshots ?? [])],
    volumes: [...(left.volumes ?? [])],
  };
  ec2.on(DescribeInstancesCommand).callsFake(() => ({
    Reservations: [{ Instances: world.instances.map((InstanceId) => ({ InstanceId })) }],
  }));
  ec2.on(TerminateInstancesCommand).callsFake((input: { InstanceIds: string[] }) => {
    world.instances = world.instances.filter((id) => !input.InstanceIds.includes(id));
    return { TerminatingInstances: input.InstanceIds.map((InstanceId) => ({ InstanceId })) };
  });
  ec2.on(DescribeSnapshotsCommand).callsFake((input: { SnapshotIds?: string[] }) => ({
    Snapshots: input.SnapshotIds
      ? world.snapshots
          .filter((s) => input.SnapshotIds?.includes(s.SnapshotId ?? ''))
          .map((s) => ({ ...s, State: 'completed' }))
      : world.snapshots,
  }));
  ec2.on(DeleteSnapshotCommand).callsFake((input: { SnapshotId: string }) => {
    world.snapshots = world.snapshots.filter((s) => s.SnapshotId !== input.SnapshotId);
    return {};
  });
  ec2.on(DescribeVolumesCommand).callsFake(() => ({
    Volumes: world.volumes.map((VolumeId) => ({ VolumeId })),
  }));
  ec2.on(DeleteVolumeCommand).callsFake((input: { VolumeId: string }) => {
    world.volumes = world.volumes.filter((v) => v !== input.VolumeId);
    return {};
  });
  return world;
}

function request(overrides: Partial<SweepRequest> = {}) {
  const logger = new MemoryLogger();
  return {
    logger,
    request: {
      regions: [{ region: 'us-west-2', ec2: new EC2Client({ region: 'us-west-2' }) }],
      context,
      logger,
      clock: new VirtualClock(),
      keep: new Set<string>(),
      signal: new AbortController().signal,
      ...overrides,
    },
  };
}

describe('sweepInvocation', () => {
  it('when nothing is left: one Describe per resource kind, by the invocation tags, and clean', async () => {
    fakeEc2({});
    const { request: r, logger } = request();
    const result = await sweepInvocation(r);
    expect(result).toEqual({
      clean: true,
      terminated: [],
      deletedSnapshots: [],
      deletedVolumes: [],
      errors: [],
    });
    expect(ec2.calls()).toHaveLength(3);
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters).toEqual([
      ...TAG_FILTERS,
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
    expect(ec2.commandCalls(DescribeSnapshotsCommand)[0]?.args[0].input).toEqual({
      OwnerIds: ['self'],
      Filters: TAG_FILTERS,
      MaxResults: 1000,
    });
    expect(ec2.commandCalls(DescribeVolumesCommand)[0]?.args[0].input.Filters).toEqual([
      ...TAG_FILTERS,
      { Name: 'status', Values: ['available'] },
    ]);
    expect(logger.text()).toContain('nothing to clean up');
  });

  it('removes every instance, snapshot and available volume of the invocation but the outputs, then looks again', async () => {
    const world = fakeEc2({
      instances: ['i-tagged'],
      snapshots: [
        { SnapshotId: 'snap-output', State: 'completed' },
        { SnapshotId: 'snap-duplicate', State: 'completed' },
        { SnapshotId: 'snap-pending', State: 'pending' },
        {
          SnapshotId: 'snap-copy-of-output',
          State: 'completed',
          Tags: [{ Key: 'bottlerocket-ebs-snapshot:source', Value: 'us-west-2/snap-output' }],
        },
      ],
      volumes: ['vol-left'],
    });
    const { request: r } = request({
      keep: new Set(['snap-output']),
      known: { instances: ['i-state'], snapshots: ['snap-gone'] },
    });
    const result = await sweepInvocation(r);
    expect(result.clean).toBe(true);
    expect(result.terminated).toEqual(['i-state', 'i-tagged']);
    expect(result.deletedSnapshots).toEqual(['snap-duplicate', 'snap-pending', 'snap-gone']);
    expect(result.deletedVolumes).toEqual(['vol-left']);
    // The pending one was waited for before it was deleted.
    const calls = ec2.calls().map((c) => c.args[0]);
    const waited = calls.findIndex(
      (c) => c instanceof DescribeSnapshotsCommand && c.input.SnapshotIds?.[0] === 'snap-pending',
    );
    const deleted = calls.findIndex(
      (c) => c instanceof DeleteSnapshotCommand && c.input.SnapshotId === 'snap-pending',
    );
    expect(waited).toBeGreaterThan(0);
    expect(deleted).toBeGreaterThan(waited);
    expect(world.snapshots.map((s) => s.SnapshotId)).toEqual([
      'snap-output',
      'snap-copy-of-output',
    ]);
    // Two looks: the one that found things, the one that found nothing.
    expect(ec2.commandCalls(DescribeVolumesCommand)).toHaveLength(2);
  });

  it('when a create may have happened unseen, looks again until it shows up (bounded)', async () => {
    const world = fakeEc2({});
    let looks = 0;
    ec2.on(DescribeInstancesCommand).callsFake(() => {
      looks++;
      // EC2's Describe calls show a new instance a few seconds late.
      if (looks === 3) world.instances.push('i-unseen');
      return {
        Reservations: [{ Instances: world.instances.map((InstanceId) => ({ InstanceId })) }],
      };
    });
    const clock = new VirtualClock();
    const { request: r } = request({ uncertain: true, clock });
    const started = clock.now();
    const result = await sweepInvocation(r);
    expect(result.terminated).toEqual(['i-unseen']);
    expect(result.clean).toBe(true);
    expect(clock.now() - started).toBeLessThan(30_000);
  });

  it('when a create may have happened and nothing shows up, gives up after the grace and says clean', async () => {
    fakeEc2({});
    const clock = new VirtualClock();
    const { request: r } = request({ uncertain: true, clock });
    const started = clock.now();
    const result = await sweepInvocation(r);
    expect(result.clean).toBe(true);
    expect(clock.now() - started).toBeGreaterThanOrEqual(30_000);
    expect(clock.now() - started).toBeLessThan(40_000);
  });

  it('looks in every region it is given', async () => {
    fakeEc2({ snapshots: [{ SnapshotId: 'snap-x', State: 'completed' }] });
    const { request: r } = request({
      regions: [
        { region: 'us-west-2', ec2: new EC2Client({ region: 'us-west-2' }) },
        { region: 'eu-west-1', ec2: new EC2Client({ region: 'eu-west-1' }) },
      ],
    });
    const result = await sweepInvocation(r);
    expect(result.clean).toBe(true);
    expect(ec2.commandCalls(DescribeVolumesCommand).length).toBeGreaterThanOrEqual(4);
  });

  it('is not clean when something cannot be removed, and says which tags find it', async () => {
    fakeEc2({ instances: ['i-1'] });
    ec2
      .on(TerminateInstancesCommand)
      .rejects(Object.assign(new Error('not allowed'), { name: 'UnauthorizedOperation' }));
    const { request: r, logger } = request();
    const result = await sweepInvocation(r);
    expect(result.clean).toBe(false);
    expect(result.errors).toContain('still left after 3 rounds: us-west-2: i-1');
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(3);
    expect(logger.messages('warning').join('\n')).toContain(
      'bottlerocket-ebs-snapshot:run=acme/platform/9/2 and bottlerocket-ebs-snapshot:invocation=a1b2c3d4e5f6',
    );
  });

  it('is not clean when a look fails', async () => {
    fakeEc2({});
    ec2
      .on(DescribeVolumesCommand)
      .rejects(Object.assign(new Error('not allowed'), { name: 'UnauthorizedOperation' }));
    const { request: r } = request();
    const result = await sweepInvocation(r);
    expect(result.clean).toBe(false);
    expect(result.errors).toContain('could not look for volumes in us-west-2: not allowed');
  });
});
