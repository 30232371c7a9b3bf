/**
 * The sweep by invocation tag: everything this use of the action created carries
 * its invocation tags from the moment of creation (TagSpecifications), so whatever
 * is left is found by them, whether or not its ID ever reached the action (a lost
 * answer, an aborted request, a killed process). The main step's final cleanup and
 * the post step both sweep, in every region the run touched:
 *
 * - instances not terminated are terminated;
 * - snapshots (final ones and checkpoints) that are not the run's output are
 *   deleted, a pending one after waiting for it, bounded;
 * - volumes left `available` are deleted.
 *
 * The sweep looks again after acting, and says `clean` only when a look found
 * nothing: when nothing is left that costs one Describe call per resource kind
 * and region. When a create request may have happened unseen (aws/create-ledger.ts), a look
 * that finds nothing is repeated for a short grace, as a new resource can take
 * a few seconds to show in EC2's Describe calls.
 */
import {
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  type EC2Client,
  type Instance,
  type Snapshot,
  type Volume,
} from '@aws-sdk/client-ec2';
import { collectPages } from '../aws/pages.js';
import { terminateInstances } from './builder-instance.js';
import type { Deps } from '../core/deps.js';
import { errorMessage } from '../core/errors.js';
import { awsErrorName } from '../aws/errors.js';
import { runKey, type RunContext } from '../config/run-context.js';
import { deleteSnapshot, listOwnSnapshots, waitForSnapshot } from '../aws/snapshots.js';
import { invocationTags, RESERVED_TAG_PREFIX, TAG_INVOCATION, TAG_RUN } from '../aws/tags.js';

/** Set on copies in other regions: `<source region>/<source snapshot ID>` (distribution/copy.ts). */
const TAG_SOURCE = `${RESERVED_TAG_PREFIX}source`;

export interface SweepBounds {
  /** Longest wait for a pending snapshot before deleting it. */
  pendingSnapshotMs: number;
  /** How long a look that finds nothing is repeated when a create may have happened unseen. */
  uncertainGraceMs: number;
  /** Pause between two such looks. */
  lookAgainMs: number;
  /** Most rounds of look-and-remove. */
  rounds: number;
}

export const DEFAULT_SWEEP_BOUNDS: SweepBounds = {
  pendingSnapshotMs: 60_000,
  uncertainGraceMs: 30_000,
  lookAgainMs: 3_000,
  rounds: 3,
};

/** How long a whole sweep may take (the step's own bound on it). */
export const SWEEP_TIMEOUT_MS = 150_000;

export interface SweepRequest extends Deps {
  /** Every region the run touched, each with its client; the first is the build's. */
  regions: ReadonlyArray<{ region: string; ec2: EC2Client }>;
  context: RunContext;
  /** The run's output snapshots (any region): never deleted, nor their copies. */
  keep: ReadonlySet<string>;
  /** IDs the main step recorded (the build's region), removed even if a tag search misses them. */
  known?: { instances?: readonly string[]; snapshots?: readonly string[] };
  /** A create request may have made something unseen (aws/create-ledger.ts): look again before saying clean. */
  uncertain?: boolean;
  bounds?: Partial<SweepBounds>;
}

export interface SweepResult {
  /** The last look found nothing of this invocation's left. */
  clean: boolean;
  terminated: string[];
  deletedSnapshots: string[];
  deletedVolumes: string[];
  /** What could not be removed, or found, with EC2's message. */
  errors: string[];
}

interface Found {
  instances: string[];
  snapshots: Snapshot[];
  volumes: string[];
}

const tagFilters = (tags: Record<string, string>) =>
  Object.entries(tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] }));

/** Instances carrying every one of `tags`, not terminated (nor on their way: shutting-down). */
export async function findTaggedInstances(
  ec2: EC2Client,
  tags: Record<string, string>,
  signal: AbortSignal,
): Promise<Instance[]> {
  return collectPages(async (nextToken) => {
    const out = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          ...tagFilters(tags),
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
        ],
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
      { abortSignal: signal },
    );
    return {
      items: (out.Reservations ?? []).flatMap((r) => r.Instances ?? []),
      nextToken: out.NextToken,
    };
  });
}

/** Volumes carrying every one of `tags`, attached to nothing. */
export async function findTaggedVolumes(
  ec2: EC2Client,
  tags: Record<string, string>,
  signal: AbortSignal,
): Promise<Volume[]> {
  return collectPages(async (nextToken) => {
    const out = await ec2.send(
      new DescribeVolumesCommand({
        Filters: [...tagFilters(tags), { Name: 'status', Values: ['available'] }],
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
      { abortSignal: signal },
    );
    return { items: out.Volumes ?? [], nextToken: out.NextToken };
  });
}

const ids = <T>(items: T[], id: (item: T) => string | undefined): string[] =>
  items.flatMap((item) => {
    const value = id(item);
    return value ? [value] : [];
  });

/** Deletes an available volume; one already gone is not an error. */
export async function deleteVolume(
  ec2: EC2Client,
  volumeId: string,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    await ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId }), { abortSignal: signal });
    return true;
  } catch (error) {
    if (awsErrorName(error) === 'InvalidVolume.NotFound') return false;
    throw error;
  }
}

/** A snapshot the run keeps: an output, or a copy of one (kept for later runs to reuse). */
function kept(snapshot: Snapshot, keep: ReadonlySet<string>): boolean {
  if (snapshot.SnapshotId && keep.has(snapshot.SnapshotId)) return true;
  const source = snapshot.Tags?.find((t) => t.Key === TAG_SOURCE)?.Value ?? '';
  return keep.has(source.slice(source.indexOf('/') + 1));
}

async function look(
  ec2: EC2Client,
  request: SweepRequest,
  errors: string[],
  region: string,
): Promise<Found> {
  const { context, signal } = request;
  const found: Found = { instances: [], snapshots: [], volumes: [] };
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (error) {
      errors.push(`could not look for ${what} in ${region}: ${errorMessage(error)}`);
    }
  };
  const tags = invocationTags(context);
  await attempt('instances', async () => {
    found.instances = ids(await findTaggedInstances(ec2, tags, signal), (i) => i.InstanceId);
  });
  await attempt('snapshots', async () => {
    const all = await listOwnSnapshots(ec2, { tags }, signal);
    found.snapshots = all.filter((s) => s.SnapshotId && !kept(s, request.keep));
  });
  await attempt('volumes', async () => {
    found.volumes = ids(await findTaggedVolumes(ec2, tags, signal), (v) => v.VolumeId);
  });
  return found;
}

async function removeSnapshot(
  ec2: EC2Client,
  snapshot: Snapshot,
  request: SweepRequest,
  bounds: SweepBounds,
): Promise<boolean> {
  const id = snapshot.SnapshotId ?? '';
  if (snapshot.State === 'pending') {
    // Deleting a snapshot EC2 is still copying is refused or leaves it half-made: wait first.
    await waitForSnapshot(id, bounds.pendingSnapshotMs, {
      ec2,
      clock: request.clock,
      logger: request.logger,
      signal: request.signal,
      maxIntervalMs: 5_000,
    }).catch((error: unknown) =>
      request.logger.debug(
        `Snapshot ${id} did not complete (${errorMessage(error)}); deleting it.`,
      ),
    );
  }
  return deleteSnapshot(ec2, id, request.signal);
}

async function removeAll(
  ec2: EC2Client,
  region: string,
  found: Found,
  request: SweepRequest,
  bounds: SweepBounds,
  result: SweepResult,
): Promise<void> {
  const { logger, signal } = request;
  if (found.instances.length > 0) {
    try {
      await terminateInstances(ec2, found.instances, signal);
      result.terminated.push(...found.instances);
      logger.info(`Terminated ${found.instances.join(', ')} (${region}).`);
    } catch (error) {
      result.errors.push(
        `could not terminate ${found.instances.join(', ')}: ${errorMessage(error)}`,
      );
    }
  }
  for (const snapshot of found.snapshots) {
    const id = snapshot.SnapshotId ?? '';
    try {
      if (await removeSnapshot(ec2, snapshot, request, bounds)) {
        result.deletedSnapshots.push(id);
        logger.info(`Deleted snapshot ${id} (${region}): not an output of this run.`);
      }
    } catch (error) {
      result.errors.push(`could not delete snapshot ${id}: ${errorMessage(error)}`);
    }
  }
  for (const id of found.volumes) {
    try {
      if (await deleteVolume(ec2, id, signal)) {
        result.deletedVolumes.push(id);
        logger.info(`Deleted volume ${id} (${region}).`);
      }
    } catch (error) {
      result.errors.push(`could not delete volume ${id}: ${errorMessage(error)}`);
    }
  }
}

const nothing = (f: Found) =>
  f.instances.length === 0 && f.snapshots.length === 0 && f.volumes.length === 0;

/** What a look found, for a message. */
function describeFound(looks: ReadonlyArray<{ region: string; found: Found }>): string {
  return looks
    .filter((l) => !nothing(l.found))
    .map(
      ({ region, found }) =>
        `${region}: ${[...found.instances, ...found.snapshots.map((s) => s.SnapshotId ?? ''), ...found.volumes].join(', ')}`,
    )
    .join('; ');
}

/** Sweeps every region of `request` until a look finds nothing (bounded by rounds and grace). */
export async function sweepInvocation(request: SweepRequest): Promise<SweepResult> {
  const bounds = { ...DEFAULT_SWEEP_BOUNDS, ...request.bounds };
  const { clock, logger } = request;
  const result: SweepResult = {
    clean: false,
    terminated: [],
    deletedSnapshots: [],
    deletedVolumes: [],
    errors: [],
  };
  const started = clock.now();
  let lookForUnseen = request.uncertain === true;
  let known = request.known;
  for (let round = 0; ;) {
    const lookErrors: string[] = [];
    const looks = await Promise.all(
      request.regions.map(async ({ region, ec2 }) => ({
        region,
        ec2,
        found: await look(ec2, request, lookErrors, region),
      })),
    );
    const home = looks[0];
    if (home && known) {
      // Recorded IDs count even where a search by tag would miss them.
      const { found } = home;
      const snapshots = (known.snapshots ?? []).filter(
        (id) => id && !request.keep.has(id) && !found.snapshots.some((s) => s.SnapshotId === id),
      );
      found.instances = [...new Set([...(known.instances ?? []), ...found.instances])].filter(
        Boolean,
      );
      found.snapshots.push(...snapshots.map((SnapshotId) => ({ SnapshotId })));
      known = undefined;
    }
    if (lookErrors.length === 0 && looks.every((l) => nothing(l.found))) {
      if (lookForUnseen && clock.now() - started < bounds.uncertainGraceMs) {
        await clock.sleep(bounds.lookAgainMs, request.signal);
        continue;
      }
      result.clean = true;
      result.errors = [];
      break;
    }
    if (round >= bounds.rounds) {
      const left = describeFound(looks);
      result.errors.push(
        ...lookErrors,
        ...(left ? [`still left after ${round} rounds: ${left}`] : []),
      );
      break;
    }
    lookForUnseen = false;
    round++;
    result.errors = [...lookErrors];
    for (const { region, ec2, found } of looks) {
      await removeAll(ec2, region, found, request, bounds, result);
    }
  }
  if (result.clean) {
    const removed =
      result.terminated.length + result.deletedSnapshots.length + result.deletedVolumes.length;
    if (removed === 0)
      logger.info('Swept by tag: nothing of this run is left, nothing to clean up.');
  } else {
    for (const message of new Set(result.errors)) {
      logger.warning(
        `Cleanup: ${message}. Remove it by hand: look for the tags ${TAG_RUN}=${runKey(request.context)}` +
          (request.context.invocation
            ? ` and ${TAG_INVOCATION}=${request.context.invocation}`
            : '') +
          '.',
      );
    }
  }
  return result;
}
