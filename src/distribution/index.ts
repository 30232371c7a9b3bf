/**
 * What happens to a completed snapshot (freshly built or reused) before the run
 * reports it: fast snapshot restore in chosen Availability Zones, copies to
 * other regions, sharing with other accounts, and an SSM parameter naming the
 * snapshot in every region that has one.
 *
 * Copies run in parallel; each region's copy is followed to `completed`, then
 * shared, then published. Every wait goes through pollUntil on the injected
 * clock and shares one deadline (`timeoutMs`). This module orchestrates; each
 * part lives in src/distribution/ (config, share-check, fast-restore, copy,
 * share, parameter; context.ts holds what one distribution run shares).
 */
import type { Snapshot } from '@aws-sdk/client-ec2';
import { abortReason } from '../core/clock.js';
import { AbortedError, ActionError, errorMessage } from '../core/errors.js';
import { awsErrorName, rethrowIfAborted } from '../aws/errors.js';
import { waitForSnapshot } from '../aws/snapshots.js';
import { TAG_REPOSITORY } from '../aws/tags.js';
import { validateDistributionConfig, type DistributionConfig } from './config.js';
import { copyToRegion } from './copy.js';
import { enableFastSnapshotRestore } from './fast-restore.js';
import { publish } from './parameter.js';
import { remaining, type DistributionDeps, type DistributionResult, type Run } from './context.js';
import { share } from './share.js';

export {
  DISTRIBUTION_INPUTS,
  validateDistributionConfig,
  validateParameterName,
  type DistributionConfig,
} from './config.js';
export { TAG_SOURCE } from './copy.js';
export type { DistributionDeps, DistributionResult } from './context.js';
export {
  checkEncryptionByDefault,
  checkShareable,
  isDefaultEbsKey,
  type EncryptionByDefault,
  type ShareCheckConfig,
} from './share-check.js';

/** The source snapshot, followed to `completed` if it is not there yet. */
async function completedSource(run: Run): Promise<Snapshot> {
  const { deps } = run;
  try {
    return await waitForSnapshot(run.snapshotId, remaining(run), {
      ec2: deps.ec2For(run.sourceRegion),
      clock: deps.clock,
      logger: deps.logger,
      signal: deps.signal,
    });
  } catch (error) {
    rethrowIfAborted(error, deps.signal);
    if (awsErrorName(error) === 'InvalidSnapshot.NotFound') {
      throw new ActionError(
        `Snapshot ${run.snapshotId} was not found in ${run.sourceRegion}, so it cannot be distributed.`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Shares and publishes the snapshot of one region (the source or a copy). */
async function finishRegion(
  run: Run,
  region: string,
  snapshot: Snapshot,
  result: DistributionResult,
): Promise<void> {
  const id = snapshot.SnapshotId ?? '';
  if (run.config.shareWithAccounts.length > 0) {
    await share(run, region, snapshot, run.deps.ec2For(region));
  }
  if (run.config.ssmParameterName !== undefined) {
    const version = await publish(run, region, id);
    result.parameters.push({
      region,
      name: run.config.ssmParameterName,
      ...(version !== undefined ? { version } : {}),
    });
  }
}

/** One part of a distribution running: its label for messages, and its promise. */
interface Part {
  label: string;
  promise: Promise<void>;
}

interface Failure {
  label: string;
  error: unknown;
}

/** The configuration with each copy region and account once. */
function normalized(config: DistributionConfig): DistributionConfig {
  return {
    ...config,
    copyToRegions: [...new Set(config.copyToRegions)],
    shareWithAccounts: [...new Set(config.shareWithAccounts)],
  };
}

/** Starts every part at once: FSR in the source region, the source region, each copy. */
function startParts(run: Run, source: Snapshot, result: DistributionResult): Part[] {
  const parts: Part[] = [];
  if (run.config.fastSnapshotRestoreAzs.length > 0) {
    parts.push({
      label: `fast snapshot restore in ${run.sourceRegion}`,
      promise: enableFastSnapshotRestore(run).then((states) => {
        result.fastSnapshotRestore = states;
      }),
    });
  }
  parts.push({
    label: run.sourceRegion,
    promise: finishRegion(run, run.sourceRegion, source, result),
  });
  for (const region of run.config.copyToRegions) {
    parts.push({
      label: region,
      promise: copyToRegion(run, region, source).then(async (copy) => {
        result.snapshotIds[region] = copy.SnapshotId ?? '';
        await finishRegion(run, region, copy, result);
      }),
    });
  }
  return parts;
}

/** Waits for every part; the ones that failed, in the order they were started. */
async function failuresOf(parts: Part[]): Promise<Failure[]> {
  const settled = await Promise.allSettled(parts.map((p) => p.promise));
  const failures: Failure[] = [];
  settled.forEach((outcome, i) => {
    if (outcome.status === 'rejected') {
      failures.push({ label: parts[i]?.label ?? '?', error: outcome.reason });
    }
  });
  return failures;
}

/**
 * Ends a distribution some parts of which failed: with the abort when it was cancelled, else
 * with the one failure, or one ActionError listing them all. Says which copies are kept.
 */
function throwFailures(run: Run, failures: Failure[], result: DistributionResult): never {
  const { deps, snapshotId, sourceRegion } = run;
  const aborted = failures.find((f) => f.error instanceof AbortedError);
  if (aborted || deps.signal.aborted) {
    throw deps.signal.aborted ? abortReason(deps.signal) : aborted?.error;
  }
  const copies = Object.entries(result.snapshotIds)
    .filter(([region]) => region !== sourceRegion)
    .map(([region, id]) => `${region}: ${id}`);
  if (copies.length > 0) {
    deps.logger.info(`Completed copies, kept for a later run to reuse: ${copies.join(', ')}.`);
  }
  const first = failures[0];
  if (failures.length === 1 && first) {
    const { error } = first;
    if (error instanceof ActionError) throw error;
    throw new ActionError(`Distributing ${snapshotId} (${first.label}): ${errorMessage(error)}`, {
      cause: error,
    });
  }
  throw new ActionError(
    `Distributing ${snapshotId} failed in ${failures.length} places: ` +
      failures.map((f) => `[${f.label}] ${errorMessage(f.error)}`).join(' '),
    { cause: first?.error },
  );
}

/** The result in a stable order: the source region first, then the copies as listed. */
function inOrder(run: Run, result: DistributionResult): DistributionResult {
  if (run.config.shareWithAccounts.length > 0) result.shared = run.config.shareWithAccounts;
  const order = [run.sourceRegion, ...run.config.copyToRegions];
  result.parameters.sort((a, b) => order.indexOf(a.region) - order.indexOf(b.region));
  result.snapshotIds = Object.fromEntries(
    order.map((region) => [region, result.snapshotIds[region] ?? '']),
  );
  return result;
}

/**
 * Distributes a completed snapshot: FSR in the source region's AZs, copies in
 * parallel, sharing and the SSM parameter in every region. Validates `config`
 * first (InputError). On failure of any part, the other parts still finish,
 * then one ActionError lists what failed; copies that did not complete are
 * deleted, completed ones are kept (a later run reuses them via TAG_SOURCE).
 */
export async function distributeSnapshot(
  snapshotId: string,
  sourceRegion: string,
  config: DistributionConfig,
  deps: DistributionDeps,
): Promise<DistributionResult> {
  validateDistributionConfig(config, sourceRegion);
  const run: Run = {
    snapshotId,
    sourceRegion,
    config: normalized(config),
    deps,
    deadline: deps.clock.now() + deps.timeoutMs,
    repository: undefined,
  };
  const result: DistributionResult = {
    snapshotIds: { [sourceRegion]: snapshotId },
    shared: [],
    parameters: [],
    fastSnapshotRestore: [],
  };

  const source = await completedSource(run);
  run.repository = source.Tags?.find((t) => t.Key === TAG_REPOSITORY)?.Value;

  const failures = await failuresOf(startParts(run, source, result));
  if (failures.length > 0) throwFailures(run, failures, result);
  return inOrder(run, result);
}
