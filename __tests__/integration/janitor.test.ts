/**
 * The janitor (cleanup-older-than) on moto, with what several runs left: an old run whose
 * runner died (builder, checkpoint, available volume, final snapshot), a fresh run still
 * going, and an old run of another repository. Only the old run's builder, checkpoint and
 * volume go; its final snapshot, the fresh run and the other repository are untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { VirtualClock } from '../../test-support/virtual-clock.js';
import { cleanUpOlderThan } from '../../src/build/janitor.js';
import { MemoryLogger } from '../../test-support/memory-logger.js';
import { runTags, TAG_ROLE, toTagList } from '../../src/aws/tags.js';
import { INSTANCE_PROFILE, ROLE_ARN, startEmulator } from '../../test-support/emulator.js';
import { startMoto, type Moto } from '../../test-support/moto.js';
import { runMainAndPost } from '../../test-support/runner.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

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
}, 30_000);
afterAll(async () => {
  ec2?.destroy();
  await moto?.stop();
}, 30_000);

/** What one run leaves when its runner dies: a builder, a checkpoint, a volume, a final snapshot. */
async function leftBy(repository: string, runId: string) {
  const tags = runTags(
    {
      repository,
      runId,
      runAttempt: '1',
      serverUrl: 'https://github.com',
      oidcAvailable: true,
      invocation: `inv${runId}`,
    },
    {},
  );
  const images = await ec2.send(new DescribeImagesCommand({}));
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: images.Images?.[0]?.ImageId ?? '',
      MinCount: 1,
      MaxCount: 1,
      InstanceType: 'm6i.xlarge',
      TagSpecifications: [
        { ResourceType: 'instance', Tags: toTagList({ ...tags, [TAG_ROLE]: 'builder' }) },
      ],
    }),
  );
  const volume = await ec2.send(
    new CreateVolumeCommand({
      AvailabilityZone: 'us-west-2a',
      Size: 50,
      TagSpecifications: [
        { ResourceType: 'volume', Tags: toTagList({ ...tags, [TAG_ROLE]: 'builder' }) },
      ],
    }),
  );
  const snapshot = (role: string) =>
    ec2.send(
      new CreateSnapshotCommand({
        VolumeId: volume.VolumeId,
        TagSpecifications: [
          { ResourceType: 'snapshot', Tags: toTagList({ ...tags, [TAG_ROLE]: role }) },
        ],
      }),
    );
  return {
    instance: run.Instances?.[0]?.InstanceId ?? '',
    volume: volume.VolumeId ?? '',
    checkpoint: (await snapshot('checkpoint')).SnapshotId ?? '',
    final: (await snapshot('snapshot')).SnapshotId ?? '',
  };
}

async function stateOf(instanceId: string) {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return out.Reservations?.[0]?.Instances?.[0]?.State?.Name;
}
async function snapshotExists(id: string) {
  const out = await ec2.send(
    new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: [id] }] }),
  );
  return (out.Snapshots ?? []).length === 1;
}
async function volumeExists(id: string) {
  const out = await ec2.send(
    new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: [id] }] }),
  );
  return (out.Volumes ?? []).length === 1;
}

describe('cleanUpOlderThan on moto', () => {
  it("removes only an old run's builder, checkpoint and volume: never a final snapshot, a fresh run, or another repository", async () => {
    const old = await leftBy('acme/platform', '1');
    const otherRepository = await leftBy('acme/other', '2');
    // EC2's times have whole seconds: what comes after this pause is younger than the cutoff.
    await new Promise((r) => setTimeout(r, 2_100));
    const cutoff = Date.now() - 1_000;
    const fresh = await leftBy('acme/platform', '3');

    const logger = new MemoryLogger();
    const result = await cleanUpOlderThan({
      regions: [{ region: 'us-west-2', ec2 }],
      repository: 'acme/platform',
      olderThanMs: 2 * 3_600_000,
      // Two hours after the cutoff: the old run is older than 2h, the fresh one is not.
      clock: new VirtualClock(cutoff + 2 * 3_600_000),
      logger,
      signal: new AbortController().signal,
    });
    expect(result).toEqual({
      terminated: [old.instance],
      deletedSnapshots: [old.checkpoint],
      deletedVolumes: [old.volume],
      errors: [],
    });
    expect(await stateOf(old.instance)).toBe('terminated');
    expect(await snapshotExists(old.checkpoint)).toBe(false);
    expect(await volumeExists(old.volume)).toBe(false);
    expect(await snapshotExists(old.final)).toBe(true);
    for (const untouched of [fresh, otherRepository]) {
      expect(await stateOf(untouched.instance)).toBe('running');
      expect(await snapshotExists(untouched.checkpoint)).toBe(true);
      expect(await snapshotExists(untouched.final)).toBe(true);
      expect(await volumeExists(untouched.volume)).toBe(true);
    }
    expect(logger.text()).toContain(`us-west-2: terminated 1 builder(s): ${old.instance}.`);
  }, 60_000);

  it('says so when nothing is old enough', async () => {
    const logger = new MemoryLogger();
    const result = await cleanUpOlderThan({
      regions: [{ region: 'us-west-2', ec2 }],
      repository: 'acme/nothing-here',
      olderThanMs: 6 * 3_600_000,
      clock: new VirtualClock(Date.now()),
      logger,
      signal: new AbortController().signal,
    });
    expect(result.errors).toEqual([]);
    expect(logger.text()).toContain('Nothing of acme/nothing-here older than 6h0m is left');
  }, 30_000);
});

describe('janitor mode in the bundle', () => {
  it('runs on its own, leaves a fresh builder alone, and reports', async () => {
    const emu = await startEmulator([]);
    try {
      const images = await emu.ec2.send(new DescribeImagesCommand({}));
      const fresh = await emu.ec2.send(
        new RunInstancesCommand({
          ImageId: images.Images?.[0]?.ImageId ?? '',
          MinCount: 1,
          MaxCount: 1,
          TagSpecifications: [
            {
              ResourceType: 'instance',
              Tags: toTagList({
                'bottlerocket-ebs-snapshot:repository': 'acme/platform',
                [TAG_ROLE]: 'builder',
              }),
            },
          ],
        }),
      );
      const { main, post } = await runMainAndPost({
        inputs: {
          'aws-region': 'us-west-2',
          'role-to-assume': ROLE_ARN,
          'instance-profile': INSTANCE_PROFILE,
          'cleanup-older-than': '1h',
        },
        env: { ...emu.env, GITHUB_RUN_ID: '9301' },
        timeoutMs: 30_000,
      });
      expect(main.code).toBe(0);
      expect(main.outputs['deleted-snapshots']).toBe('[]');
      expect(main.summary).toContain('Cleanup of acme/platform');
      expect(main.stdout).toContain(
        'Nothing of acme/platform older than 1h0m is left in us-west-2',
      );
      expect(post.code).toBe(0);
      const id = fresh.Instances?.[0]?.InstanceId ?? '';
      const out = await emu.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
      expect(out.Reservations?.[0]?.Instances?.[0]?.State?.Name).toBe('running');
    } finally {
      await emu.close();
    }
  }, 60_000);
});
