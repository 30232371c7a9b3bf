import { afterEach, describe, expect, it } from '@jest/globals';
import {
  CreateSnapshotCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import {
  CheckpointChain,
  DEFAULT_CHECKPOINT_POLICY,
  type CheckpointPolicy,
} from '../../../src/build/checkpoints.js';
import { VirtualClock } from '../../../test-support/virtual-clock.js';
import { AbortedError } from '../../../src/core/errors.js';
import { MemoryLogger } from '../../../test-support/memory-logger.js';

const ec2 = mockClient(EC2Client);
afterEach(() => {
  ec2.reset();
});

const TARGET = {
  volumeId: 'vol-0data',
  description: 'Checkpoint (deleted when the build ends): test',
  tags: { 'bottlerocket-ebs-snapshot:role': 'checkpoint', team: 'ml' },
};

/**
 * EC2 where each snapshot takes `durationMs(n)` of virtual time to complete (n from 1), or
 * goes to `error` when durationMs returns 'error'.
 */
function simulatedEc2(clock: VirtualClock, durationMs: (n: number) => number | 'error') {
  const created: Array<{ id: string; at: number; doneAt: number | 'error' }> = [];
  ec2.on(CreateSnapshotCommand).callsFake(() => {
    const n = created.length + 1;
    const duration = durationMs(n);
    const id = `snap-cp${n}`;
    created.push({
      id,
      at: clock.now(),
      doneAt: duration === 'error' ? 'error' : clock.now() + duration,
    });
    return { SnapshotId: id, State: 'pending' };
  });
  ec2.on(DescribeSnapshotsCommand).callsFake((input: { SnapshotIds?: string[] }) => {
    const snap = created.find((c) => c.id === input.SnapshotIds?.[0]);
    const state =
      snap?.doneAt === 'error'
        ? 'error'
        : clock.now() >= (snap?.doneAt ?? 0)
          ? 'completed'
          : 'pending';
    return { Snapshots: [{ SnapshotId: snap?.id, State: state }] };
  });
  return created;
}

function chain(
  clock: VirtualClock,
  policy: Partial<CheckpointPolicy> = {},
  signal = new AbortController().signal,
) {
  const logger = new MemoryLogger();
  const saved: string[][] = [];
  const c = new CheckpointChain(TARGET, {
    ec2: new EC2Client({ region: 'us-west-2' }),
    clock,
    logger,
    signal,
    policy: { ...DEFAULT_CHECKPOINT_POLICY, ...policy },
    onCreated: (ids) => saved.push([...ids]),
  });
  return { c, logger, saved };
}

describe('CheckpointChain', () => {
  it('snapshots the volume after a minute of pulling, then again each time the last one completed', async () => {
    const clock = new VirtualClock(0);
    const created = simulatedEc2(clock, (n) => [40_000, 70_000, 90_000][n - 1] ?? 30_000);
    const { c, saved } = chain(clock);
    c.start();
    await clock.sleep(5 * 60_000); // the pulls
    const report = await c.stop();

    // 60 s, then each one as soon as the chain sees the one before complete (it looks at
    // least every 5 s).
    expect(created[0]?.at).toBe(60_000);
    for (const [i, snap] of created.entries()) {
      const before = created[i - 1];
      if (!before || before.doneAt === 'error') continue;
      expect(snap.at).toBeGreaterThanOrEqual(before.doneAt);
      expect(snap.at).toBeLessThanOrEqual(before.doneAt + 5_000);
    }
    expect(created.length).toBeGreaterThanOrEqual(4);
    expect(report.ids).toEqual(created.map((s) => s.id));
    // The last one was still pending when the pulls ended: it stays (the final queues behind it).
    expect(report.completed).toBe(created.length - 1);
    expect(report.stoppedBecause).toBeUndefined();
    expect(saved.at(-1)).toEqual(report.ids);
    expect(saved).toHaveLength(created.length);
    const input = ec2.commandCalls(CreateSnapshotCommand)[0]?.args[0].input;
    expect(input?.VolumeId).toBe('vol-0data');
    expect(input?.Description).toBe(TARGET.description);
    expect(input?.TagSpecifications).toEqual([
      {
        ResourceType: 'snapshot',
        Tags: [
          { Key: 'bottlerocket-ebs-snapshot:role', Value: 'checkpoint' },
          { Key: 'team', Value: 'ml' },
        ],
      },
    ]);
  });

  it('takes none when the pulls end within the first minute', async () => {
    const clock = new VirtualClock(0);
    simulatedEc2(clock, () => 1_000);
    const { c } = chain(clock);
    c.start();
    await clock.sleep(59_000);
    expect(await c.stop()).toEqual({ ids: [], completed: 0 });
    expect(ec2.commandCalls(CreateSnapshotCommand)).toHaveLength(0);
    expect(clock.now()).toBe(59_000);
  });

  it("keeps EC2's per-volume pace: 15 s between snapshots however fast they complete", async () => {
    const clock = new VirtualClock(0);
    const created = simulatedEc2(clock, () => 2_000);
    const { c } = chain(clock);
    c.start();
    await clock.sleep(120_000);
    const report = await c.stop();
    expect(created.map((s) => s.at)).toEqual([60_000, 75_000, 90_000, 105_000, 120_000]);
    expect(report.ids).toHaveLength(5);
    // The final snapshot waits for the same pace.
    await c.readyForNext(new AbortController().signal);
    expect(clock.now()).toBe(135_000);
  });

  it('stops at the most checkpoints per build, and says so', async () => {
    const clock = new VirtualClock(0);
    simulatedEc2(clock, () => 1_000);
    const { c, logger } = chain(clock, { max: 3 });
    c.start();
    await clock.sleep(30 * 60_000);
    const report = await c.stop();
    expect(report.ids).toHaveLength(3);
    expect(logger.messages('info').join('\n')).toContain(
      'Took 3 checkpoints, the most for one build',
    );
  });

  it('ends the chain, not the build, when a checkpoint fails or EC2 refuses one', async () => {
    const clock = new VirtualClock(0);
    simulatedEc2(clock, (n) => (n === 2 ? 'error' : 5_000));
    const failing = chain(clock);
    failing.c.start();
    await clock.sleep(10 * 60_000);
    const report = await failing.c.stop();
    expect(report.ids).toEqual(['snap-cp1', 'snap-cp2']);
    expect(report.completed).toBe(1);
    expect(report.stoppedBecause).toContain("Snapshot snap-cp2 failed (state 'error')");
    expect(failing.logger.messages('warning')[0]).toContain('The build goes on');

    ec2.reset();
    ec2.on(CreateSnapshotCommand).rejects(
      Object.assign(
        new Error('The maximum per volume CreateSnapshot request rate has been exceeded.'),
        {
          name: 'SnapshotCreationPerVolumeRateExceeded',
        },
      ),
    );
    const refused = chain(clock);
    refused.c.start();
    await clock.sleep(5 * 60_000);
    const refusedReport = await refused.c.stop();
    expect(refusedReport.ids).toEqual([]);
    expect(refusedReport.stoppedBecause).toContain('request rate has been exceeded');
    // Not waited out: that would hold up the end of the pulls.
    expect(ec2.commandCalls(CreateSnapshotCommand)).toHaveLength(1);
  });

  it('ends quietly when the build is cancelled', async () => {
    const clock = new VirtualClock(0);
    simulatedEc2(clock, () => 600_000);
    const controller = new AbortController();
    const { c, logger } = chain(clock, {}, controller.signal);
    c.start();
    await clock.sleep(90_000);
    controller.abort(new AbortedError('The run was cancelled.'));
    const report = await c.stop();
    expect(report.ids).toEqual(['snap-cp1']);
    expect(logger.messages('warning')).toEqual([]);
  });

  it('gives up following a checkpoint that does not complete within its bound', async () => {
    const clock = new VirtualClock(0);
    simulatedEc2(clock, () => 3 * 3600_000);
    const { c } = chain(clock, { completionBoundMs: 10 * 60_000 });
    c.start();
    await clock.sleep(60 * 60_000);
    const report = await c.stop();
    expect(report.ids).toEqual(['snap-cp1']);
    expect(report.stoppedBecause).toContain('Timed out after 10m waiting for snapshot snap-cp1');
  });

  it('deletes every checkpoint, counting one already gone as deleted, and returns what it could not delete', async () => {
    const clock = new VirtualClock(0);
    simulatedEc2(clock, () => 1_000);
    const { c } = chain(clock);
    c.start();
    await clock.sleep(100_000);
    await c.stop();
    expect(c.report().ids).toEqual(['snap-cp1', 'snap-cp2', 'snap-cp3']);
    ec2
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-cp1' })
      .resolves({})
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-cp2' })
      .rejects(Object.assign(new Error('gone'), { name: 'InvalidSnapshot.NotFound' }))
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-cp3' })
      .rejects(Object.assign(new Error('not allowed'), { name: 'UnauthorizedOperation' }));
    const failed = await c.deleteAll(new AbortController().signal);
    expect(failed).toEqual([{ id: 'snap-cp3', message: 'not allowed' }]);
    expect(ec2.commandCalls(DeleteSnapshotCommand)).toHaveLength(3);
  });
});
