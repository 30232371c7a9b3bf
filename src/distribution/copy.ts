/**
 * Copies of the snapshot in other regions: tagged with their source so a later
 * run reuses them, encrypted with the region's key, followed to `completed`, and
 * deleted again when they will not complete.
 */
import {
  CopySnapshotCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
  type Snapshot,
  type Tag,
} from '@aws-sdk/client-ec2';
import { ActionError } from '../core/errors.js';
import {
  awsErrorName,
  KMS_PERMISSIONS,
  describeAwsError,
  looksLikeKmsProblem,
  rethrowIfAborted,
} from '../aws/errors.js';
import { MAX_DESCRIPTION, deleteSnapshot, listOwnSnapshots } from '../aws/snapshots.js';
import { RESERVED_TAG_PREFIX } from '../aws/tags.js';
import { pollUntil } from '../aws/wait.js';
import { INPUT } from './config.js';
import { remaining, type Run } from './context.js';

/** Deleting a copy that will not complete. */
const DISCARD_TIMEOUT_MS = 30_000;

/**
 * Set on every copy: `<source region>/<source snapshot ID>`. A later run that
 * distributes the same snapshot again (a reused build, a re-run) finds the copy
 * by this tag instead of copying once more.
 */
export const TAG_SOURCE = `${RESERVED_TAG_PREFIX}source`;

/** EC2 allows 50 tags on a resource. */
const MAX_TAGS = 50;

/** The source's tags, minus AWS-reserved ones, plus the copy's origin when there is room. */
function copyTags(run: Run, source: Snapshot): Tag[] {
  const tags = (source.Tags ?? []).filter(
    (t): t is Tag & { Key: string } =>
      typeof t.Key === 'string' && !t.Key.toLowerCase().startsWith('aws:') && t.Key !== TAG_SOURCE,
  );
  const list: Tag[] = tags.map((t) => ({ Key: t.Key, Value: t.Value ?? '' }));
  if (list.length < MAX_TAGS) {
    list.push({ Key: TAG_SOURCE, Value: `${run.sourceRegion}/${run.snapshotId}` });
  }
  return list;
}

function keyDescription(keyId: string | undefined, region: string): string {
  return keyId ? `KMS key ${keyId}` : `the default EBS key of ${region}`;
}

function copyKmsHint(
  run: Run,
  region: string,
  keyId: string | undefined,
  source: Snapshot,
): string {
  const sourceKey = source.Encrypted
    ? `, and to decrypt with the source's key ${source.KmsKeyId ?? '(unknown)'} in ${run.sourceRegion}`
    : '';
  return (
    `The copy in ${region} is encrypted with ${keyDescription(keyId, region)}: check that the key exists in ${region}, ` +
    `is enabled, and that its key policy and the role allow ${KMS_PERMISSIONS}${sourceKey}.`
  );
}

/** A copy this snapshot already has in `region` (from an earlier run), if any. */
async function existingCopy(
  run: Run,
  region: string,
  ec2: EC2Client,
): Promise<Snapshot | undefined> {
  let found: Snapshot[];
  try {
    found = await listOwnSnapshots(
      ec2,
      {
        tags: { [TAG_SOURCE]: `${run.sourceRegion}/${run.snapshotId}` },
        states: ['pending', 'completed'],
      },
      run.deps.signal,
    );
  } catch (error) {
    rethrowIfAborted(error, run.deps.signal);
    throw new ActionError(
      `Looking for an earlier copy of ${run.snapshotId} in ${region} failed (${describeAwsError(error)}). ` +
        `The role needs ec2:DescribeSnapshots in ${region}.`,
      { cause: error },
    );
  }
  const matches = found.filter(
    (s) =>
      s.SnapshotId &&
      (s.State === 'completed' || s.State === 'pending') &&
      s.Tags?.some(
        (t) => t.Key === TAG_SOURCE && t.Value === `${run.sourceRegion}/${run.snapshotId}`,
      ),
  );
  return matches.find((s) => s.State === 'completed') ?? matches[0];
}

async function startCopy(
  run: Run,
  region: string,
  ec2: EC2Client,
  source: Snapshot,
): Promise<string> {
  const { deps, config, snapshotId } = run;
  const keyId = config.kmsKeyIds[region];
  const encrypt = source.Encrypted === true || keyId !== undefined;
  if (source.Encrypted && keyId === undefined) {
    deps.logger.notice(
      `Snapshot ${snapshotId} is encrypted and no KMS key is set for ${region} in ${INPUT.copyKmsKeyIds}: ` +
        `the copy there is encrypted with ${region}'s default EBS key.`,
    );
  }
  try {
    const out = await ec2.send(
      new CopySnapshotCommand({
        SourceRegion: run.sourceRegion,
        SourceSnapshotId: snapshotId,
        Description: (source.Description || `Copy of ${snapshotId} from ${run.sourceRegion}`).slice(
          0,
          MAX_DESCRIPTION,
        ),
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: copyTags(run, source) }],
        ...(encrypt ? { Encrypted: true } : {}),
        ...(keyId !== undefined ? { KmsKeyId: keyId } : {}),
      }),
      { abortSignal: run.deps.signal },
    );
    if (!out.SnapshotId)
      throw new ActionError(`CopySnapshot to ${region} returned no snapshot ID.`);
    deps.logger.info(`Copying ${snapshotId} to ${region} as ${out.SnapshotId}.`);
    return out.SnapshotId;
  } catch (error) {
    rethrowIfAborted(error, deps.signal);
    if (error instanceof ActionError) throw error;
    const what = `CopySnapshot of ${snapshotId} from ${run.sourceRegion} to ${region} failed (${describeAwsError(error)}).`;
    if (encrypt && looksLikeKmsProblem(error)) {
      throw new ActionError(`${what} ${copyKmsHint(run, region, keyId, source)}`, { cause: error });
    }
    const name = awsErrorName(error);
    if (
      name === 'UnauthorizedOperation' ||
      name === 'AccessDenied' ||
      name === 'AccessDeniedException'
    ) {
      throw new ActionError(
        `${what} The role needs ec2:CopySnapshot and ec2:CreateTags in ${region}` +
          `${encrypt ? `, and ${KMS_PERMISSIONS} on ${keyDescription(keyId, region)}` : ''}.`,
        { cause: error },
      );
    }
    throw new ActionError(what, { cause: error });
  }
}

async function waitForCopy(
  run: Run,
  region: string,
  ec2: EC2Client,
  copyId: string,
  source: Snapshot,
): Promise<Snapshot> {
  const { deps } = run;
  const keyId = run.config.kmsKeyIds[region];
  let lastProgress = '';
  return pollUntil({
    what: `copy ${copyId} of ${run.snapshotId} in ${region} to complete`,
    timeoutMs: remaining(run),
    intervalMs: 2_000,
    maxIntervalMs: 30_000,
    clock: deps.clock,
    signal: deps.signal,
    check: async () => {
      let snapshot: Snapshot | undefined;
      try {
        const out = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [copyId] }), {
          abortSignal: deps.signal,
        });
        snapshot = out.Snapshots?.[0];
      } catch (error) {
        // A new copy can take a moment to become visible.
        if (awsErrorName(error) !== 'InvalidSnapshot.NotFound') throw error;
      }
      const state = snapshot?.State;
      if (snapshot && state === 'completed') return { done: true, value: snapshot };
      if (state === 'error') {
        const message = snapshot?.StateMessage ?? '';
        const encrypted = snapshot?.Encrypted === true || source.Encrypted === true || !!keyId;
        const hint =
          encrypted && (message === '' || /kms|key|grant|access/i.test(message))
            ? ` ${copyKmsHint(run, region, keyId, source)}`
            : '';
        throw new ActionError(
          `Copy ${copyId} of ${run.snapshotId} in ${region} failed (state 'error'${message ? `: ${message}` : ''}).${hint}`,
        );
      }
      const progress = snapshot?.Progress ?? '';
      if (progress && progress !== lastProgress) {
        lastProgress = progress;
        deps.logger.info(`Copy ${copyId} in ${region}: ${state ?? 'pending'} ${progress}`);
      }
      return { done: false, detail: `${state ?? 'not visible yet'} ${progress}`.trim() };
    },
  });
}

/** Deletes a copy that will not complete, so a failed run leaves none behind. */
async function discardCopy(
  run: Run,
  region: string,
  ec2: EC2Client,
  copyId: string,
): Promise<void> {
  try {
    // Not under the run's signal: this runs when the run is being cancelled, too.
    await deleteSnapshot(ec2, copyId, AbortSignal.timeout(DISCARD_TIMEOUT_MS));
    run.deps.logger.info(`Deleted the unfinished copy ${copyId} in ${region}.`);
  } catch (error) {
    run.deps.logger.warning(
      `Could not delete the unfinished copy ${copyId} in ${region} (${describeAwsError(error)}); delete it by hand.`,
    );
  }
}

export async function copyToRegion(run: Run, region: string, source: Snapshot): Promise<Snapshot> {
  const ec2 = run.deps.ec2For(region);
  const earlier = await existingCopy(run, region, ec2);
  let copyId: string;
  let created = false;
  if (earlier?.SnapshotId) {
    copyId = earlier.SnapshotId;
    run.deps.logger.info(
      `${run.snapshotId} already has a copy in ${region}: ${copyId} (${earlier.State}); using it.`,
    );
    if (earlier.State === 'completed') return earlier;
  } else {
    copyId = await startCopy(run, region, ec2, source);
    created = true;
  }
  try {
    return await waitForCopy(run, region, ec2, copyId, source);
  } catch (error) {
    if (created) await discardCopy(run, region, ec2, copyId);
    throw error;
  }
}
