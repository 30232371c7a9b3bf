/**
 * The EBS snapshot of the builder's data volume: created with tags and a
 * bounded description, followed to `completed` (or failed on `error`), and
 * deleted again when the run does not succeed.
 */
import {
  CreateSnapshotCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
  type Snapshot,
  type SnapshotState,
} from '@aws-sdk/client-ec2';
import { collectPages, MAX_PAGES } from './pages.js';
import { requestSignal } from '../core/clock.js';
import type { Deps } from '../core/deps.js';
import { ActionError, errorMessage } from '../core/errors.js';
import { awsErrorName, describeAwsError } from './errors.js';
import { memoryLedger, type CreateLedger } from './create-ledger.js';
import { STATE_COMPLETE, tagSpecifications, TAG_STATE } from './tags.js';
import { pollUntil } from './wait.js';

/** An EBS snapshot ID: `snap-` and 8 (older) or 17 hex digits. */
export const SNAPSHOT_ID = /^snap-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;

/** EC2 rejects snapshot descriptions over 255 characters. */
export const MAX_DESCRIPTION = 255;

export function snapshotDescription(imageRefs: string[], variant: string): string {
  const count = imageRefs.length;
  const head = `Bottlerocket ${variant} data volume with ${count} image${count === 1 ? '' : 's'}: `;
  for (let shown = count; shown > 0; shown--) {
    const more = shown < count ? ` (+${count - shown} more)` : '';
    const text = head + imageRefs.slice(0, shown).join(', ') + more;
    if (text.length <= MAX_DESCRIPTION) return text;
  }
  return `${head}(${count} listed in the snapshot's tags)`.slice(0, MAX_DESCRIPTION);
}

/** EC2 takes about one CreateSnapshot per volume every 15 s; more is refused with this code. */
const RATE_EXCEEDED = 'SnapshotCreationPerVolumeRateExceeded';
const RATE_RETRIES = 3;
const RATE_RETRY_MS = 15_000;

/** How long a create request may take. */
export const CREATE_REQUEST_TIMEOUT_MS = 60_000;

/**
 * Starts a snapshot of `volumeId`. A refusal for the per-volume rate is the one error
 * retried here (15 s apart, `rateRetries` times, default 3): the SDK's retry strategy
 * does not know it. `signal` ends those waits and the request itself: EC2 may then have
 * made the snapshot anyway, which `ledger` notes and the sweep by tag removes.
 */
export async function createSnapshot(
  ec2: EC2Client,
  target: { volumeId: string; description: string; tags: Record<string, string> },
  deps: Pick<Deps, 'clock' | 'signal'> & {
    rateRetries?: number;
    ledger?: CreateLedger | undefined;
  },
): Promise<string> {
  const ledger = deps.ledger ?? memoryLedger();
  for (let attempt = 0; ; attempt++) {
    try {
      const out = await ledger.track(() =>
        ec2.send(
          new CreateSnapshotCommand({
            VolumeId: target.volumeId,
            Description: target.description.slice(0, MAX_DESCRIPTION),
            TagSpecifications: tagSpecifications(['snapshot'], target.tags),
          }),
          { abortSignal: requestSignal(CREATE_REQUEST_TIMEOUT_MS, deps.signal) },
        ),
      );
      if (!out.SnapshotId) throw new ActionError('CreateSnapshot returned no snapshot ID.');
      return out.SnapshotId;
    } catch (error) {
      if (awsErrorName(error) !== RATE_EXCEEDED || attempt >= (deps.rateRetries ?? RATE_RETRIES))
        throw error;
      await deps.clock.sleep(RATE_RETRY_MS, deps.signal);
    }
  }
}

/**
 * Tags a snapshot as a finished build (TAG_STATE complete): only then may later runs reuse it,
 * build on it, or count it for retention. A failure leaves it `building`, with a warning: it is
 * still this run's output, but no later run will pick it.
 */
export async function markBuildFinished(
  ec2: EC2Client,
  snapshotId: string,
  deps: Pick<Deps, 'logger' | 'signal'> & { warn: (message: string) => void },
): Promise<void> {
  try {
    await ec2.send(
      new CreateTagsCommand({
        Resources: [snapshotId],
        Tags: [{ Key: TAG_STATE, Value: STATE_COMPLETE }],
      }),
      { abortSignal: deps.signal },
    );
    deps.logger.info(`Marked ${snapshotId} as a finished build.`);
  } catch (error) {
    if (deps.signal.aborted) throw error;
    deps.warn(
      `Could not tag ${snapshotId} as a finished build (CreateTags: ${describeAwsError(error)}); ` +
        "it is this run's output, but later runs will not reuse it or build on it. " +
        'The role needs ec2:CreateTags on its own snapshots.',
    );
  }
}

/**
 * This account's snapshots carrying every one of `tags` (and in one of `states`, when
 * given), all pages up to `maxPages` of 1000.
 */
export async function listOwnSnapshots(
  ec2: EC2Client,
  filter: { tags: Record<string, string>; states?: SnapshotState[] },
  signal: AbortSignal,
  maxPages = MAX_PAGES,
): Promise<Snapshot[]> {
  return collectPages(async (nextToken) => {
    const out = await ec2.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [
          ...Object.entries(filter.tags).map(([key, value]) => ({
            Name: `tag:${key}`,
            Values: [value],
          })),
          ...(filter.states ? [{ Name: 'status', Values: filter.states }] : []),
        ],
        MaxResults: 1000,
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
      { abortSignal: signal },
    );
    return { items: out.Snapshots ?? [], nextToken: out.NextToken };
  }, maxPages);
}

export interface SnapshotWaitDeps extends Deps {
  ec2: EC2Client;
  /** Longest pause between two looks (default 15 s); the first is after 1 s. */
  maxIntervalMs?: number;
}

/** How long a new snapshot may stay invisible to DescribeSnapshots. */
const NOT_VISIBLE_GRACE_MS = 60_000;

export async function waitForSnapshot(
  snapshotId: string,
  timeoutMs: number,
  deps: SnapshotWaitDeps,
): Promise<Snapshot> {
  const started = deps.clock.now();
  let lastProgress = '';
  return pollUntil({
    what: `snapshot ${snapshotId} to complete`,
    timeoutMs,
    intervalMs: 1000,
    maxIntervalMs: deps.maxIntervalMs ?? 15000,
    clock: deps.clock,
    signal: deps.signal,
    check: async () => {
      let snapshot: Snapshot | undefined;
      try {
        const out = await deps.ec2.send(
          new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }),
          { abortSignal: deps.signal },
        );
        snapshot = out.Snapshots?.[0];
      } catch (error) {
        // A snapshot just created may not be visible yet (eventual consistency).
        if (
          awsErrorName(error) !== 'InvalidSnapshot.NotFound' ||
          deps.clock.now() - started > NOT_VISIBLE_GRACE_MS
        )
          throw error;
      }
      const state = snapshot?.State;
      if (snapshot && state === 'completed') return { done: true, value: snapshot };
      if (state === 'error') {
        throw new ActionError(
          `Snapshot ${snapshotId} failed (state 'error'${snapshot?.StateMessage ? `: ${snapshot.StateMessage}` : ''}).`,
        );
      }
      const progress = snapshot?.Progress ?? '';
      if (progress && progress !== lastProgress) {
        lastProgress = progress;
        deps.logger.info(`Snapshot ${snapshotId}: ${state ?? 'pending'} ${progress}`);
      }
      return { done: false, detail: `${state ?? 'not visible yet'} ${progress}`.trim() };
    },
  });
}

/** What deleting several snapshots did: deleted, already gone, or refused with EC2's message. */
export interface DeletedSnapshots {
  deleted: string[];
  gone: string[];
  failed: Array<{ id: string; message: string }>;
}

/** Deletes each snapshot in turn; one that fails does not stop the rest. */
export async function deleteSnapshots(
  ec2: EC2Client,
  ids: Iterable<string>,
  signal: AbortSignal,
): Promise<DeletedSnapshots> {
  const out: DeletedSnapshots = { deleted: [], gone: [], failed: [] };
  for (const id of ids) {
    try {
      ((await deleteSnapshot(ec2, id, signal)) ? out.deleted : out.gone).push(id);
    } catch (error) {
      out.failed.push({ id, message: errorMessage(error) });
    }
  }
  return out;
}

export async function deleteSnapshot(
  ec2: EC2Client,
  snapshotId: string,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }), { abortSignal: signal });
    return true;
  } catch (error) {
    if (awsErrorName(error) === 'InvalidSnapshot.NotFound') return false;
    throw error;
  }
}
