import { afterEach, describe, expect, it } from '@jest/globals';
import {
  DeleteSnapshotCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { cleanupAfterRun } from '../../src/cleanup.js';
import { MemoryLogger } from '../../src/logger.js';

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
};

describe('cleanupAfterRun', () => {
  it('terminates what state recorded and what carries the run tag, and deletes an unfinished snapshot and checkpoints', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-tagged' }] }] });
    ec2.on(TerminateInstancesCommand).callsFake((input: { InstanceIds: string[] }) => ({
      TerminatingInstances: input.InstanceIds.map((InstanceId) => ({ InstanceId })),
    }));
    ec2.on(DeleteSnapshotCommand).resolves({});
    ec2
      .on(DescribeSnapshotsCommand)
      .resolves({ Snapshots: [{ SnapshotId: 'snap-cp2' }, { SnapshotId: 'snap-cp3' }] });
    const logger = new MemoryLogger();
    const result = await cleanupAfterRun({
      ec2: new EC2Client({ region: 'us-west-2' }),
      context,
      logger,
      instanceIds: ['i-state'],
      pendingSnapshotId: 'snap-1',
      checkpointIds: ['snap-cp1', 'snap-cp2'],
    });
    // Checkpoints are found by run tag and role only: never the lineage's snapshots.
    expect(ec2.commandCalls(DescribeSnapshotsCommand)[0]?.args[0].input).toEqual({
      OwnerIds: ['self'],
      Filters: [
        { Name: 'tag:bottlerocket-ebs-snapshot:run', Values: ['acme/platform/9/2'] },
        { Name: 'tag:bottlerocket-ebs-snapshot:role', Values: ['checkpoint'] },
      ],
      MaxResults: 1000,
    });
    expect(ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId)).toEqual([
      'snap-1',
      'snap-cp1',
      'snap-cp2',
      'snap-cp3',
    ]);
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters).toEqual([
      { Name: 'tag:bottlerocket-ebs-snapshot:run', Values: ['acme/platform/9/2'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input.InstanceIds).toEqual([
      'i-state',
      'i-tagged',
    ]);
    expect(result).toEqual({
      terminated: ['i-state', 'i-tagged'],
      deletedSnapshot: 'snap-1',
      deletedCheckpoints: ['snap-cp1', 'snap-cp2', 'snap-cp3'],
      errors: [],
    });
  });

  it('reports what it could not remove, with the tag to find it by', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    ec2
      .on(TerminateInstancesCommand)
      .rejects(Object.assign(new Error('not allowed'), { name: 'UnauthorizedOperation' }));
    const logger = new MemoryLogger();
    const result = await cleanupAfterRun({
      ec2: new EC2Client({ region: 'us-west-2' }),
      context,
      logger,
      instanceIds: ['i-1'],
    });
    expect(result.errors).toEqual(['could not terminate i-1: not allowed']);
    expect(logger.messages('warning')[0]).toContain(
      'bottlerocket-ebs-snapshot:run=acme/platform/9/2',
    );
  });
});
