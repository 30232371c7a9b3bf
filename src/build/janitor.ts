/**
 * The janitor (input `cleanup-older-than`): what no run can sweep any more, because its
 * runner died with its post step. In each listed region it terminates this repository's
 * builders, deletes its checkpoint snapshots and its builders' volumes left available,
 * all older than the given age. Never a final snapshot (role `snapshot`): nodes may use
 * it, and retention (`keep-snapshots`) owns it. Resources younger than the age are left
 * alone: a run still going owns them.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { terminateInstances } from './builder-instance.js';
import { deleteVolume, findTaggedInstances, findTaggedVolumes } from './cleanup.js';
import type { Deps } from '../core/deps.js';
import { errorMessage } from '../core/errors.js';
import { rethrowIfAborted } from '../aws/errors.js';
import { deleteSnapshot, listOwnSnapshots } from '../aws/snapshots.js';
import { TAG_REPOSITORY, TAG_ROLE, tagValue } from '../aws/tags.js';
import { formatDuration } from '../core/format.js';

export interface JanitorRequest extends Deps {
  regions: ReadonlyArray<{ region: string; ec2: EC2Client }>;
  /** owner/name: only this repository's resources (tag bottlerocket-ebs-snapshot:repository). */
  repository: string;
  olderThanMs: number;
}

export interface JanitorResult {
  terminated: string[];
  deletedSnapshots: string[];
  deletedVolumes: string[];
  errors: string[];
}

const older = (cutoff: number) => (time: Date | undefined) =>
  time !== undefined && time.getTime() < cutoff;

async function janitorRegion(
  region: string,
  ec2: EC2Client,
  request: JanitorRequest,
  result: JanitorResult,
): Promise<void> {
  const { logger, signal } = request;
  const repository = tagValue(request.repository);
  const isOld = older(request.clock.now() - request.olderThanMs);
  const builders = { [TAG_REPOSITORY]: repository, [TAG_ROLE]: 'builder' };
  const step = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (error) {
      // Cancellation ends the janitor; it is no cleanup failure.
      rethrowIfAborted(error, signal);
      result.errors.push(`${region}: could not ${what}: ${errorMessage(error)}`);
    }
  };
  await step('terminate old builders', async () => {
    const old = (await findTaggedInstances(ec2, builders, signal)).filter((i) =>
      isOld(i.LaunchTime),
    );
    const ids = old.flatMap((i) => (i.InstanceId ? [i.InstanceId] : []));
    if (ids.length === 0) return;
    await terminateInstances(ec2, ids, signal);
    result.terminated.push(...ids);
    logger.info(`${region}: terminated ${ids.length} builder(s): ${ids.join(', ')}.`);
  });
  await step('delete old checkpoint snapshots', async () => {
    const old = (
      await listOwnSnapshots(
        ec2,
        { tags: { [TAG_REPOSITORY]: repository, [TAG_ROLE]: 'checkpoint' } },
        signal,
      )
    ).filter((s) => isOld(s.StartTime));
    for (const snapshot of old) {
      const id = snapshot.SnapshotId ?? '';
      if (id && (await deleteSnapshot(ec2, id, signal))) {
        result.deletedSnapshots.push(id);
        logger.info(`${region}: deleted checkpoint snapshot ${id}.`);
      }
    }
  });
  await step('delete old builder volumes', async () => {
    const old = (await findTaggedVolumes(ec2, builders, signal)).filter((v) => isOld(v.CreateTime));
    for (const volume of old) {
      const id = volume.VolumeId ?? '';
      if (id && (await deleteVolume(ec2, id, signal))) {
        result.deletedVolumes.push(id);
        logger.info(`${region}: deleted volume ${id}.`);
      }
    }
  });
}

export async function cleanUpOlderThan(request: JanitorRequest): Promise<JanitorResult> {
  const result: JanitorResult = {
    terminated: [],
    deletedSnapshots: [],
    deletedVolumes: [],
    errors: [],
  };
  for (const { region, ec2 } of request.regions) {
    await janitorRegion(region, ec2, request, result);
  }
  const removed =
    result.terminated.length + result.deletedSnapshots.length + result.deletedVolumes.length;
  if (removed === 0 && result.errors.length === 0) {
    request.logger.info(
      `Nothing of ${request.repository} older than ${formatDuration(request.olderThanMs)} is left in ${request.regions.map((r) => r.region).join(', ')}.`,
    );
  }
  for (const message of result.errors) request.logger.warning(`Cleanup: ${message}`);
  return result;
}
