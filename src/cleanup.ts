/**
 * The post step's safety net: whatever the main step recorded, or tagged with
 * this run's tag, is removed. It runs after success, failure and cancellation
 * (`post-if: always()`), and is harmless when there is nothing left.
 */
import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { collectPages } from './aws-pages.js';
import { terminateInstances } from './builder-instance.js';
import { deleteSnapshot, deleteSnapshots, listOwnSnapshots } from './snapshot.js';
import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';
import { runKey, type RunContext } from './run-context.js';
import { invocationTags, TAG_ROLE, TAG_RUN } from './tags.js';

export interface CleanupRequest {
  ec2: EC2Client;
  context: RunContext;
  logger: Logger;
  /** Instance IDs the main step saved in state. */
  instanceIds: string[];
  /** A snapshot the main step created but did not see complete. */
  pendingSnapshotId?: string;
  /** Checkpoint snapshots the main step saved in state (more are found by tag). */
  checkpointIds?: string[];
  signal?: AbortSignal;
}

export interface CleanupResult {
  terminated: string[];
  deletedSnapshot?: string;
  deletedCheckpoints: string[];
  errors: string[];
}

/** Builders of this use of the action that are not terminated yet, found by tag. */
export async function findRunInstances(
  ec2: EC2Client,
  context: RunContext,
  signal?: AbortSignal,
): Promise<string[]> {
  const instances = await collectPages(async (nextToken) => {
    const out = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          ...Object.entries(invocationTags(context)).map(([key, value]) => ({
            Name: `tag:${key}`,
            Values: [value],
          })),
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
  return instances.flatMap((i) => (i.InstanceId ? [i.InstanceId] : []));
}

/** Checkpoint snapshots of this use of the action, found by tag (whatever their state). */
export async function findRunCheckpoints(
  ec2: EC2Client,
  context: RunContext,
  signal?: AbortSignal,
): Promise<string[]> {
  const snapshots = await listOwnSnapshots(
    ec2,
    { tags: { ...invocationTags(context), [TAG_ROLE]: 'checkpoint' } },
    signal,
  );
  return snapshots.flatMap((s) => (s.SnapshotId ? [s.SnapshotId] : []));
}

export async function cleanupAfterRun(request: CleanupRequest): Promise<CleanupResult> {
  const { ec2, logger, signal } = request;
  const result: CleanupResult = { terminated: [], deletedCheckpoints: [], errors: [] };
  const ids = new Set(request.instanceIds.filter(Boolean));
  try {
    for (const id of await findRunInstances(ec2, request.context, signal)) ids.add(id);
  } catch (error) {
    result.errors.push(`could not look for this run's builders by tag: ${errorMessage(error)}`);
  }
  if (ids.size > 0) {
    try {
      result.terminated = await terminateInstances(ec2, [...ids], signal);
      logger.info(`Terminated ${[...ids].join(', ')}.`);
    } catch (error) {
      result.errors.push(`could not terminate ${[...ids].join(', ')}: ${errorMessage(error)}`);
    }
  }
  if (request.pendingSnapshotId) {
    try {
      if (await deleteSnapshot(ec2, request.pendingSnapshotId, signal)) {
        result.deletedSnapshot = request.pendingSnapshotId;
        logger.info(`Deleted incomplete snapshot ${request.pendingSnapshotId}.`);
      }
    } catch (error) {
      result.errors.push(
        `could not delete incomplete snapshot ${request.pendingSnapshotId}: ${errorMessage(error)}`,
      );
    }
  }
  const checkpoints = new Set(request.checkpointIds?.filter(Boolean));
  try {
    for (const id of await findRunCheckpoints(ec2, request.context, signal)) checkpoints.add(id);
  } catch (error) {
    result.errors.push(
      `could not look for this run's checkpoint snapshots by tag: ${errorMessage(error)}`,
    );
  }
  const removed = await deleteSnapshots(ec2, checkpoints, signal);
  result.deletedCheckpoints = removed.deleted;
  for (const f of removed.failed) {
    result.errors.push(`could not delete checkpoint snapshot ${f.id}: ${f.message}`);
  }
  if (result.deletedCheckpoints.length > 0) {
    logger.info(`Deleted checkpoint snapshot(s) ${result.deletedCheckpoints.join(', ')}.`);
  }
  if (ids.size === 0 && !request.pendingSnapshotId && checkpoints.size === 0)
    logger.info('Nothing to clean up.');
  for (const message of result.errors) {
    logger.warning(
      `Cleanup: ${message}. Remove it by hand: look for the tag ${TAG_RUN}=${runKey(request.context)}.`,
    );
  }
  return result;
}
