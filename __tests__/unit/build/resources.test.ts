// The resource ledger (src/build/resources.ts): what the build created is in state as soon as it
// exists, removed at the end in order (terminate, incomplete snapshot, checkpoints), and what
// could not be removed is left in state for the post step.
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  CreateSnapshotCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { SendCommandCommand } from '@aws-sdk/client-ssm';
import {
  buildSnapshot,
  STATE_CHECKPOINTS,
  STATE_CLEAN,
  STATE_INSTANCE_IDS,
  STATE_PENDING_SNAPSHOT,
} from '../../../src/build/index.js';
import { BuildResources } from '../../../src/build/resources.js';
import { MemoryLogger } from '../../../test-support/memory-logger.js';
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

describe('BuildResources', () => {
  /** A ledger on its own EC2 client (mocked alone), its state saves and log in order. */
  function ledger() {
    const client = new EC2Client({ region: 'us-west-2' });
    const ec2 = mockClient(client);
    ec2.on(TerminateInstancesCommand).resolves({ TerminatingInstances: [{ InstanceId: 'i-1' }] });
    ec2.on(DeleteSnapshotCommand).resolves({});
    const saved: Array<[string, string]> = [];
    const logger = new MemoryLogger();
    const resources = new BuildResources(client, { save: (k, v) => saved.push([k, v]) }, logger);
    /** Every EC2 call so far: the command's name and what it removed. */
    const calls = () =>
      ec2.calls().map((c) => {
        const command = c.args[0] as { constructor: { name: string }; input: object };
        const input = command.input as { InstanceIds?: string[]; SnapshotId?: string };
        return [command.constructor.name, input.InstanceIds ?? input.SnapshotId];
      });
    return { client, ec2, saved, logger, resources, calls };
  }

  /** Starts a chain that takes one checkpoint, and waits until it has. */
  async function oneCheckpoint(l: ReturnType<typeof ledger>): Promise<void> {
    const clock = new VirtualClock();
    l.ec2.on(CreateSnapshotCommand).resolves({ SnapshotId: 'snap-cp1', State: 'pending' });
    l.ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [{ SnapshotId: 'snap-cp1', State: 'completed', Progress: '100%' }],
    });
    const chain = l.resources.startCheckpoints(
      { volumeId: VOLUME_ID, description: 'Checkpoint', tags: {} },
      {
        ec2: l.client,
        clock,
        logger: l.logger,
        signal: new AbortController().signal,
        policy: { firstAfterMs: 0, minGapMs: 0, max: 1, completionBoundMs: 60_000 },
      },
    );
    for (let i = 0; i < 200 && chain.report().completed === 0; i++)
      await new Promise((r) => setImmediate(r));
    await chain.stop();
    expect(chain.report().ids).toEqual(['snap-cp1']);
  }

  it('records each resource in state as it comes, and after a failed build removes them in order', async () => {
    const l = ledger();
    l.resources.launched('i-1');
    l.resources.launched('i-2');
    await oneCheckpoint(l);
    l.resources.snapshotStarted('snap-final');
    expect(l.saved).toEqual([
      [STATE_INSTANCE_IDS, 'i-1'],
      [STATE_INSTANCE_IDS, 'i-1,i-2'],
      [STATE_CHECKPOINTS, 'snap-cp1'],
      [STATE_PENDING_SNAPSHOT, 'snap-final'],
    ]);
    l.ec2.resetHistory();
    await l.resources.teardown();
    // The builder first (it holds the volume), then the final snapshot, then the checkpoints.
    expect(l.calls()).toEqual([
      ['TerminateInstancesCommand', ['i-1', 'i-2']],
      ['DeleteSnapshotCommand', 'snap-final'],
      ['DeleteSnapshotCommand', 'snap-cp1'],
    ]);
    expect(l.saved.slice(4)).toEqual([
      [STATE_INSTANCE_IDS, ''],
      [STATE_PENDING_SNAPSHOT, ''],
      [STATE_CHECKPOINTS, ''],
    ]);
    expect(l.logger.messages('info')).toEqual(
      expect.arrayContaining([
        'Terminated builder i-1, i-2 (run did not complete).',
        'Deleted incomplete snapshot snap-final.',
        'Deleted 1 checkpoint snapshot(s) (the build did not complete).',
      ]),
    );
    const order = ['Terminated builder', 'Deleted incomplete', 'Deleted 1 checkpoint'].map((m) =>
      l.logger.messages('info').findIndex((line) => line.startsWith(m)),
    );
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('keeps a completed snapshot, and terminates the builder once, again at the end if early failed', async () => {
    const l = ledger();
    l.resources.launched('i-1');
    l.resources.snapshotStarted('snap-final');
    l.ec2
      .on(TerminateInstancesCommand)
      .rejectsOnce(Object.assign(new Error('throttled'), { name: 'RequestLimitExceeded' }))
      .resolves({ TerminatingInstances: [{ InstanceId: 'i-1' }] });
    await l.resources.terminateBuilderEarly('snapshot started');
    expect(l.logger.messages('warning')).toEqual([
      'Could not terminate builder i-1 yet: throttled. Trying again at the end.',
    ]);
    l.resources.snapshotCompleted();
    await l.resources.teardown();
    await l.resources.teardown();
    expect(l.calls()).toEqual([
      ['TerminateInstancesCommand', ['i-1']],
      ['TerminateInstancesCommand', ['i-1']],
    ]);
    expect(l.logger.messages('info')).toContain('Terminated builder i-1 (done).');
    expect(l.saved).toEqual([
      [STATE_INSTANCE_IDS, 'i-1'],
      [STATE_PENDING_SNAPSHOT, 'snap-final'],
      [STATE_PENDING_SNAPSHOT, ''],
      [STATE_INSTANCE_IDS, ''],
    ]);
  });

  it('goes on when a removal fails, leaving its ID in state for the post step', async () => {
    const l = ledger();
    l.ec2.on(TerminateInstancesCommand).rejects(new Error('boom'));
    l.ec2.on(DeleteSnapshotCommand).rejects(new Error('denied'));
    l.resources.launched('i-1');
    l.resources.snapshotStarted('snap-final');
    await l.resources.teardown();
    expect(l.calls()).toEqual([
      ['TerminateInstancesCommand', ['i-1']],
      ['DeleteSnapshotCommand', 'snap-final'],
    ]);
    expect(l.logger.messages('warning')).toEqual([
      'Could not terminate builder i-1: boom. The post step will try again.',
      'Could not delete incomplete snapshot snap-final: denied. The post step will try again.',
    ]);
    expect(l.saved).toEqual([
      [STATE_INSTANCE_IDS, 'i-1'],
      [STATE_PENDING_SNAPSHOT, 'snap-final'],
    ]);
  });

  it('removes nothing when the build created nothing', async () => {
    const l = ledger();
    await l.resources.teardown();
    expect(l.calls()).toEqual([]);
    expect(l.saved).toEqual([]);
    expect(l.logger.messages('warning')).toEqual([]);
  });
});
