// Phases 3 to 5 (src/build/launch.ts): the AMI per architecture, the fallback to the next instance
// type, the base snapshot the data volume starts from, and the bounded wait for SSM.
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  CreateSnapshotCommand,
  DescribeSnapshotsCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { buildSnapshot } from '../../../src/build/index.js';
import { MAX_USER_TAGS } from '../../../src/action/inputs/index.js';
import { AMI_ARM, INSTANCE_ID, mockAws, type MockedAws } from '../../../test-support/aws-mocks.js';
import { rejectionOf } from '../../../test-support/rejection.js';
import { config, context, deps, REGISTRY, resolved } from '../../../test-support/build.js';

let aws: MockedAws | undefined;
afterEach(() => aws?.restore());

describe('launching the builder', () => {
  it('falls back to the next instance type when EC2 has no capacity, with the AMI of its architecture', async () => {
    aws = mockAws(REGISTRY);
    aws.ec2
      .on(RunInstancesCommand)
      .rejectsOnce(
        Object.assign(new Error('We currently do not have sufficient m6i.xlarge capacity'), {
          name: 'InsufficientInstanceCapacity',
        }),
      )
      .resolves({ Instances: [{ InstanceId: INSTANCE_ID }] });
    const { d, logger } = deps(aws);
    const result = await buildSnapshot(config({ 'instance-type': 'm6i.xlarge, m7g.xlarge' }), d);
    expect(result.instanceType).toBe('m7g.xlarge');
    expect(result.imageId).toBe(AMI_ARM);
    const calls = aws.ec2
      .commandCalls(RunInstancesCommand)
      .map((c) => c.args[0].input.InstanceType);
    expect(calls).toEqual(['m6i.xlarge', 'm7g.xlarge']);
    expect(logger.messages('warning').join('\n')).toContain('No capacity for m6i.xlarge');
  });

  it('gives up on SSM within its bound, explains the usual causes, and terminates', async () => {
    aws = mockAws(REGISTRY);
    aws.ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const { d, clock } = deps(aws, { bounds: { ssmOnlineMs: 10 * 60_000 } });
    const start = clock.now();
    const error = await rejectionOf(buildSnapshot(config(), d));
    expect(error.message).toContain(
      'waiting for the builder i-0123456789abcdef0 to come online in SSM',
    );
    expect(error.message).toContain('AmazonSSMManagedInstanceCore');
    expect(clock.now() - start).toBeGreaterThanOrEqual(10 * 60_000);
    expect(clock.now() - start).toBeLessThan(12 * 60_000);
    expect(aws.ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(aws.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
  });

  it('builds on the newest compatible snapshot of the lineage, pruning what is no longer listed', async () => {
    aws = mockAws(REGISTRY);
    const lineageTag = { Key: 'bottlerocket-ebs-snapshot:lineage', Value: 'acme/platform' };
    aws.existingSnapshots.push(
      {
        SnapshotId: 'snap-0000000000000old',
        State: 'completed',
        VolumeSize: 50,
        StartTime: new Date('2026-01-01'),
        Tags: [lineageTag],
      },
      {
        SnapshotId: 'snap-00000000000other',
        State: 'completed',
        VolumeSize: 50,
        StartTime: new Date('2026-03-01'),
        Tags: [lineageTag, { Key: 'bottlerocket-ebs-snapshot:snapshotter', Value: 'soci' }],
      },
      {
        SnapshotId: 'snap-000000000000newer',
        State: 'completed',
        VolumeSize: 40,
        StartTime: new Date('2026-02-01'),
        Tags: [lineageTag, { Key: 'bottlerocket-ebs-snapshot:snapshotter', Value: 'overlayfs' }],
      },
    );
    // As many user tags as allowed, a build key and an invocation: still within EC2's 50.
    const userTags = Array.from({ length: MAX_USER_TAGS }, (_, i) => `k${i}=v`).join('\n');
    const c = config({ tags: userTags });
    const result = await buildSnapshot(
      c,
      deps(aws, {
        context: { ...context, invocation: '0123456789ab' },
        resolveDigests: async () => resolved(c),
      }).d,
    );
    expect(result.buildKey).toBeDefined();
    expect(result.baseSnapshotId).toBe('snap-000000000000newer');
    expect(
      aws.ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input.BlockDeviceMappings?.[0]?.Ebs
        ?.SnapshotId,
    ).toBe('snap-000000000000newer');
    expect(aws.scripts[0]).toContain('PRUNE=1');
    const tags =
      aws.ec2.commandCalls(CreateSnapshotCommand)[0]?.args[0].input.TagSpecifications?.[0]?.Tags;
    expect(tags).toContainEqual({
      Key: 'bottlerocket-ebs-snapshot:base-snapshot',
      Value: 'snap-000000000000newer',
    });
    // A copy adds its source tag: one more must fit.
    expect(tags?.length).toBeLessThanOrEqual(49);
  });

  it('refuses a base-snapshot that does not fit, before launching', async () => {
    aws = mockAws(REGISTRY);
    aws.ec2.on(DescribeSnapshotsCommand, { SnapshotIds: ['snap-0bbbbbbbbbbbbbbbb'] }).resolves({
      Snapshots: [{ SnapshotId: 'snap-0bbbbbbbbbbbbbbbb', State: 'completed', VolumeSize: 200 }],
    });
    const error = await rejectionOf(
      buildSnapshot(config({ 'base-snapshot': 'snap-0bbbbbbbbbbbbbbbb' }), deps(aws).d),
    );
    expect(error.message).toBe(
      "Input 'base-snapshot': snap-0bbbbbbbbbbbbbbbb cannot be the base of this build: it is 200 GiB, larger than volume-size 50.",
    );
    expect(aws.ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
  });

  it('never builds on a base with base-snapshot: none', async () => {
    aws = mockAws(REGISTRY);
    aws.existingSnapshots.push({
      SnapshotId: 'snap-0000000000000old',
      State: 'completed',
      VolumeSize: 50,
      Tags: [{ Key: 'bottlerocket-ebs-snapshot:lineage', Value: 'acme/platform' }],
    });
    const result = await buildSnapshot(config({ 'base-snapshot': 'none' }), deps(aws).d);
    expect(result.baseSnapshotId).toBeUndefined();
    expect(aws.scripts[0]).toContain('PRUNE=0');
  });
});
