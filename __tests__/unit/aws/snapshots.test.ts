import { afterEach, describe, expect, it } from '@jest/globals';
import { CreateSnapshotCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { VirtualClock } from '../../../test-support/virtual-clock.js';
import { MemoryLogger } from '../../../test-support/memory-logger.js';
import {
  createSnapshot,
  MAX_DESCRIPTION,
  snapshotDescription,
  waitForSnapshot,
} from '../../../src/aws/snapshots.js';

const ec2 = mockClient(EC2Client);
afterEach(() => {
  ec2.reset();
});

const target = { volumeId: 'vol-1', description: 'd'.repeat(300), tags: { team: 'ml' } };
const signal = new AbortController().signal;
const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });

describe('createSnapshot', () => {
  it('sends the volume, a description within 255 characters and the tags', async () => {
    ec2.on(CreateSnapshotCommand).resolves({ SnapshotId: 'snap-1' });
    const id = await createSnapshot(new EC2Client({}), target, {
      clock: new VirtualClock(0),
      signal,
    });
    expect(id).toBe('snap-1');
    expect(ec2.commandCalls(CreateSnapshotCommand)[0]?.args[0].input).toEqual({
      VolumeId: 'vol-1',
      Description: 'd'.repeat(MAX_DESCRIPTION),
      TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'team', Value: 'ml' }] }],
    });
  });

  it("waits out EC2's per-volume rate, 15 s at a time, three times at most", async () => {
    const rate = awsError(
      'SnapshotCreationPerVolumeRateExceeded',
      'The maximum per volume CreateSnapshot request rate has been exceeded.',
    );
    ec2
      .on(CreateSnapshotCommand)
      .rejectsOnce(rate)
      .rejectsOnce(rate)
      .resolves({ SnapshotId: 'snap-2' });
    const clock = new VirtualClock(0);
    expect(await createSnapshot(new EC2Client({}), target, { clock, signal })).toBe('snap-2');
    expect(clock.now()).toBe(30_000);

    ec2.reset();
    ec2.on(CreateSnapshotCommand).rejects(rate);
    const later = new VirtualClock(0);
    await expect(
      createSnapshot(new EC2Client({}), target, { clock: later, signal }),
    ).rejects.toThrow('request rate has been exceeded');
    expect(ec2.commandCalls(CreateSnapshotCommand)).toHaveLength(4);
    expect(later.now()).toBe(45_000);
  });

  it('does not retry other refusals', async () => {
    ec2.on(CreateSnapshotCommand).rejects(awsError('UnauthorizedOperation', 'not allowed'));
    await expect(
      createSnapshot(new EC2Client({}), target, { clock: new VirtualClock(0), signal }),
    ).rejects.toThrow('not allowed');
    expect(ec2.commandCalls(CreateSnapshotCommand)).toHaveLength(1);
  });
});

describe('waitForSnapshot', () => {
  const notFound = awsError('InvalidSnapshot.NotFound', "The snapshot 'snap-1' does not exist.");

  it('waits for a new snapshot that is not visible yet', async () => {
    ec2
      .on(DescribeSnapshotsCommand)
      .rejectsOnce(notFound)
      .rejectsOnce(notFound)
      .resolves({ Snapshots: [{ SnapshotId: 'snap-1', State: 'completed' }] });
    const clock = new VirtualClock(0);
    const snap = await waitForSnapshot('snap-1', 600_000, {
      ec2: new EC2Client({}),
      clock,
      logger: new MemoryLogger(),
      signal,
    });
    expect(snap.State).toBe('completed');
  });

  it('fails when the snapshot stays invisible past a minute', async () => {
    ec2.on(DescribeSnapshotsCommand).rejects(notFound);
    const clock = new VirtualClock(0);
    await expect(
      waitForSnapshot('snap-1', 600_000, {
        ec2: new EC2Client({}),
        clock,
        logger: new MemoryLogger(),
        signal,
      }),
    ).rejects.toThrow('does not exist');
    expect(clock.now()).toBeGreaterThan(60_000);
    expect(clock.now()).toBeLessThan(90_000);
  });
});

describe('snapshotDescription', () => {
  it('names as many images as fit in 255 characters, and counts the rest', () => {
    const refs = Array.from({ length: 30 }, (_, i) => `registry.example.com/team/image-${i}:v1`);
    const text = snapshotDescription(refs, 'aws-k8s-1.34');
    expect(text.length).toBeLessThanOrEqual(MAX_DESCRIPTION);
    expect(text).toMatch(/^Bottlerocket aws-k8s-1\.34 data volume with 30 images: /);
    expect(text).toMatch(/\(\+\d+ more\)$/);
  });
});
