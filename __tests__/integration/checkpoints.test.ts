/**
 * Checkpoint snapshots against moto_server with the real EC2 client over HTTP, in
 * real (short) time: the chain snapshots a real volume, tags reach EC2, the post
 * step's search by run tag and role finds exactly the checkpoints (not the lineage's
 * snapshots), and deleting them leaves the final snapshot alone.
 *
 * moto completes a snapshot at once, so here each checkpoint starts as soon as the
 * pace allows; how checkpoints overlap slow snapshots is covered by the unit tests
 * on a virtual clock, and by `npm run bench:model`.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CheckpointChain, DEFAULT_CHECKPOINT_POLICY } from '../../src/build/checkpoints.js';
import { sweepInvocation } from '../../src/build/cleanup.js';
import { systemClock } from '../../src/core/clock.js';
import type { RunContext } from '../../src/config/run-context.js';
import { listOwnSnapshots } from '../../src/aws/snapshots.js';
import { MemoryLogger } from '../../test-support/memory-logger.js';
import { invocationTags, runTags, TAG_LINEAGE, TAG_ROLE, toTagList } from '../../src/aws/tags.js';
import { startMoto, type Moto } from '../../test-support/moto.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
jest.setTimeout(60_000);

const context = {
  repository: 'acme/platform',
  runId: '77',
  runAttempt: '1',
  serverUrl: 'https://github.com',
  oidcAvailable: true,
};

/** Checkpoint snapshots of this use of the action, found by tag. */
async function findRunCheckpoints(ec2: EC2Client, context: RunContext): Promise<string[]> {
  const found = await listOwnSnapshots(
    ec2,
    { tags: { ...invocationTags(context), [TAG_ROLE]: 'checkpoint' } },
    new AbortController().signal,
  );
  return found.flatMap((s) => (s.SnapshotId ? [s.SnapshotId] : []));
}

/** The post step's sweep in this one region, nothing kept. */
const sweep = (context: RunContext) =>
  sweepInvocation({
    regions: [{ region: 'us-west-2', ec2 }],
    context,
    logger: new MemoryLogger(),
    clock: systemClock,
    keep: new Set(),
    signal: AbortSignal.timeout(30_000),
  });

let moto: Moto;
let ec2: EC2Client;
beforeAll(async () => {
  moto = await startMoto();
  ec2 = new EC2Client({
    region: 'us-west-2',
    endpoint: moto.url,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  ec2?.destroy();
  await moto?.stop();
});

async function snapshotIdsTagged(key: string, value: string): Promise<string[]> {
  const out = await ec2.send(
    new DescribeSnapshotsCommand({ Filters: [{ Name: `tag:${key}`, Values: [value] }] }),
  );
  return (out.Snapshots ?? []).flatMap((s) => (s.SnapshotId ? [s.SnapshotId] : []));
}

describe('checkpoint snapshots on moto', () => {
  it('snapshots the volume while "pulling", is found by tag, and is deleted without touching the final snapshot', async () => {
    const volume = await ec2.send(
      new CreateVolumeCommand({ AvailabilityZone: 'us-west-2a', Size: 50, VolumeType: 'gp3' }),
    );
    const volumeId = volume.VolumeId ?? '';
    const tags = { ...runTags(context, { team: 'ml' }), [TAG_ROLE]: 'checkpoint' };
    const saved: string[] = [];
    const chain = new CheckpointChain(
      { volumeId, description: 'Checkpoint (deleted when the build ends): test', tags },
      {
        ec2,
        clock: systemClock,
        logger: new MemoryLogger(),
        signal: new AbortController().signal,
        policy: { ...DEFAULT_CHECKPOINT_POLICY, firstAfterMs: 100, minGapMs: 150, max: 5 },
        onCreated: (ids) => saved.splice(0, saved.length, ...ids),
      },
    );
    chain.start();
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the pulls
    const report = await chain.stop();
    expect(report.ids.length).toBeGreaterThanOrEqual(2);
    expect(report.stoppedBecause).toBeUndefined();
    expect(saved).toEqual(report.ids);

    // The final snapshot of the same volume, with the lineage tag.
    const final = await ec2.send(
      new CreateSnapshotCommand({
        VolumeId: volumeId,
        TagSpecifications: [
          { ResourceType: 'snapshot', Tags: toTagList({ [TAG_LINEAGE]: 'acme/platform' }) },
        ],
      }),
    );

    // What EC2 holds: each checkpoint with the run tag, the role and the user's tags.
    const described = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: report.ids }));
    for (const snap of described.Snapshots ?? []) {
      expect(snap.VolumeId).toBe(volumeId);
      expect(snap.Description).toBe('Checkpoint (deleted when the build ends): test');
      expect(Object.fromEntries((snap.Tags ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({
        'bottlerocket-ebs-snapshot:run': 'acme/platform/77/1',
        'bottlerocket-ebs-snapshot:role': 'checkpoint',
        team: 'ml',
      });
    }
    expect((await findRunCheckpoints(ec2, context)).sort()).toEqual([...report.ids].sort());

    expect(await chain.deleteAll(new AbortController().signal)).toEqual([]);
    expect(await findRunCheckpoints(ec2, context)).toEqual([]);
    expect(await snapshotIdsTagged(TAG_LINEAGE, 'acme/platform')).toEqual([final.SnapshotId]);
  });

  it('the post step deletes checkpoints a killed main step left, found by tag alone', async () => {
    const volume = await ec2.send(
      new CreateVolumeCommand({ AvailabilityZone: 'us-west-2a', Size: 20, VolumeType: 'gp3' }),
    );
    const left = await ec2.send(
      new CreateSnapshotCommand({
        VolumeId: volume.VolumeId,
        TagSpecifications: [
          {
            ResourceType: 'snapshot',
            Tags: toTagList({ ...runTags(context, {}), [TAG_ROLE]: 'checkpoint' }),
          },
        ],
      }),
    );
    const result = await sweep(context);
    expect(result.errors).toEqual([]);
    expect(result.clean).toBe(true);
    expect(result.deletedSnapshots).toEqual([left.SnapshotId]);
    expect(await findRunCheckpoints(ec2, context)).toEqual([]);
  });
});

describe('post-step cleanup on moto, with two uses of the action in one run (a matrix)', () => {
  it("removes only its own invocation's builder and checkpoints, never the sibling's", async () => {
    const images = await ec2.send(new DescribeImagesCommand({}));
    const imageId = images.Images?.[0]?.ImageId ?? '';
    const launch = async (invocation: string) => {
      const out = await ec2.send(
        new RunInstancesCommand({
          ImageId: imageId,
          MinCount: 1,
          MaxCount: 1,
          InstanceType: 'm6i.xlarge',
          TagSpecifications: [
            {
              ResourceType: 'instance',
              Tags: toTagList({
                ...runTags({ ...context, invocation }, {}),
                [TAG_ROLE]: 'builder',
              }),
            },
          ],
        }),
      );
      return out.Instances?.[0]?.InstanceId ?? '';
    };
    const mine = await launch('aaaaaaaaaaaa');
    const sibling = await launch('bbbbbbbbbbbb');
    const result = await sweep({ ...context, invocation: 'aaaaaaaaaaaa' });
    expect(result.errors).toEqual([]);
    expect(result.terminated).toEqual([mine]);
    const state = async (id: string) =>
      (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]
        ?.Instances?.[0]?.State?.Name;
    expect(await state(mine)).toBe('terminated');
    expect(await state(sibling)).toBe('running');
  });
});
