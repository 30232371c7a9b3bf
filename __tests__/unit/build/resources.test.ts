// The resource ledger (src/build/resources.ts): what the build created is in state as soon as it
// exists, removed at the end in order (terminate, incomplete snapshot, checkpoints), and what
// could not be removed is left in state for the post step.
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  CreateSnapshotCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
} from '@aws-sdk/client-ec2';
import { SendCommandCommand } from '@aws-sdk/client-ssm';
import {
  buildSnapshot,
  STATE_CHECKPOINTS,
  STATE_CLEAN,
  STATE_INSTANCE_IDS,
} from '../../../src/build/index.js';
import { VirtualClock } from '../../../test-support/virtual-clock.js';
import {
  CHECKPOINT_PREFIX,
  INSTANCE_ID,
  mockAws,
  SNAPSHOT_ID,
  VOLUME_ID,
  type MockedAws,
} from '../../../test-support/aws-mocks.js';
import { successfulPullReport } from '../../../test-support/instance-sim.js';
import { buildSummary } from '../../../src/reporting/summary.js';
import { rejectionOf } from '../../../test-support/rejection.js';
import { APP, config, deps, PAUSE, REGISTRY } from '../../../test-support/build.js';

let aws: MockedAws | undefined;
afterEach(() => aws?.restore());

/** A build whose pulls take `pullMs` of virtual time (the command is simulated). */
function slowPulls(pullMs: number) {
  const clock = new VirtualClock();
  const stdout = successfulPullReport(
    [APP, PAUSE].flatMap((_, index) =>
      ['linux/amd64', 'linux/arm64'].map((platform) => ({
        index,
        platform,
        ms: pullMs,
        digest: `sha256:${String(index).repeat(64)}`,
        size: '1.0 GiB',
      })),
    ),
  );
  aws = mockAws(REGISTRY, {}, { simulatedCommand: { clock, ms: pullMs, stdout } });
  return deps(aws, { clock });
}
const createdRoles = () =>
  (aws?.ec2.commandCalls(CreateSnapshotCommand) ?? []).map(
    (c) =>
      c.args[0].input.TagSpecifications?.[0]?.Tags?.find(
        (t) => t.Key === 'bottlerocket-ebs-snapshot:role',
      )?.Value,
  );

describe('the resources of a build', () => {
  it('records the builder in state as soon as it exists, for the post step', async () => {
    aws = mockAws(REGISTRY);
    const saved: Array<[string, string]> = [];
    aws.ssm
      .on(SendCommandCommand)
      .rejects(Object.assign(new Error('boom'), { name: 'InternalServerError' }));
    const { d } = deps(aws, { state: { save: (k, v) => saved.push([k, v]) } });
    await buildSnapshot(config(), d).catch(() => undefined);
    expect(saved).toContainEqual([STATE_INSTANCE_IDS, INSTANCE_ID]);
    expect(saved.at(-1)).toEqual([STATE_INSTANCE_IDS, '']);
    expect(saved.map(([k]) => k)).not.toContain(STATE_CLEAN);
  });

  it('takes them while pulling, then deletes them once the final snapshot completed', async () => {
    const { d, state, logger } = slowPulls(5 * 60_000);
    const result = await buildSnapshot(config({ 'checkpoint-snapshots': 'true' }), d);

    const roles = createdRoles();
    expect(roles.at(-1)).toBe('snapshot');
    const checkpoints = roles.slice(0, -1);
    expect(checkpoints.length).toBeGreaterThanOrEqual(10);
    expect(checkpoints.every((r) => r === 'checkpoint')).toBe(true);
    const first = aws?.ec2.commandCalls(CreateSnapshotCommand)[0]?.args[0].input;
    expect(first?.VolumeId).toBe(VOLUME_ID);
    expect(first?.Description).toMatch(/^Checkpoint \(deleted when the build ends\): /);
    const tags = Object.fromEntries(
      (first?.TagSpecifications?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value]),
    );
    // Run tag for the post step; never lineage or build key (reuse and retention ignore them).
    expect(tags['bottlerocket-ebs-snapshot:run']).toBe('acme/platform/4242/1');
    expect(tags['bottlerocket-ebs-snapshot:lineage']).toBeUndefined();
    expect(tags['bottlerocket-ebs-snapshot:build-key']).toBeUndefined();

    const ids = checkpoints.map((_, i) => `${CHECKPOINT_PREFIX}${i + 1}`);
    expect(result.snapshotId).toBe(SNAPSHOT_ID);
    expect(result.checkpoints?.ids).toEqual(ids);
    const deleted = aws?.ec2
      .commandCalls(DeleteSnapshotCommand)
      .map((c) => c.args[0].input.SnapshotId);
    expect(deleted).toEqual(ids);
    // Deleted only after the final snapshot was seen completed: its last look comes first.
    const calls = aws?.ec2.calls() ?? [];
    const firstDelete = calls.findIndex((c) => c.args[0] instanceof DeleteSnapshotCommand);
    const lastLookAtFinal = calls.findLastIndex(
      (c) =>
        c.args[0] instanceof DescribeSnapshotsCommand &&
        (c.args[0].input.SnapshotIds ?? []).includes(SNAPSHOT_ID),
    );
    expect(lastLookAtFinal).toBeGreaterThan(0);
    expect(firstDelete).toBeGreaterThan(lastLookAtFinal);
    expect(state.get(STATE_CHECKPOINTS)).toBe('');
    expect(logger.text()).toContain(`Deleted ${ids.length} checkpoint snapshot(s)`);
    expect(buildSummary(result)).toContain(
      `${ids.length} checkpoint snapshots copied the data volume`,
    );
  });

  it('takes none with checkpoint-snapshots: false', async () => {
    const { d } = slowPulls(5 * 60_000);
    const result = await buildSnapshot(config({ 'checkpoint-snapshots': 'false' }), d);
    expect(createdRoles()).toEqual(['snapshot']);
    expect(result.checkpoints).toBeUndefined();
    expect(buildSummary(result)).not.toContain('checkpoint');
  });

  it('deletes them when the build fails, with the unfinished final snapshot', async () => {
    const { d, state } = slowPulls(3 * 60_000);
    aws?.ec2
      .on(DescribeSnapshotsCommand, { SnapshotIds: [SNAPSHOT_ID] })
      .resolves({ Snapshots: [{ SnapshotId: SNAPSHOT_ID, State: 'error' }] });
    await rejectionOf(buildSnapshot(config({ 'checkpoint-snapshots': 'true' }), d));
    const checkpoints = createdRoles().filter((r) => r === 'checkpoint').length;
    expect(checkpoints).toBeGreaterThan(0);
    const deleted = aws?.ec2
      .commandCalls(DeleteSnapshotCommand)
      .map((c) => c.args[0].input.SnapshotId);
    expect(deleted?.sort()).toEqual(
      [
        SNAPSHOT_ID,
        ...Array.from({ length: checkpoints }, (_, i) => `${CHECKPOINT_PREFIX}${i + 1}`),
      ].sort(),
    );
    expect(state.get(STATE_CHECKPOINTS)).toBe('');
  });

  it('leaves what it could not delete to the post step, in state', async () => {
    const { d, state, logger } = slowPulls(2 * 60_000);
    aws?.ec2
      .on(DeleteSnapshotCommand)
      .rejects(Object.assign(new Error('not allowed'), { name: 'UnauthorizedOperation' }));
    const result = await buildSnapshot(config({ 'checkpoint-snapshots': 'true' }), d);
    const ids = result.checkpoints?.ids ?? [];
    expect(ids.length).toBeGreaterThan(0);
    expect(state.get(STATE_CHECKPOINTS)).toBe(ids.join(','));
    expect(logger.messages('warning').join('\n')).toContain(
      `Could not delete checkpoint snapshot ${ids[0] ?? ''}: not allowed. The post step will try again.`,
    );
  });
});
