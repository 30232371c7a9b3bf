/**
 * The janitor's decisions (cleanup-older-than), on mocked EC2: what is old enough goes, what
 * is younger or of unknown age stays, only this repository's builders, checkpoints and builder
 * volumes are asked for, every page is read, and one failure does not stop the rest.
 * (__tests__/integration/janitor.test.ts runs it on moto.)
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  TerminateInstancesCommand,
  type Filter,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { cleanUpOlderThan, type JanitorRequest } from '../../../src/build/janitor.js';
import { AbortedError } from '../../../src/core/errors.js';
import { MemoryLogger } from '../../../test-support/memory-logger.js';
import { rejectionOf } from '../../../test-support/rejection.js';
import { VirtualClock } from '../../../test-support/virtual-clock.js';

const NOW = Date.UTC(2026, 2, 1, 12);
const HOUR = 3_600_000;
/** A time `hours` before now. */
const ago = (hours: number) => new Date(NOW - hours * HOUR);

const west = new EC2Client({ region: 'us-west-2' });
const east = new EC2Client({ region: 'us-east-1' });
const westMock = mockClient(west);
const eastMock = mockClient(east);
afterEach(() => {
  westMock.reset();
  eastMock.reset();
});

/** Nothing left anywhere, and every delete succeeds, unless a test says otherwise. */
function empty(mock: typeof westMock) {
  mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
  mock.on(DescribeVolumesCommand).resolves({ Volumes: [] });
  mock.on(TerminateInstancesCommand).callsFake((input: { InstanceIds: string[] }) => ({
    TerminatingInstances: input.InstanceIds.map((InstanceId) => ({ InstanceId })),
  }));
  mock.on(DeleteSnapshotCommand).resolves({});
  mock.on(DeleteVolumeCommand).resolves({});
}

function request(overrides: Partial<JanitorRequest> = {}) {
  const logger = new MemoryLogger();
  const r: JanitorRequest = {
    regions: [{ region: 'us-west-2', ec2: west }],
    repository: 'acme/platform',
    olderThanMs: 6 * HOUR,
    clock: new VirtualClock(NOW),
    logger,
    signal: new AbortController().signal,
    ...overrides,
  };
  return { r, logger };
}

const filters = (input: { Filters?: Filter[] | undefined } | undefined) =>
  Object.fromEntries((input?.Filters ?? []).map((f) => [f.Name ?? '', f.Values]));

describe('cleanUpOlderThan', () => {
  it('removes what is older than the age, and leaves what is younger or of unknown age', async () => {
    empty(westMock);
    westMock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            { InstanceId: 'i-old', LaunchTime: ago(7) },
            { InstanceId: 'i-young', LaunchTime: ago(5) },
            { InstanceId: 'i-untimed' },
            // Exactly the age: not older than it.
            { InstanceId: 'i-exact', LaunchTime: ago(6) },
          ],
        },
      ],
    });
    westMock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-old', StartTime: ago(30) },
        { SnapshotId: 'snap-young', StartTime: ago(1) },
        { SnapshotId: 'snap-untimed' },
      ],
    });
    westMock.on(DescribeVolumesCommand).resolves({
      Volumes: [
        { VolumeId: 'vol-old', CreateTime: ago(6.01) },
        { VolumeId: 'vol-young', CreateTime: ago(5.99) },
      ],
    });
    const { r, logger } = request();
    expect(await cleanUpOlderThan(r)).toEqual({
      terminated: ['i-old'],
      deletedSnapshots: ['snap-old'],
      deletedVolumes: ['vol-old'],
      errors: [],
    });
    expect(westMock.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([
      { InstanceIds: ['i-old'] },
    ]);
    expect(westMock.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input)).toEqual([
      { SnapshotId: 'snap-old' },
    ]);
    expect(westMock.commandCalls(DeleteVolumeCommand).map((c) => c.args[0].input)).toEqual([
      { VolumeId: 'vol-old' },
    ]);
    expect(logger.messages('info')).toEqual([
      'us-west-2: terminated 1 builder(s): i-old.',
      'us-west-2: deleted checkpoint snapshot snap-old.',
      'us-west-2: deleted volume vol-old.',
    ]);
    expect(logger.messages('warning')).toEqual([]);
  });

  it("asks only for this repository's builders, checkpoints and builder volumes", async () => {
    empty(westMock);
    await cleanUpOlderThan(request().r);
    const repository = { 'tag:bottlerocket-ebs-snapshot:repository': ['acme/platform'] };
    expect(filters(westMock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input)).toEqual({
      ...repository,
      'tag:bottlerocket-ebs-snapshot:role': ['builder'],
      'instance-state-name': ['pending', 'running', 'stopping', 'stopped'],
    });
    const snapshots = westMock.commandCalls(DescribeSnapshotsCommand)[0]?.args[0].input;
    expect(snapshots?.OwnerIds).toEqual(['self']);
    // Never a final snapshot (role `snapshot`): nodes may use it, retention owns it.
    expect(filters(snapshots)).toEqual({
      ...repository,
      'tag:bottlerocket-ebs-snapshot:role': ['checkpoint'],
    });
    expect(filters(westMock.commandCalls(DescribeVolumesCommand)[0]?.args[0].input)).toEqual({
      ...repository,
      'tag:bottlerocket-ebs-snapshot:role': ['builder'],
      status: ['available'],
    });
  });

  it('searches by the repository as it is tagged, cut to a tag value', async () => {
    empty(westMock);
    await cleanUpOlderThan(request({ repository: `acme/${'r'.repeat(300)}` }).r);
    const values = filters(westMock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input)[
      'tag:bottlerocket-ebs-snapshot:repository'
    ];
    expect(values?.[0]).toHaveLength(256);
  });

  it('reads every page, and terminates the old builders of all pages in one call', async () => {
    empty(westMock);
    westMock
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [{ Instances: [{ InstanceId: 'i-1', LaunchTime: ago(9) }] }],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        Reservations: [
          { Instances: [{ InstanceId: 'i-2', LaunchTime: ago(9) }] },
          { Instances: [{ InstanceId: 'i-3', LaunchTime: ago(1) }] },
        ],
      });
    westMock
      .on(DescribeVolumesCommand)
      .resolvesOnce({ Volumes: [{ VolumeId: 'vol-1', CreateTime: ago(9) }], NextToken: 'v2' })
      .resolvesOnce({ Volumes: [{ VolumeId: 'vol-2', CreateTime: ago(9) }] });
    const result = await cleanUpOlderThan(request().r);
    expect(westMock.commandCalls(DescribeInstancesCommand)[1]?.args[0].input.NextToken).toBe(
      'page-2',
    );
    expect(westMock.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
    expect(result.terminated).toEqual(['i-1', 'i-2']);
    expect(result.deletedVolumes).toEqual(['vol-1', 'vol-2']);
  });

  it('does not count what was gone already', async () => {
    empty(westMock);
    westMock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-gone', StartTime: ago(9) },
        { SnapshotId: 'snap-here', StartTime: ago(9) },
      ],
    });
    westMock.on(DescribeVolumesCommand).resolves({
      Volumes: [{ VolumeId: 'vol-gone', CreateTime: ago(9) }],
    });
    westMock
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-gone' })
      .rejects(Object.assign(new Error('gone'), { name: 'InvalidSnapshot.NotFound' }));
    westMock
      .on(DeleteVolumeCommand)
      .rejects(Object.assign(new Error('gone'), { name: 'InvalidVolume.NotFound' }));
    const result = await cleanUpOlderThan(request().r);
    expect(result).toEqual({
      terminated: [],
      deletedSnapshots: ['snap-here'],
      deletedVolumes: [],
      errors: [],
    });
  });

  it('goes on after a failure, in this region and the next, and warns of each', async () => {
    empty(westMock);
    empty(eastMock);
    westMock
      .on(DescribeInstancesCommand)
      .rejects(
        Object.assign(new Error('You are not authorized'), { name: 'UnauthorizedOperation' }),
      );
    westMock.on(DescribeVolumesCommand).resolves({
      Volumes: [
        { VolumeId: 'vol-stuck', CreateTime: ago(9) },
        { VolumeId: 'vol-next', CreateTime: ago(9) },
      ],
    });
    westMock
      .on(DeleteVolumeCommand, { VolumeId: 'vol-stuck' })
      .rejects(Object.assign(new Error('vol-stuck is in use'), { name: 'VolumeInUse' }));
    eastMock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [{ SnapshotId: 'snap-east', StartTime: ago(9) }],
    });
    const { r, logger } = request({
      regions: [
        { region: 'us-west-2', ec2: west },
        { region: 'us-east-1', ec2: east },
      ],
    });
    const result = await cleanUpOlderThan(r);
    expect(result.errors).toEqual([
      'us-west-2: could not terminate old builders: You are not authorized',
      'us-west-2: could not delete old builder volumes: vol-stuck is in use',
    ]);
    // The volume after the one that failed is not tried: the step stops at its first failure.
    expect(result.deletedVolumes).toEqual([]);
    expect(result.deletedSnapshots).toEqual(['snap-east']);
    expect(logger.messages('warning')).toEqual([
      'Cleanup: us-west-2: could not terminate old builders: You are not authorized',
      'Cleanup: us-west-2: could not delete old builder volumes: vol-stuck is in use',
    ]);
    expect(logger.text()).not.toContain('Nothing of');
  });

  it('says so when nothing in any region is old enough', async () => {
    empty(westMock);
    empty(eastMock);
    eastMock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: 'i-young', LaunchTime: ago(1) }] }],
    });
    const { r, logger } = request({
      regions: [
        { region: 'us-west-2', ec2: west },
        { region: 'us-east-1', ec2: east },
      ],
      olderThanMs: 90 * 60_000,
    });
    const result = await cleanUpOlderThan(r);
    expect(result.terminated).toEqual([]);
    expect(eastMock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(logger.messages('info')).toEqual([
      'Nothing of acme/platform older than 1h30m is left in us-west-2, us-east-1.',
    ]);
  });

  it('stops with AbortedError when the run is cancelled, not with cleanup failures', async () => {
    empty(westMock);
    empty(eastMock);
    const controller = new AbortController();
    westMock.on(DescribeInstancesCommand).callsFake(() => {
      controller.abort(new AbortedError('The run was cancelled.'));
      throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    });
    const { r, logger } = request({
      regions: [
        { region: 'us-west-2', ec2: west },
        { region: 'us-east-1', ec2: east },
      ],
      signal: controller.signal,
    });
    const error = await rejectionOf(cleanUpOlderThan(r), AbortedError);
    expect(error.message).toBe('The run was cancelled.');
    expect(eastMock.calls()).toHaveLength(0);
    expect(logger.messages('warning')).toEqual([]);
  });
});
