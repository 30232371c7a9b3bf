/**
 * `keep-snapshots`: after a successful run, older snapshots of the same lineage
 * are deleted so that the newest N remain, in the source region and in every
 * region the snapshot was copied to (copies carry the same tags).
 *
 * Deleting is conservative. Never deleted: the snapshot of this run, snapshots
 * of another lineage or repository, snapshots that a manifest references, a
 * snapshot a volume is being created from, or one EC2 reports in use (an AMI).
 * Fast snapshot restore is disabled on a snapshot before it is deleted.
 */
import {
  DescribeFastSnapshotRestoresCommand,
  DescribeImagesCommand,
  DescribeVolumesCommand,
  DisableFastSnapshotRestoresCommand,
  type EC2Client,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { abortReason } from '../core/clock.js';
import { AbortedError, ActionError, InputError, errorMessage } from '../core/errors.js';
import { awsErrorName, describeAwsError } from '../aws/errors.js';
import type { Deps } from '../core/deps.js';
import { deleteSnapshot, listOwnSnapshots } from '../aws/snapshots.js';
import { buildFinished, TAG_LINEAGE, TAG_REPOSITORY } from '../aws/tags.js';

const INPUT_KEEP = 'keep-snapshots';
/** Pages of DescribeSnapshots read at most (1000 snapshots each). */
const MAX_PAGES = 50;
const FSR_ACTIVE = new Set(['enabling', 'optimizing', 'enabled']);

export interface KeptSnapshot {
  id: string;
  reason: string;
}

export interface RetentionResult {
  region: string;
  deleted: string[];
  kept: KeptSnapshot[];
}

/** What retention is given; of the deps, the logger and the run's signal (it does not wait). */
export interface RetentionParams extends Pick<Deps, 'logger' | 'signal'> {
  /** Value of TAG_LINEAGE on this run's snapshot. */
  lineage: string;
  /** owner/name: value of the repository tag on this run's snapshot. */
  repository: string;
  /** How many snapshots of the lineage to keep per region, this run's included (1 or more). */
  keep: number;
  /**
   * region -> the snapshot this run built, reused or copied there (DistributionResult.snapshotIds,
   * or `{ [region]: snapshotId }` without copies). Retention runs in each of these regions.
   */
  newSnapshotIds: Record<string, string>;
  /** Snapshot IDs named by the manifests update-files matched: never deleted. */
  referenced: ReadonlySet<string>;
  ec2For: (region: string) => EC2Client;
}

export interface RetentionPlan {
  /** Snapshots that may be deleted, oldest first (each is still checked before deletion). */
  candidates: Snapshot[];
  kept: KeptSnapshot[];
}

function tag(snapshot: Snapshot, key: string): string | undefined {
  return snapshot.Tags?.find((t) => t.Key === key)?.Value;
}

/** Newest first; a snapshot without a start time counts as newest (it is never deleted for age). */
function byStartTimeDesc(a: Snapshot, b: Snapshot): number {
  const ta = a.StartTime?.getTime() ?? Number.POSITIVE_INFINITY;
  const tb = b.StartTime?.getTime() ?? Number.POSITIVE_INFINITY;
  if (ta !== tb) return ta < tb ? 1 : -1;
  const ia = a.SnapshotId ?? '';
  const ib = b.SnapshotId ?? '';
  return ia < ib ? 1 : ia > ib ? -1 : 0;
}

/**
 * Decides, from a listing alone, which snapshots are kept and which may go.
 * Only completed snapshots whose lineage and repository tags match are
 * considered; anything else in `snapshots` is ignored (neither kept nor deleted).
 * The run's own snapshot counts towards `keep`, listed or not.
 */
export function planRetention(
  snapshots: readonly Snapshot[],
  options: {
    lineage: string;
    repository: string;
    keep: number;
    newSnapshotId?: string;
    referenced: ReadonlySet<string>;
  },
): RetentionPlan {
  const seen = new Set<string>();
  const lineage = snapshots
    .filter((s) => {
      const id = s.SnapshotId;
      if (!id || seen.has(id)) return false;
      seen.add(id);
      // A snapshot whose build never finished is not one of the newest N (the sweep owns it).
      return (
        s.State === 'completed' &&
        buildFinished(s) &&
        tag(s, TAG_LINEAGE) === options.lineage &&
        tag(s, TAG_REPOSITORY) === options.repository
      );
    })
    .sort(byStartTimeDesc);

  const kept: KeptSnapshot[] = [];
  const candidates: Snapshot[] = [];
  let slots = options.keep - (options.newSnapshotId !== undefined ? 1 : 0);
  for (const snapshot of lineage) {
    const id = snapshot.SnapshotId ?? '';
    if (id === options.newSnapshotId) {
      kept.push({ id, reason: 'the snapshot of this run' });
    } else if (slots > 0) {
      slots--;
      kept.push({ id, reason: `one of the newest ${options.keep}` });
    } else if (options.referenced.has(id)) {
      kept.push({ id, reason: 'referenced by a manifest' });
    } else {
      candidates.push(snapshot);
    }
  }
  candidates.reverse();
  return { candidates, kept };
}

async function listLineage(
  ec2: EC2Client,
  region: string,
  params: RetentionParams,
): Promise<Snapshot[]> {
  let snapshots: Snapshot[];
  try {
    snapshots = await listOwnSnapshots(
      ec2,
      {
        tags: { [TAG_LINEAGE]: params.lineage, [TAG_REPOSITORY]: params.repository },
        states: ['completed'],
      },
      params.signal,
      MAX_PAGES,
    );
  } catch (error) {
    if (params.signal.aborted) throw abortReason(params.signal);
    throw new ActionError(
      `Listing the snapshots of lineage '${params.lineage}' in ${region} failed (${describeAwsError(error)}); ` +
        `old snapshots were not deleted there. The role needs ec2:DescribeSnapshots in ${region}.`,
      { cause: error },
    );
  }
  return snapshots;
}

/** Why `id` must stay, or undefined when it may be deleted (after FSR is disabled). */
async function reasonToKeep(
  ec2: EC2Client,
  region: string,
  id: string,
  params: RetentionParams,
): Promise<string | undefined> {
  const { logger, signal } = params;
  const volumes = await ec2.send(
    new DescribeVolumesCommand({
      Filters: [
        { Name: 'snapshot-id', Values: [id] },
        { Name: 'status', Values: ['creating'] },
      ],
    }),
    { abortSignal: signal },
  );
  const creating = (volumes.Volumes ?? []).map((v) => v.VolumeId ?? '?');
  if (creating.length > 0) {
    return `volume ${creating.join(', ')} is being created from it`;
  }

  const fsr = await ec2.send(
    new DescribeFastSnapshotRestoresCommand({ Filters: [{ Name: 'snapshot-id', Values: [id] }] }),
    { abortSignal: signal },
  );
  const azs = (fsr.FastSnapshotRestores ?? [])
    .filter((item) => item.SnapshotId === id && FSR_ACTIVE.has(item.State ?? ''))
    .map((item) => item.AvailabilityZone)
    .filter((az): az is string => typeof az === 'string');
  if (azs.length === 0) return undefined;

  // Disabling FSR on a snapshot an AMI uses would slow that AMI's launches, and EC2
  // would refuse the deletion anyway: look first.
  const images = await ec2.send(
    new DescribeImagesCommand({
      Owners: ['self'],
      Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: [id] }],
    }),
    { abortSignal: signal },
  );
  const amis = (images.Images ?? []).map((i) => i.ImageId ?? '?');
  if (amis.length > 0) return `in use by ${amis.join(', ')}`;

  const out = await ec2.send(
    new DisableFastSnapshotRestoresCommand({ AvailabilityZones: azs, SourceSnapshotIds: [id] }),
    { abortSignal: signal },
  );
  const failures = (out.Unsuccessful ?? []).flatMap((item) =>
    (item.FastSnapshotRestoreStateErrors ?? []).map((e) =>
      `${e.AvailabilityZone ?? '?'}: ${e.Error?.Code ?? 'error'} ${e.Error?.Message ?? ''}`.trim(),
    ),
  );
  if (failures.length > 0) {
    logger.warning(
      `Could not disable fast snapshot restore on ${id} in ${region} (${failures.join('; ')}); it was not deleted.`,
    );
    return `fast snapshot restore could not be disabled (${failures.join('; ')})`;
  }
  logger.info(`Disabled fast snapshot restore on ${id} in ${azs.join(', ')} before deleting it.`);
  return undefined;
}

async function retainInRegion(region: string, params: RetentionParams): Promise<RetentionResult> {
  const { logger, signal } = params;
  const ec2 = params.ec2For(region);
  const newSnapshotId = params.newSnapshotIds[region];
  const listed = await listLineage(ec2, region, params);
  const plan = planRetention(listed, {
    lineage: params.lineage,
    repository: params.repository,
    keep: params.keep,
    referenced: params.referenced,
    ...(newSnapshotId !== undefined ? { newSnapshotId } : {}),
  });
  const result: RetentionResult = { region, deleted: [], kept: [...plan.kept] };

  for (const snapshot of plan.candidates) {
    if (signal.aborted) throw abortReason(signal);
    const id = snapshot.SnapshotId ?? '';
    const started = snapshot.StartTime ? ` (started ${snapshot.StartTime.toISOString()})` : '';
    let reason: string | undefined;
    try {
      reason = await reasonToKeep(ec2, region, id, params);
    } catch (error) {
      if (signal.aborted || error instanceof AbortedError) throw abortReason(signal);
      const message = describeAwsError(error);
      logger.warning(
        `Could not check whether ${id} in ${region} is still needed (${message}); it was not deleted. ` +
          `Retention needs ec2:DescribeVolumes, ec2:DescribeFastSnapshotRestores, ec2:DescribeImages and ec2:DisableFastSnapshotRestores.`,
      );
      reason = `could not be checked (${message})`;
    }
    if (reason !== undefined) {
      logger.info(`Keeping ${id} in ${region}${started}: ${reason}.`);
      result.kept.push({ id, reason });
      continue;
    }
    try {
      if (await deleteSnapshot(ec2, id, signal)) {
        logger.info(`Deleted ${id} in ${region}${started}, beyond the newest ${params.keep}.`);
        result.deleted.push(id);
      } else {
        logger.debug(`${id} in ${region} was already gone.`);
      }
    } catch (error) {
      if (signal.aborted || error instanceof AbortedError) throw abortReason(signal);
      const message = describeAwsError(error);
      if (awsErrorName(error) === 'InvalidSnapshot.InUse') {
        logger.info(`Keeping ${id} in ${region}: in use (${errorMessage(error)}).`);
        result.kept.push({ id, reason: `in use (${errorMessage(error)})` });
      } else {
        logger.warning(
          `Could not delete ${id} in ${region} (${message}). The role needs ec2:DeleteSnapshot on snapshots tagged ${TAG_LINEAGE}.`,
        );
        result.kept.push({ id, reason: `could not be deleted (${message})` });
      }
    }
  }
  logger.info(
    `Retention of '${params.lineage}' in ${region}: kept ${result.kept.length}, deleted ${result.deleted.length}` +
      `${result.deleted.length > 0 ? ` (${result.deleted.join(', ')})` : ''}.`,
  );
  return result;
}

/**
 * Deletes the snapshots of `lineage` beyond the newest `keep` in each region of
 * `newSnapshotIds`. Per-snapshot problems keep the snapshot (with a reason and,
 * where something is wrong, a warning); a region whose snapshots cannot be
 * listed fails the call after the other regions are done.
 */
export async function applyRetention(params: RetentionParams): Promise<RetentionResult[]> {
  if (!Number.isInteger(params.keep) || params.keep < 1) {
    throw new InputError(INPUT_KEEP, `must be a whole number of 1 or more, got ${params.keep}.`);
  }
  if (params.lineage.trim() === '') {
    throw new ActionError('Retention needs the lineage of the snapshot; it was empty.');
  }
  if (params.repository.trim() === '') {
    throw new ActionError('Retention needs the repository of the snapshot; it was empty.');
  }
  const regions = Object.keys(params.newSnapshotIds);
  const settled = await Promise.allSettled(regions.map((r) => retainInRegion(r, params)));
  const results: RetentionResult[] = [];
  const errors: unknown[] = [];
  for (const outcome of settled) {
    if (outcome.status === 'fulfilled') results.push(outcome.value);
    else errors.push(outcome.reason);
  }
  if (params.signal.aborted) throw abortReason(params.signal);
  const aborted = errors.find((e) => e instanceof AbortedError);
  if (aborted) throw aborted;
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw new ActionError(errors.map((e) => errorMessage(e)).join(' '), { cause: errors[0] });
  }
  return results;
}
