/**
 * Phases 7 and 8: the snapshot of the data volume (the builder stopped first in snapshot-mode
 * stop), tagged with what it holds and still `building` until it completes; then the builder's
 * end, the wait for the snapshot, marking it finished, and deleting the checkpoints.
 */
import type { Snapshot } from '@aws-sdk/client-ec2';
import { stopInstance, waitForInstanceState } from './builder-instance.js';
import { createSnapshot, markBuildFinished, waitForSnapshot } from '../aws/snapshots.js';
import {
  STATE_BUILDING,
  TAG_BASE,
  TAG_BUILD_KEY,
  TAG_DIGESTS,
  TAG_ENCRYPTION,
  TAG_IMAGES,
  TAG_LINEAGE,
  TAG_PLATFORMS,
  TAG_ROLE,
  TAG_SNAPSHOTTER,
  TAG_STATE,
  TAG_VARIANT,
  tagValue,
} from '../aws/tags.js';
import { encryptionTag } from '../cache/reuse.js';
import type { BuildPlan } from './plan.js';
import type { Pulled } from './pull.js';
import { ec2Deps, type BuildRun, type DataVolume, type ImageResult } from './types.js';

/** Phase 7: stops the builder (snapshot-mode stop) and starts the snapshot; returns its ID. */
export async function snapshotVolume(
  run: BuildRun,
  volume: DataVolume,
  plan: BuildPlan,
  pulled: Pulled,
): Promise<string> {
  const { config, deps } = run;
  if (config.snapshotMode === 'stop') {
    await stopInstance(deps.clients.ec2, volume.builderId, run.signal);
    await waitForInstanceState(
      volume.builderId,
      'stopped',
      run.deadline.budget(run.bounds.instanceStoppedMs, 'the builder stopped'),
      ec2Deps(run),
    );
  }
  const tags = snapshotTags(run, volume, plan, pulled.images);
  // EC2 takes about one snapshot per volume every 15 s; a checkpoint may have just started.
  await pulled.checkpoints?.readyForNext(run.signal);
  const id = await createSnapshot(
    deps.clients.ec2,
    { volumeId: volume.volumeId, description: volume.description, tags },
    { clock: deps.clock, signal: run.signal, ledger: run.ledger },
  );
  run.resources.snapshotStarted(id);
  deps.logger.info(`Created snapshot ${id} of ${volume.volumeId}.`);
  return id;
}

/** What the snapshot holds, for reuse, base selection and retention to find it by. */
function snapshotTags(
  run: BuildRun,
  volume: DataVolume,
  plan: BuildPlan,
  images: readonly ImageResult[],
): Record<string, string> {
  const { config, deps } = run;
  const digestSummary = images
    .filter((i) => i.status === 'ok' && i.digest)
    .map((i) => `${i.reference.split('/').pop() ?? i.reference}@${(i.digest ?? '').slice(7, 19)}`);
  return {
    Name: `bottlerocket-ebs-snapshot ${deps.context.repository}`,
    ...run.tags,
    [TAG_ROLE]: 'snapshot',
    [TAG_IMAGES]: tagValue(config.images.map((i) => i.normalized).join(' ')),
    [TAG_DIGESTS]: tagValue([...new Set(digestSummary)].join(' ')),
    [TAG_VARIANT]: config.bottlerocketVariant,
    [TAG_PLATFORMS]: config.platforms.join(','),
    [TAG_SNAPSHOTTER]: config.snapshotter,
    [TAG_LINEAGE]: plan.lineage,
    [TAG_ENCRYPTION]: tagValue(encryptionTag(config)),
    ...(plan.key ? { [TAG_BUILD_KEY]: plan.key } : {}),
    ...(volume.baseSnapshotId ? { [TAG_BASE]: volume.baseSnapshotId } : {}),
    [TAG_STATE]: STATE_BUILDING,
  };
}

/**
 * Phase 8: the snapshot is a point-in-time copy from its start, so the builder goes first;
 * then the wait for the snapshot (bounded by timeout-minutes), and the checkpoints go.
 */
export async function finishSnapshot(run: BuildRun, snapshotId: string): Promise<Snapshot> {
  const { deps } = run;
  await run.resources.terminateBuilderEarly('snapshot started');
  const done = await waitForSnapshot(
    snapshotId,
    run.deadline.budget(Number.POSITIVE_INFINITY, 'the snapshot completed'),
    ec2Deps(run),
  );
  run.resources.snapshotCompleted();
  await markBuildFinished(deps.clients.ec2, snapshotId, {
    logger: deps.logger,
    warn: (message) => run.warn(message),
    signal: run.signal,
  });
  await run.resources.deleteCheckpoints(`${snapshotId} completed`);
  return done;
}
