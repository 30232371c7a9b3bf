import { afterEach, describe, expect, it } from '@jest/globals';
import {
  DeleteSnapshotCommand,
  DescribeFastSnapshotRestoresCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DisableFastSnapshotRestoresCommand,
  EC2Client,
  type DeleteSnapshotCommandInput,
  type DescribeFastSnapshotRestoresCommandInput,
  type DescribeVolumesCommandInput,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { AbortedError, ActionError, InputError } from '../../../src/core/errors.js';
import { MemoryLogger } from '../../../test-support/memory-logger.js';
import {
  applyRetention,
  planRetention,
  type RetentionParams,
} from '../../../src/cache/retention.js';
import { TAG_LINEAGE, TAG_REPOSITORY, TAG_STATE } from '../../../src/aws/tags.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const LINEAGE = 'acme/platform:node-cache';
const REPO = 'acme/platform';
const SRC = 'us-west-2';
const EU = 'eu-west-1';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

function snap(
  id: string,
  minute: number,
  extra: { lineage?: string; repository?: string; state?: string } = {},
): Snapshot {
  return {
    SnapshotId: id,
    State: (extra.state ?? 'completed') as Snapshot['State'],
    StartTime: new Date(Date.UTC(2026, 0, 1, 0, minute)),
    Tags: [
      { Key: TAG_LINEAGE, Value: extra.lineage ?? LINEAGE },
      { Key: TAG_REPOSITORY, Value: extra.repository ?? REPO },
      { Key: 'team', Value: 'platform' },
    ],
  };
}

interface World {
  ec2: Record<string, AwsClientStub<EC2Client>>;
  ec2For: (region: string) => EC2Client;
  /** Every call as "<region> <Command> <id>", in order. */
  log: string[];
  restore(): void;
}

let world: World | undefined;
afterEach(() => {
  world?.restore();
  world = undefined;
});

function setup(listing: Record<string, Snapshot[]>): World {
  const ec2: World['ec2'] = {};
  const clients: Record<string, EC2Client> = {};
  const log: string[] = [];
  for (const region of Object.keys(listing)) {
    clients[region] = new EC2Client({ region, credentials });
    const m = mockClient(clients[region]);
    ec2[region] = m;
    m.on(DescribeSnapshotsCommand).resolves({ Snapshots: listing[region] });
    m.on(DescribeVolumesCommand).callsFake((input: DescribeVolumesCommandInput) => {
      log.push(`${region} DescribeVolumes ${input.Filters?.[0]?.Values?.[0]}`);
      return { Volumes: [] };
    });
    m.on(DescribeFastSnapshotRestoresCommand).callsFake(
      (input: DescribeFastSnapshotRestoresCommandInput) => {
        log.push(`${region} DescribeFastSnapshotRestores ${input.Filters?.[0]?.Values?.[0]}`);
        return { FastSnapshotRestores: [] };
      },
    );
    m.on(DeleteSnapshotCommand).callsFake((input: DeleteSnapshotCommandInput) => {
      log.push(`${region} DeleteSnapshot ${input.SnapshotId}`);
      return {};
    });
  }
  const w: World = {
    ec2,
    log,
    ec2For: (region) => {
      const client = clients[region];
      if (!client) throw new Error(`no client for ${region}`);
      return client;
    },
    restore: () => {
      for (const m of Object.values(ec2)) m.restore();
    },
  };
  world = w;
  return w;
}

/** The abort signal a mocked `send` was given (its second argument). */
function signalOf(call: { args: readonly unknown[] } | undefined): AbortSignal | undefined {
  const options = call?.args[1] as { abortSignal?: AbortSignal } | undefined;
  return options?.abortSignal;
}

function stub<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('missing mock');
  return value;
}

function params(w: World, overrides: Partial<RetentionParams> = {}) {
  const logger = new MemoryLogger();
  const p: RetentionParams = {
    lineage: LINEAGE,
    repository: REPO,
    keep: 2,
    newSnapshotIds: { [SRC]: 'snap-new' },
    referenced: new Set<string>(),
    ec2For: w.ec2For,
    logger,
    signal: new AbortController().signal,
    ...overrides,
  };
  return { params: p, logger };
}

function deletedIds(w: World, region: string): string[] {
  return stub(w.ec2[region])
    .commandCalls(DeleteSnapshotCommand)
    .map((c) => c.args[0].input.SnapshotId ?? '');
}

describe('planRetention', () => {
  const opts = { lineage: LINEAGE, repository: REPO, keep: 2, referenced: new Set<string>() };

  it('keeps the newest N by start time (the run snapshot counted) and lists the rest oldest first', () => {
    const plan = planRetention(
      [
        snap('snap-b', 2),
        snap('snap-d', 4),
        snap('snap-a', 1),
        snap('snap-new', 5),
        snap('snap-c', 3),
      ],
      { ...opts, newSnapshotId: 'snap-new' },
    );
    expect(plan.kept).toEqual([
      { id: 'snap-new', reason: 'the snapshot of this run' },
      { id: 'snap-d', reason: 'one of the newest 2' },
    ]);
    expect(plan.candidates.map((s) => s.SnapshotId)).toEqual(['snap-a', 'snap-b', 'snap-c']);
  });

  it('keeps a reused (older) run snapshot and still keeps N in all', () => {
    const plan = planRetention([snap('snap-a', 1), snap('snap-b', 2), snap('snap-c', 3)], {
      ...opts,
      newSnapshotId: 'snap-a',
    });
    expect(plan.kept.map((k) => k.id)).toEqual(['snap-c', 'snap-a']);
    expect(plan.candidates.map((s) => s.SnapshotId)).toEqual(['snap-b']);
  });

  it('counts the run snapshot even when the listing does not show it yet', () => {
    const plan = planRetention([snap('snap-a', 1), snap('snap-b', 2)], {
      ...opts,
      newSnapshotId: 'snap-new',
    });
    expect(plan.kept.map((k) => k.id)).toEqual(['snap-b']);
    expect(plan.candidates.map((s) => s.SnapshotId)).toEqual(['snap-a']);
  });

  it('ignores other lineages, other repositories and unfinished snapshots', () => {
    const plan = planRetention(
      [
        snap('snap-other-lineage', 0, { lineage: 'acme/platform:other' }),
        snap('snap-other-repo', 0, { repository: 'evil/fork' }),
        snap('snap-pending', 0, { state: 'pending' }),
        { SnapshotId: 'snap-untagged', State: 'completed', StartTime: new Date(0) },
        // A killed run's: completed by EC2, but its build never finished.
        {
          ...snap('snap-unfinished', 9),
          Tags: [...(snap('x', 9).Tags ?? []), { Key: TAG_STATE, Value: 'building' }],
        },
        snap('snap-a', 1),
        snap('snap-b', 2),
        snap('snap-c', 3),
      ],
      { ...opts, keep: 1 },
    );
    expect(plan.kept.map((k) => k.id)).toEqual(['snap-c']);
    expect(plan.candidates.map((s) => s.SnapshotId)).toEqual(['snap-a', 'snap-b']);
  });

  it('keeps referenced snapshots beyond N', () => {
    const plan = planRetention([snap('snap-a', 1), snap('snap-b', 2), snap('snap-c', 3)], {
      ...opts,
      keep: 1,
      referenced: new Set(['snap-a']),
    });
    expect(plan.kept).toContainEqual({ id: 'snap-a', reason: 'referenced by a manifest' });
    expect(plan.candidates.map((s) => s.SnapshotId)).toEqual(['snap-b']);
  });

  it('treats a snapshot without a start time as newest', () => {
    const plan = planRetention(
      [snap('snap-a', 1), { ...snap('snap-x', 0), StartTime: undefined }, snap('snap-b', 2)],
      { ...opts, keep: 1 },
    );
    expect(plan.kept.map((k) => k.id)).toEqual(['snap-x']);
  });
});

describe('applyRetention', () => {
  it('lists by lineage and repository tags and deletes beyond the newest N', async () => {
    const w = setup({
      [SRC]: [snap('snap-a', 1), snap('snap-b', 2), snap('snap-c', 3), snap('snap-new', 4)],
    });
    const ac = new AbortController();
    const { params: p } = params(w, { signal: ac.signal });
    const results = await applyRetention(p);
    expect(results).toEqual([
      {
        region: SRC,
        deleted: ['snap-a', 'snap-b'],
        kept: [
          { id: 'snap-new', reason: 'the snapshot of this run' },
          { id: 'snap-c', reason: 'one of the newest 2' },
        ],
      },
    ]);
    expect(stub(w.ec2[SRC]).commandCalls(DescribeSnapshotsCommand)[0]?.args[0].input).toEqual({
      OwnerIds: ['self'],
      Filters: [
        { Name: `tag:${TAG_LINEAGE}`, Values: [LINEAGE] },
        { Name: `tag:${TAG_REPOSITORY}`, Values: [REPO] },
        { Name: 'status', Values: ['completed'] },
      ],
      MaxResults: 1000,
    });
    expect(stub(w.ec2[SRC]).commandCalls(DescribeVolumesCommand)[0]?.args[0].input).toEqual({
      Filters: [
        { Name: 'snapshot-id', Values: ['snap-a'] },
        { Name: 'status', Values: ['creating'] },
      ],
    });
    expect(
      stub(w.ec2[SRC]).commandCalls(DescribeFastSnapshotRestoresCommand)[0]?.args[0].input,
    ).toEqual({ Filters: [{ Name: 'snapshot-id', Values: ['snap-a'] }] });
    for (const call of stub(w.ec2[SRC]).calls()) {
      expect(signalOf(call)).toBe(ac.signal);
    }
  });

  it('never deletes a snapshot of another lineage, even if the listing returns one', async () => {
    const w = setup({
      [SRC]: [
        snap('snap-foreign', 0, { lineage: 'someone-else' }),
        snap('snap-fork', 0, { repository: 'evil/fork' }),
        snap('snap-a', 1),
        snap('snap-new', 4),
      ],
    });
    const { params: p } = params(w, { keep: 1 });
    const [result] = await applyRetention(p);
    expect(result?.deleted).toEqual(['snap-a']);
    expect(deletedIds(w, SRC)).toEqual(['snap-a']);
  });

  it('keeps referenced snapshots', async () => {
    const w = setup({ [SRC]: [snap('snap-a', 1), snap('snap-b', 2), snap('snap-new', 4)] });
    const { params: p } = params(w, { keep: 1, referenced: new Set(['snap-a']) });
    const [result] = await applyRetention(p);
    expect(result?.deleted).toEqual(['snap-b']);
    expect(result?.kept).toContainEqual({ id: 'snap-a', reason: 'referenced by a manifest' });
  });

  it('keeps a snapshot a volume is being created from', async () => {
    const w = setup({ [SRC]: [snap('snap-a', 1), snap('snap-b', 2), snap('snap-new', 4)] });
    stub(w.ec2[SRC])
      .on(DescribeVolumesCommand)
      .callsFake((input: DescribeVolumesCommandInput) => ({
        Volumes:
          input.Filters?.[0]?.Values?.[0] === 'snap-a'
            ? [{ VolumeId: 'vol-0abc', State: 'creating', SnapshotId: 'snap-a' }]
            : [],
      }));
    const { params: p } = params(w, { keep: 1 });
    const [result] = await applyRetention(p);
    expect(result?.deleted).toEqual(['snap-b']);
    expect(result?.kept).toContainEqual({
      id: 'snap-a',
      reason: 'volume vol-0abc is being created from it',
    });
  });

  it('disables fast snapshot restore before deleting', async () => {
    const w = setup({ [SRC]: [snap('snap-a', 1), snap('snap-new', 4)] });
    const m = stub(w.ec2[SRC]);
    m.on(DescribeFastSnapshotRestoresCommand).callsFake(() => {
      w.log.push(`${SRC} DescribeFastSnapshotRestores snap-a`);
      return {
        FastSnapshotRestores: [
          { SnapshotId: 'snap-a', AvailabilityZone: 'us-west-2a', State: 'enabled' },
          { SnapshotId: 'snap-a', AvailabilityZone: 'us-west-2b', State: 'optimizing' },
          { SnapshotId: 'snap-a', AvailabilityZone: 'us-west-2c', State: 'disabled' },
        ],
      };
    });
    m.on(DescribeImagesCommand).resolves({ Images: [] });
    m.on(DisableFastSnapshotRestoresCommand).callsFake(() => {
      w.log.push(`${SRC} DisableFastSnapshotRestores snap-a`);
      return {
        Successful: [
          { SnapshotId: 'snap-a', AvailabilityZone: 'us-west-2a', State: 'disabling' },
          { SnapshotId: 'snap-a', AvailabilityZone: 'us-west-2b', State: 'disabling' },
        ],
      };
    });
    const { params: p, logger } = params(w, { keep: 1 });
    const [result] = await applyRetention(p);
    expect(result?.deleted).toEqual(['snap-a']);
    expect(m.commandCalls(DisableFastSnapshotRestoresCommand)[0]?.args[0].input).toEqual({
      AvailabilityZones: ['us-west-2a', 'us-west-2b'],
      SourceSnapshotIds: ['snap-a'],
    });
    expect(m.commandCalls(DescribeImagesCommand)[0]?.args[0].input).toEqual({
      Owners: ['self'],
      Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: ['snap-a'] }],
    });
    expect(w.log).toEqual([
      `${SRC} DescribeVolumes snap-a`,
      `${SRC} DescribeFastSnapshotRestores snap-a`,
      `${SRC} DisableFastSnapshotRestores snap-a`,
      `${SRC} DeleteSnapshot snap-a`,
    ]);
    expect(logger.text()).toMatch(/Disabled fast snapshot restore on snap-a/);
  });

  it('leaves fast snapshot restore alone on a snapshot an AMI uses', async () => {
    const w = setup({ [SRC]: [snap('snap-a', 1), snap('snap-new', 4)] });
    const m = stub(w.ec2[SRC]);
    m.on(DescribeFastSnapshotRestoresCommand).resolves({
      FastSnapshotRestores: [
        { SnapshotId: 'snap-a', AvailabilityZone: 'us-west-2a', State: 'enabled' },
      ],
    });
    m.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-0123' }] });
    const { params: p } = params(w, { keep: 1 });
    const [result] = await applyRetention(p);
    expect(result?.deleted).toEqual([]);
    expect(result?.kept).toContainEqual({ id: 'snap-a', reason: 'in use by ami-0123' });
    expect(m.commandCalls(DisableFastSnapshotRestoresCommand)).toHaveLength(0);
    expect(m.commandCalls(DeleteSnapshotCommand)).toHaveLength(0);
  });

  it('keeps the snapshot when fast snapshot restore cannot be disabled', async () => {
    const w = setup({ [SRC]: [snap('snap-a', 1), snap('snap-new', 4)] });
    const m = stub(w.ec2[SRC]);
    m.on(DescribeFastSnapshotRestoresCommand).resolves({
      FastSnapshotRestores: [
        { SnapshotId: 'snap-a', AvailabilityZone: 'us-west-2a', State: 'enabled' },
      ],
    });
    m.on(DescribeImagesCommand).resolves({ Images: [] });
    m.on(DisableFastSnapshotRestoresCommand).resolves({
      Unsuccessful: [
        {
          SnapshotId: 'snap-a',
          FastSnapshotRestoreStateErrors: [
            {
              AvailabilityZone: 'us-west-2a',
              Error: { Code: 'InternalError', Message: 'try later' },
            },
          ],
        },
      ],
    });
    const { params: p, logger } = params(w, { keep: 1 });
    const [result] = await applyRetention(p);
    expect(result?.deleted).toEqual([]);
    expect(result?.kept[1]?.reason).toMatch(
      /could not be disabled \(us-west-2a: InternalError try later\)/,
    );
    expect(m.commandCalls(DeleteSnapshotCommand)).toHaveLength(0);
    expect(logger.messages('warning')).toHaveLength(1);
  });

  it('keeps a snapshot EC2 reports in use, without an error', async () => {
    const w = setup({ [SRC]: [snap('snap-a', 1), snap('snap-b', 2), snap('snap-new', 4)] });
    stub(w.ec2[SRC])
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-a' })
      .rejects(
        Object.assign(new Error('The snapshot snap-a is currently in use by ami-0123'), {
          name: 'InvalidSnapshot.InUse',
        }),
      );
    const { params: p, logger } = params(w, { keep: 1 });
    const [result] = await applyRetention(p);
    expect(result?.deleted).toEqual(['snap-b']);
    expect(result?.kept).toContainEqual({
      id: 'snap-a',
      reason: 'in use (The snapshot snap-a is currently in use by ami-0123)',
    });
    expect(logger.messages('warning')).toEqual([]);
  });

  it('keeps a snapshot it may not delete, with a warning naming the permission', async () => {
    const w = setup({ [SRC]: [snap('snap-a', 1), snap('snap-new', 4)] });
    stub(w.ec2[SRC])
      .on(DeleteSnapshotCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' }));
    const { params: p, logger } = params(w, { keep: 1 });
    const [result] = await applyRetention(p);
    expect(result?.kept).toContainEqual({
      id: 'snap-a',
      reason: 'could not be deleted (UnauthorizedOperation: not authorized)',
    });
    expect(logger.messages('warning').join('\n')).toMatch(/ec2:DeleteSnapshot/);
  });

  it('does not count a snapshot that is already gone as deleted', async () => {
    const w = setup({ [SRC]: [snap('snap-a', 1), snap('snap-new', 4)] });
    stub(w.ec2[SRC])
      .on(DeleteSnapshotCommand)
      .rejects(Object.assign(new Error('gone'), { name: 'InvalidSnapshot.NotFound' }));
    const { params: p } = params(w, { keep: 1 });
    const [result] = await applyRetention(p);
    expect(result?.deleted).toEqual([]);
    expect(result?.kept.map((k) => k.id)).toEqual(['snap-new']);
  });

  it('applies in every region with that region’s new snapshot protected', async () => {
    const w = setup({
      [SRC]: [snap('snap-a', 1), snap('snap-b', 2), snap('snap-new', 4)],
      // In eu-west-1 the run's copy is older by start time than another copy.
      [EU]: [snap('snap-eu-a', 1), snap('snap-eu-new', 2), snap('snap-eu-c', 3)],
    });
    const { params: p } = params(w, {
      keep: 1,
      newSnapshotIds: { [SRC]: 'snap-new', [EU]: 'snap-eu-new' },
    });
    const results = await applyRetention(p);
    expect(results.map((r) => [r.region, r.deleted])).toEqual([
      [SRC, ['snap-a', 'snap-b']],
      [EU, ['snap-eu-a', 'snap-eu-c']],
    ]);
    expect(deletedIds(w, EU)).toEqual(['snap-eu-a', 'snap-eu-c']);
  });

  it('fails for a region it cannot list, after finishing the others', async () => {
    const w = setup({ [SRC]: [snap('snap-a', 1), snap('snap-new', 4)], [EU]: [] });
    stub(w.ec2[EU])
      .on(DescribeSnapshotsCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' }));
    const { params: p } = params(w, {
      keep: 1,
      newSnapshotIds: { [SRC]: 'snap-new', [EU]: 'snap-eu-new' },
    });
    const error = await applyRetention(p).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionError);
    expect((error as Error).message).toMatch(
      /in eu-west-1 failed .*ec2:DescribeSnapshots in eu-west-1/,
    );
    expect(deletedIds(w, SRC)).toEqual(['snap-a']);
  });

  it('refuses keep-snapshots below 1', async () => {
    const w = setup({ [SRC]: [] });
    const { params: p } = params(w, { keep: 0 });
    await expect(applyRetention(p)).rejects.toThrow(InputError);
    expect(stub(w.ec2[SRC]).calls()).toHaveLength(0);
  });

  it('stops with AbortedError when cancelled', async () => {
    const w = setup({ [SRC]: [snap('snap-a', 1), snap('snap-b', 2), snap('snap-new', 4)] });
    const ac = new AbortController();
    stub(w.ec2[SRC])
      .on(DeleteSnapshotCommand)
      .callsFake(() => {
        ac.abort(new AbortedError('cancelled'));
        return {};
      });
    const { params: p } = params(w, { keep: 1, signal: ac.signal });
    await expect(applyRetention(p)).rejects.toThrow(AbortedError);
    expect(stub(w.ec2[SRC]).commandCalls(DeleteSnapshotCommand)).toHaveLength(1);
  });
});
