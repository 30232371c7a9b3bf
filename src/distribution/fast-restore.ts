/**
 * Fast snapshot restore in the source region's Availability Zones: enabled for
 * the snapshot, optionally followed until every AZ is `enabled`.
 */
import {
  DescribeFastSnapshotRestoresCommand,
  EnableFastSnapshotRestoresCommand,
  type DescribeFastSnapshotRestoreSuccessItem,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { collectPages } from '../aws/pages.js';
import { ActionError } from '../core/errors.js';
import { WaitTimeoutError, pollUntil, type PollResult } from '../aws/wait.js';
import { formatDuration } from '../core/format.js';
import { describeAwsError, rethrowIfAborted } from '../aws/errors.js';
import { INPUT } from './config.js';
import { remaining, type Run } from './context.js';

const FSR_FAILED_STATES = new Set(['disabling', 'disabled']);

function fsrFailureHint(snapshotId: string): string {
  return (
    `Check the fast snapshot restore quota of the region (snapshots with FSR enabled per region) and that ` +
    `the role may call ec2:EnableFastSnapshotRestores and ec2:DescribeFastSnapshotRestores on ${snapshotId}.`
  );
}

async function describeFsr(
  ec2: EC2Client,
  snapshotId: string,
  azs: string[],
  signal: AbortSignal,
): Promise<DescribeFastSnapshotRestoreSuccessItem[]> {
  return collectPages(async (nextToken) => {
    const out = await ec2.send(
      new DescribeFastSnapshotRestoresCommand({
        Filters: [
          { Name: 'snapshot-id', Values: [snapshotId] },
          { Name: 'availability-zone', Values: azs },
        ],
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
      { abortSignal: signal },
    );
    return { items: out.FastSnapshotRestores ?? [], nextToken: out.NextToken };
  });
}

type FsrStates = Map<string, string>;

/** Each AZ's state, in the order the AZs were given; 'enabling' for one not listed yet. */
function statesOf(run: Run, states: FsrStates): Array<{ az: string; state: string }> {
  return run.config.fastSnapshotRestoreAzs.map((az) => ({
    az,
    state: states.get(az) ?? 'enabling',
  }));
}

/** EnableFastSnapshotRestores in every AZ; the states it answered with. */
async function requestFsr(run: Run, ec2: EC2Client): Promise<FsrStates> {
  const { deps, snapshotId } = run;
  const azs = run.config.fastSnapshotRestoreAzs;
  let out;
  try {
    out = await ec2.send(
      new EnableFastSnapshotRestoresCommand({
        AvailabilityZones: azs,
        SourceSnapshotIds: [snapshotId],
      }),
      { abortSignal: run.deps.signal },
    );
  } catch (error) {
    rethrowIfAborted(error, deps.signal);
    throw new ActionError(
      `EnableFastSnapshotRestores for ${snapshotId} in ${azs.join(', ')} failed (${describeAwsError(error)}). ${fsrFailureHint(snapshotId)}`,
      { cause: error },
    );
  }
  const failures = (out.Unsuccessful ?? []).flatMap((item) =>
    (item.FastSnapshotRestoreStateErrors ?? []).map(
      (e) =>
        `${e.AvailabilityZone ?? e.AvailabilityZoneId ?? '?'}: ${e.Error?.Code ?? 'error'}${e.Error?.Message ? ` (${e.Error.Message})` : ''}`,
    ),
  );
  if (failures.length > 0) {
    throw new ActionError(
      `Fast snapshot restore could not be enabled for ${snapshotId}: ${failures.join('; ')}. ${fsrFailureHint(snapshotId)}`,
    );
  }
  const states: FsrStates = new Map();
  for (const item of out.Successful ?? []) {
    if (item.AvailabilityZone) states.set(item.AvailabilityZone, item.State ?? 'enabling');
  }
  return states;
}

/**
 * One look at the AZs' states: done when every AZ is `enabled`; throws when one went to
 * `disabling`/`disabled` or failed. Logs each AZ's state when it changes.
 */
async function checkFsr(
  run: Run,
  ec2: EC2Client,
  states: FsrStates,
  reported: FsrStates,
): Promise<PollResult<undefined>> {
  const { deps, snapshotId } = run;
  const azs = run.config.fastSnapshotRestoreAzs;
  const items = await describeFsr(ec2, snapshotId, azs, deps.signal);
  for (const item of items) {
    const az = item.AvailabilityZone;
    if (!az || !azs.includes(az)) continue;
    const state = item.State ?? 'unknown';
    states.set(az, state);
    const reason = item.StateTransitionReason ?? '';
    if (FSR_FAILED_STATES.has(state) || /^Server\./.test(reason)) {
      throw new ActionError(
        `Fast snapshot restore of ${snapshotId} in ${az} went to '${state}'` +
          `${reason ? ` (${reason})` : ''} instead of 'enabled'. It was disabled or failed to enable; ` +
          `enable it again, or pick other Availability Zones in ${INPUT.fastSnapshotRestoreAzs}.`,
      );
    }
    if (reported.get(az) !== state) {
      reported.set(az, state);
      deps.logger.info(`Fast snapshot restore of ${snapshotId} in ${az}: ${state}`);
    }
  }
  const pending = azs.filter((az) => states.get(az) !== 'enabled');
  if (pending.length === 0) return { done: true, value: undefined };
  return {
    done: false,
    detail: pending.map((az) => `${az} ${states.get(az) ?? 'not listed yet'}`).join(', '),
  };
}

/** Follows every AZ to `enabled`, within the distribution's deadline. */
async function waitForFsr(run: Run, ec2: EC2Client, states: FsrStates): Promise<void> {
  const { deps, snapshotId } = run;
  const azs = run.config.fastSnapshotRestoreAzs;
  const reported: FsrStates = new Map();
  try {
    await pollUntil({
      what: `fast snapshot restore of ${snapshotId} to be enabled in ${azs.join(', ')}`,
      timeoutMs: remaining(run),
      intervalMs: 1_000,
      maxIntervalMs: 60_000,
      clock: deps.clock,
      signal: deps.signal,
      check: () => checkFsr(run, ec2, states, reported),
    });
  } catch (error) {
    if (error instanceof WaitTimeoutError) {
      throw new ActionError(
        `Fast snapshot restore of ${snapshotId} was not enabled in every AZ within ${formatDuration(error.timeoutMs)}` +
          `${error.lastDetail ? ` (still: ${error.lastDetail})` : ''}. Optimizing takes about 60 minutes per TiB; ` +
          `it goes on (and is billed) in AWS. Set ${INPUT.waitForFastSnapshotRestore} to false to not wait for it, or allow the run more time.`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Enables fast snapshot restore for the snapshot in the configured AZs; with
 * waitForFastSnapshotRestore, follows every AZ to `enabled`. Returns each AZ's state.
 */
export async function enableFastSnapshotRestore(
  run: Run,
): Promise<Array<{ az: string; state: string }>> {
  const { deps, snapshotId } = run;
  const azs = run.config.fastSnapshotRestoreAzs;
  const ec2 = deps.ec2For(run.sourceRegion);
  const states = await requestFsr(run, ec2);

  if (!run.config.waitForFastSnapshotRestore) {
    deps.logger.notice(
      `Fast snapshot restore for ${snapshotId} is being enabled in ${azs.join(', ')} ` +
        `(${statesOf(run, states)
          .map((s) => `${s.az}: ${s.state}`)
          .join(
            ', ',
          )}); it takes about 60 minutes per TiB to reach 'enabled' and is billed per AZ-hour from now.`,
    );
    return statesOf(run, states);
  }

  await waitForFsr(run, ec2, states);
  deps.logger.info(`Fast snapshot restore of ${snapshotId} is enabled in ${azs.join(', ')}.`);
  return statesOf(run, states);
}
