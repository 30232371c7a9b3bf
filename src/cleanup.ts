/**
 * The post step's safety net: whatever the main step recorded, or tagged with
 * this run's tag, is removed. It runs after success, failure and cancellation
 * (`post-if: always()`), and is harmless when there is nothing left.
 */
import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { collectPages } from './aws-pages.js';
import { terminateInstances } from './builder-instance.js';
import { deleteSnapshot } from './snapshot.js';
import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';
import { runKey, type RunContext } from './run-context.js';
import { TAG_RUN } from './tags.js';

export interface CleanupRequest {
  ec2: EC2Client;
  context: RunContext;
  logger: Logger;
  /** Instance IDs the main step saved in state. */
  instanceIds: string[];
  /** A snapshot the main step created but did not see complete. */
  pendingSnapshotId?: string;
  signal?: AbortSignal;
}

export interface CleanupResult {
  terminated: string[];
  deletedSnapshot?: string;
  errors: string[];
}

/** Builders of this run attempt that are not terminated yet, found by tag. */
export async function findRunInstances(
  ec2: EC2Client,
  context: RunContext,
  signal?: AbortSignal,
): Promise<string[]> {
  const instances = await collectPages(async (nextToken) => {
    const out = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: `tag:${TAG_RUN}`, Values: [runKey(context)] },
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

export async function cleanupAfterRun(request: CleanupRequest): Promise<CleanupResult> {
  const { ec2, logger, signal } = request;
  const result: CleanupResult = { terminated: [], errors: [] };
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
  if (ids.size === 0 && !request.pendingSnapshotId) logger.info('Nothing to clean up.');
  for (const message of result.errors) {
    logger.warning(
      `Cleanup: ${message}. Remove it by hand: look for the tag ${TAG_RUN}=${runKey(request.context)}.`,
    );
  }
  return result;
}
