/**
 * Finding snapshots this action built before: one with the same build key
 * (nothing changed: reuse it, build nothing), or the newest of the same
 * lineage with compatible settings (a base to build incrementally from).
 */
import { DescribeSnapshotsCommand, type EC2Client, type Snapshot } from '@aws-sdk/client-ec2';
import { ActionError } from '../core/errors.js';
import { awsErrorName } from '../aws/errors.js';
import type { BuildConfig } from '../config/types.js';
import { listOwnSnapshots } from '../aws/snapshots.js';
import {
  buildFinished,
  TAG_BUILD_KEY,
  TAG_ENCRYPTION,
  TAG_LINEAGE,
  TAG_SNAPSHOTTER,
  TAG_VARIANT,
} from '../aws/tags.js';

function tagOf(snapshot: Snapshot, key: string): string | undefined {
  return snapshot.Tags?.find((t) => t.Key === key)?.Value;
}

/** Completed snapshots of this account matching tag filters whose build finished, newest first. */
async function completedSnapshots(
  ec2: EC2Client,
  tags: Record<string, string>,
  signal: AbortSignal,
): Promise<Snapshot[]> {
  const found = (await listOwnSnapshots(ec2, { tags, states: ['completed'] }, signal)).filter(
    (s) => s.State === 'completed' && buildFinished(s),
  );
  return found.sort((a, b) => (b.StartTime?.getTime() ?? 0) - (a.StartTime?.getTime() ?? 0));
}

/**
 * A completed snapshot of this lineage with this build key. Only this lineage's: another
 * lineage's retention may delete its snapshots while this one's manifests point at them.
 */
export async function findSnapshotByKey(
  ec2: EC2Client,
  key: string,
  lineage: string,
  signal: AbortSignal,
): Promise<Snapshot | undefined> {
  return (
    await completedSnapshots(ec2, { [TAG_BUILD_KEY]: key, [TAG_LINEAGE]: lineage }, signal)
  )[0];
}

export function encryptionTag(config: BuildConfig): string {
  if (!config.volume.encrypted) return 'none';
  return config.volume.kmsKeyId ?? 'default';
}

/** Why a snapshot cannot be the base of this build, or undefined when it can. */
export function baseIncompatibility(snapshot: Snapshot, config: BuildConfig): string | undefined {
  if (snapshot.State !== 'completed') return `it is ${snapshot.State ?? 'in an unknown state'}`;
  if ((snapshot.VolumeSize ?? 0) > config.volume.sizeGiB) {
    return `it is ${snapshot.VolumeSize} GiB, larger than volume-size ${config.volume.sizeGiB}`;
  }
  const snapshotter = tagOf(snapshot, TAG_SNAPSHOTTER);
  if (snapshotter !== undefined && snapshotter !== config.snapshotter) {
    return `it was built for the ${snapshotter} snapshotter, not ${config.snapshotter}`;
  }
  const variant = tagOf(snapshot, TAG_VARIANT);
  if (variant !== undefined && variant !== config.bottlerocketVariant) {
    return `it was built on ${variant}, not ${config.bottlerocketVariant}`;
  }
  const encryption = tagOf(snapshot, TAG_ENCRYPTION);
  if (encryption !== undefined && encryption !== encryptionTag(config)) {
    return 'its encryption settings differ';
  }
  if (snapshot.Encrypted && !config.volume.encrypted)
    return 'it is encrypted and this build is not';
  return undefined;
}

export type BaseChoice =
  | { kind: 'none'; reason: string }
  | { kind: 'snapshot'; snapshot: Snapshot; how: 'auto' | 'input' };

export async function chooseBaseSnapshot(
  ec2: EC2Client,
  config: BuildConfig,
  lineage: string,
  signal: AbortSignal,
): Promise<BaseChoice> {
  const setting = config.baseSnapshot;
  if (setting === 'none') return { kind: 'none', reason: 'base-snapshot is none' };
  if (setting === 'auto') {
    const candidates = await completedSnapshots(ec2, { [TAG_LINEAGE]: lineage }, signal);
    for (const snapshot of candidates) {
      if (baseIncompatibility(snapshot, config) === undefined)
        return { kind: 'snapshot', snapshot, how: 'auto' };
    }
    return {
      kind: 'none',
      reason:
        candidates.length === 0
          ? `no earlier snapshot of lineage '${lineage}'`
          : `none of the ${candidates.length} earlier snapshot(s) of lineage '${lineage}' has compatible settings`,
    };
  }
  let snapshot: Snapshot | undefined;
  try {
    const out = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [setting] }), {
      abortSignal: signal,
    });
    snapshot = out.Snapshots?.[0];
  } catch (error) {
    if (awsErrorName(error) !== 'InvalidSnapshot.NotFound') throw error;
  }
  if (!snapshot)
    throw new ActionError(`Input 'base-snapshot': ${setting} does not exist in this region.`);
  const why = baseIncompatibility(snapshot, config);
  if (why)
    throw new ActionError(
      `Input 'base-snapshot': ${setting} cannot be the base of this build: ${why}.`,
    );
  return { kind: 'snapshot', snapshot, how: 'input' };
}
