/**
 * The snapshot build, start to end: check credentials, pick the AMI, launch
 * the builder, wait for SSM, pull the images, snapshot the data volume, and
 * clean up whatever happens. Everything it needs is passed in, so tests drive
 * it with mocked or emulated AWS clients on a virtual clock.
 */
import type { Instance, Snapshot } from '@aws-sdk/client-ec2';
import {
  describeAmi,
  instanceTypeArchitecture,
  resolveBottlerocketAmi,
  type Architecture,
} from './ami.js';
import type { AwsClients } from '../aws/clients.js';
import {
  dataVolumeId,
  launchBuilder,
  stopInstance,
  terminateInstances,
  waitForInstanceState,
  type LaunchedBuilder,
} from './builder-instance.js';
import {
  CheckpointChain,
  DEFAULT_CHECKPOINT_POLICY,
  type CheckpointPolicy,
  type CheckpointReport,
} from './checkpoints.js';
import type { Clock } from '../core/clock.js';
import { checkCallerIdentity, type CallerIdentity } from '../aws/credentials.js';
import { AbortedError, ActionError, errorMessage } from '../core/errors.js';
import type { BuildConfig, Platform } from '../config/types.js';
import type { ImageReference } from '../config/image-ref.js';
import type { ResolveResult } from '../cache/registry/index.js';
import { buildKey as computeBuildKey } from '../cache/build-key.js';
import { pullSource } from './pull-through.js';
import { fetchFullReport } from './pull-report.js';
import { chooseBaseSnapshot, encryptionTag, findSnapshotByKey } from '../cache/reuse.js';
import {
  parseScriptReport,
  reportFilePath,
  renderInstanceScript,
  type PullRecord,
  type ScriptReport,
} from './instance-script.js';
import { memoryLedger, type CreateLedger } from '../aws/create-ledger.js';
import type { Logger } from '../core/logger.js';
import { Progress, type PhaseRecord } from './phases.js';
import { invocationKey, runKey, type RunContext } from '../config/run-context.js';
import {
  createSnapshot,
  deleteSnapshot,
  markBuildFinished,
  snapshotDescription,
  waitForSnapshot,
} from '../aws/snapshots.js';
import {
  describeCommandFailure,
  runShellScript,
  waitForSsmOnline,
  type CommandResult,
} from './ssm-command.js';
import {
  runTags,
  tagValue,
  TAG_DIGESTS,
  TAG_IMAGES,
  TAG_PLATFORMS,
  TAG_ROLE,
  TAG_SNAPSHOTTER,
  TAG_VARIANT,
  TAG_BASE,
  TAG_STATE,
  STATE_BUILDING,
  TAG_BUILD_KEY,
  TAG_ENCRYPTION,
  TAG_LINEAGE,
} from '../aws/tags.js';
import { WaitTimeoutError } from '../aws/wait.js';
import { formatDuration } from '../core/format.js';

/** Keys the main step saves for the post step, which cleans up after a crash or cancellation. */
export const STATE_INSTANCE_IDS = 'builder-instance-ids';
export const STATE_PENDING_SNAPSHOT = 'pending-snapshot-id';
export const STATE_CHECKPOINTS = 'checkpoint-snapshot-ids';
export const STATE_REGION = 'region';
/** RunContext.invocation: the post step looks for this step's resources by it. */
export const STATE_INVOCATION = 'invocation';
/** 'true' once a sweep by tag found nothing of this invocation left (cleanup.ts). */
export const STATE_CLEAN = 'clean';
/** Regions the sweep looks in (the build's first); empty when the step builds nothing. */
export const STATE_SWEEP_REGIONS = 'sweep-regions';
/** JSON list of the run's output snapshot IDs: the sweep never deletes them. */
export const STATE_OUTPUT_SNAPSHOTS = 'output-snapshot-ids';

export interface StateStore {
  save(key: string, value: string): void;
}

/** Upper bounds per phase; each is further capped by what is left of timeout-minutes. */
export interface PhaseBounds {
  instanceRunningMs: number;
  ssmOnlineMs: number;
  instanceStoppedMs: number;
  /** Time kept back from the pull phase for stopping and snapshotting. */
  snapshotReserveMs: number;
}

export const DEFAULT_BOUNDS: PhaseBounds = {
  instanceRunningMs: 5 * 60_000,
  ssmOnlineMs: 10 * 60_000,
  instanceStoppedMs: 5 * 60_000,
  snapshotReserveMs: 5 * 60_000,
};

export interface BuildDeps {
  clients: AwsClients;
  clock: Clock;
  logger: Logger;
  /** Aborted when the runner cancels the job. */
  signal: AbortSignal;
  context: RunContext;
  state: StateStore;
  bounds?: Partial<PhaseBounds>;
  /** Notes create requests whose answer never came, for the sweep (a memory one by default). */
  ledger?: CreateLedger;
  /** When to take checkpoint snapshots while pulling (DEFAULT_CHECKPOINT_POLICY). */
  checkpointPolicy?: Partial<CheckpointPolicy>;
  /** Resolves image digests from the registries (for the build key); absent: no reuse. */
  resolveDigests?: (
    images: readonly ImageReference[],
    platforms: readonly Platform[],
    signal: AbortSignal,
  ) => Promise<ResolveResult>;
}

export interface ImageResult {
  reference: string;
  platform: string;
  status: PullRecord['status'];
  digest?: string;
  size?: number;
  seconds: number;
  /** Already on the base snapshot's volume, or the whole snapshot was reused. */
  reused?: boolean;
  message?: string;
}

export interface BuildResult {
  snapshotId: string;
  volumeSizeGiB: number;
  images: ImageResult[];
  builderInstanceId: string;
  instanceType: string;
  imageId: string;
  region: string;
  identity: CallerIdentity;
  durationSeconds: number;
  phases: PhaseRecord[];
  warnings: string[];
  /** An existing snapshot with the same build key was reused; nothing was built. */
  cacheHit: boolean;
  buildKey?: string;
  /** The snapshot the data volume started from (incremental build). */
  baseSnapshotId?: string;
  /** Images removed from the base volume. */
  removed: string[];
  /** Checkpoint snapshots taken while pulling (all deleted again). */
  checkpoints?: CheckpointReport;
}

export const TOTAL_PHASES = 8;

/** The family of snapshots a build belongs to: input `name`, else the repository. */
export function lineageOf(config: BuildConfig, context: RunContext): string {
  return tagValue(config.name ?? context.repository);
}

export class BuildFailure extends ActionError {
  override readonly name: string = 'BuildFailure';
  constructor(
    message: string,
    readonly phases: PhaseRecord[],
    readonly images: ImageResult[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function toImageResult(record: PullRecord): ImageResult {
  const result: ImageResult = {
    reference: record.image.normalized,
    platform: record.platform,
    status: record.status,
    seconds: record.seconds,
  };
  if (record.digest) result.digest = record.digest;
  if (record.sizeBytes !== undefined) result.size = record.sizeBytes;
  if (record.message) result.message = record.message;
  if (record.reused) result.reused = true;
  return result;
}

export async function buildSnapshot(config: BuildConfig, deps: BuildDeps): Promise<BuildResult> {
  const { clients, clock, logger, context } = deps;
  const bounds = { ...DEFAULT_BOUNDS, ...deps.bounds };
  const started = clock.now();
  const deadline = started + config.timeoutMinutes * 60_000;
  const progress = new Progress(TOTAL_PHASES, logger, clock);
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    logger.warning(message);
  };

  // One signal for cancellation and for the overall timeout: every wait and every SDK call
  // takes it, so neither a wait nor a request already in flight outlasts timeout-minutes.
  // The deadline is on the wall clock, as it bounds real requests.
  const controller = new AbortController();
  const onCancel = () => controller.abort(new AbortedError('The run was cancelled.'));
  if (deps.signal.aborted) onCancel();
  deps.signal.addEventListener('abort', onCancel, { once: true });
  const deadlineReached = new ActionError(
    `timeout-minutes (${config.timeoutMinutes}) was reached: the build was stopped.`,
  );
  const deadlineTimer = setTimeout(
    () => controller.abort(deadlineReached),
    Math.max(0, deadline - clock.now()),
  );
  deadlineTimer.unref();
  const signal = controller.signal;

  const budget = (boundMs: number, what: string): number => {
    const left = deadline - clock.now();
    if (left <= 0) {
      throw new ActionError(
        `timeout-minutes (${config.timeoutMinutes}) was reached before ${what}.`,
      );
    }
    return Math.min(boundMs, left);
  };
  const explainTimeout = (error: unknown): unknown => {
    if (error instanceof WaitTimeoutError && clock.now() >= deadline) {
      return new ActionError(
        `${error.message} The whole build is bounded by timeout-minutes (${config.timeoutMinutes}).`,
        { cause: error },
      );
    }
    return error;
  };

  const tags = runTags(context, config.tags);
  const ledger = deps.ledger ?? memoryLedger();
  const launchedIds: string[] = [];
  let builder: LaunchedBuilder | undefined;
  let terminated = false;
  let snapshotId: string | undefined;
  let snapshotDone = false;
  let images: ImageResult[] = [];
  let removed: string[] = [];
  let checkpoints: CheckpointChain | undefined;
  let checkpointReport: CheckpointReport | undefined;
  let checkpointsLeft = false;
  const deleteCheckpoints = async (when: string) => {
    if (!checkpoints || !checkpointsLeft) return;
    const failed = await checkpoints.deleteAll(AbortSignal.timeout(60_000));
    checkpointsLeft = failed.length > 0;
    deps.state.save(STATE_CHECKPOINTS, failed.map((f) => f.id).join(','));
    const ids = checkpoints.report().ids;
    if (ids.length > failed.length)
      logger.info(`Deleted ${ids.length - failed.length} checkpoint snapshot(s) (${when}).`);
    for (const f of failed) {
      logger.warning(
        `Could not delete checkpoint snapshot ${f.id}: ${f.message}. The post step will try again.`,
      );
    }
  };

  const terminateBuilder = async (why: string) => {
    if (terminated || launchedIds.length === 0) return;
    const ids = await terminateInstances(clients.ec2, launchedIds, AbortSignal.timeout(60_000));
    terminated = true;
    deps.state.save(STATE_INSTANCE_IDS, '');
    logger.info(`Terminated builder ${launchedIds.join(', ')} (${why}).`);
    if (ids.length === 0) logger.debug('EC2 reported no instance left to terminate.');
  };

  try {
    const identity = await progress.phase(1, 'Checking AWS credentials', async () => {
      const id = await checkCallerIdentity(clients.sts, signal);
      logger.info(`Acting as ${id.arn} in account ${id.account}, region ${config.region}.`);
      return id;
    });

    const lineage = lineageOf(config, context);
    const sources = config.images.map((image) =>
      pullSource(image, config.pullThroughCache, identity.account, config.region),
    );
    const plan = await progress.phase(2, 'Resolving image digests', () => {
      sources.forEach((source, i) => {
        if (source !== config.images[i]) {
          logger.info(
            `${config.images[i]?.normalized ?? ''} comes through the ECR pull-through cache: ${source.normalized}`,
          );
        }
      });
      return planBuild(config, sources, deps, signal, warn);
    });
    if (plan.reusable) {
      const reused = plan.reusable;
      for (const [index, title] of REST_OF_BUILD.entries()) {
        progress.skip(index + 3, title, `reusing ${reused.SnapshotId ?? ''}`);
      }
      logger.notice(
        `Nothing changed since ${reused.SnapshotId ?? ''} (build key ${plan.key?.slice(0, 12) ?? ''}…): reusing it, no instance launched.`,
        { title: 'bottlerocket-ebs-snapshot' },
      );
      return {
        snapshotId: reused.SnapshotId ?? '',
        volumeSizeGiB: reused.VolumeSize ?? config.volume.sizeGiB,
        images: plan.images,
        builderInstanceId: '',
        instanceType: '',
        imageId: '',
        region: config.region,
        identity,
        durationSeconds: Math.round((clock.now() - started) / 1000),
        phases: progress.phases,
        warnings,
        cacheHit: true,
        ...(plan.key ? { buildKey: plan.key } : {}),
        removed: [],
      };
    }

    const amiByArch = new Map<Architecture, string>();
    const imageFor = async (instanceType: string): Promise<string> => {
      const arch = await instanceTypeArchitecture(clients.ec2, instanceType, signal);
      if (config.amiId) return config.amiId;
      let ami = amiByArch.get(arch);
      if (!ami) {
        ami = await resolveBottlerocketAmi(
          clients.ssm,
          config.bottlerocketVariant,
          arch,
          config.region,
          signal,
        );
        amiByArch.set(arch, ami);
        logger.info(`Bottlerocket ${config.bottlerocketVariant} for ${arch}: ${ami}`);
      }
      return ami;
    };

    await progress.phase(3, 'Choosing the Bottlerocket image', async () => {
      if (config.amiId) {
        const ami = await describeAmi(clients.ec2, config.amiId, signal);
        logger.info(`Using ${config.amiId} (${ami.name}, ${ami.architecture}) from input ami-id.`);
      } else {
        const first = config.instanceTypes[0] ?? '';
        await imageFor(first);
      }
    });

    let baseSnapshotId: string | undefined;
    builder = await progress.phase(4, 'Launching the builder', async () => {
      if (config.baseSnapshot !== 'none') {
        const base = await chooseBaseSnapshot(clients.ec2, config, lineage, signal);
        if (base.kind === 'snapshot') {
          baseSnapshotId = base.snapshot.SnapshotId;
          logger.info(
            `Building on ${baseSnapshotId ?? ''} (${base.how === 'auto' ? `newest of lineage '${lineage}'` : 'base-snapshot'}, ${base.snapshot.VolumeSize ?? '?'} GiB): only what changed is pulled and written.`,
          );
        } else {
          logger.info(`Full build: ${base.reason}.`);
        }
      }
      return launchBuilder(config, { ...tags, [TAG_ROLE]: 'builder' }, invocationKey(context), {
        ...(baseSnapshotId ? { baseSnapshotId } : {}),
        ec2: clients.ec2,
        logger,
        signal,
        ledger,
        imageFor,
        onLaunched: (id) => {
          launchedIds.push(id);
          deps.state.save(STATE_INSTANCE_IDS, launchedIds.join(','));
        },
      });
    });
    const builderId = builder.instanceId;

    let running: Instance | undefined;
    await progress
      .phase(5, 'Waiting for the builder to accept SSM commands', async () => {
        running = await waitForInstanceState(
          builderId,
          'running',
          budget(bounds.instanceRunningMs, 'the builder was running'),
          {
            ec2: clients.ec2,
            clock,
            signal,
          },
        );
        await waitForSsmOnline(builderId, budget(bounds.ssmOnlineMs, 'SSM saw the builder'), {
          ssm: clients.ssm,
          ec2: clients.ec2,
          clock,
          logger,
          signal,
        });
      })
      .catch((e: unknown) => {
        throw explainTimeout(e);
      });

    const volumeId = dataVolumeId(running ?? {});
    const description = snapshotDescription(
      config.images.map((i) => i.normalized),
      config.bottlerocketVariant,
    );
    const count = config.images.length;
    const platformCount = config.platforms.length;
    await progress
      .phase(
        6,
        `Pulling ${count} image${count === 1 ? '' : 's'} for ${platformCount} platform${platformCount === 1 ? '' : 's'}`,
        async () => {
          const reportFile = reportFilePath(invocationKey(context));
          const script = renderInstanceScript({
            images: config.images,
            sources,
            platforms: config.platforms,
            snapshotter: config.snapshotter,
            onMissingPlatform: config.onMissingPlatform,
            concurrency: config.pullConcurrency,
            quiesce: config.snapshotMode === 'live',
            prune: baseSnapshotId !== undefined,
            reportFile,
          });
          const waitMs =
            budget(Number.POSITIVE_INFINITY, 'the pulls started') - bounds.snapshotReserveMs;
          if (waitMs < 60_000) {
            throw new ActionError(
              `timeout-minutes (${config.timeoutMinutes}) leaves under a minute for pulling; raise it.`,
            );
          }
          const executionTimeoutSeconds = Math.floor(waitMs / 1000);
          if (config.checkpointSnapshots) {
            checkpoints = new CheckpointChain(
              {
                volumeId,
                description: `Checkpoint (deleted when the build ends): ${description}`,
                tags: {
                  Name: `bottlerocket-ebs-snapshot checkpoint ${context.repository}`,
                  ...tags,
                  [TAG_ROLE]: 'checkpoint',
                },
              },
              {
                ec2: clients.ec2,
                clock,
                logger,
                signal,
                ledger,
                policy: { ...DEFAULT_CHECKPOINT_POLICY, ...deps.checkpointPolicy },
                onCreated: (ids) => {
                  checkpointsLeft = true;
                  deps.state.save(STATE_CHECKPOINTS, ids.join(','));
                },
              },
            );
            checkpoints.start();
          }
          const pulling = runShellScript(
            {
              instanceId: builderId,
              script,
              comment: `bottlerocket-ebs-snapshot ${runKey(context)}: pull ${count} image(s)`,
              executionTimeoutSeconds,
              waitTimeoutMs: waitMs + 60_000,
              onProgress: (status, elapsed) =>
                logger.debug(`Pull script: ${status} after ${formatDuration(elapsed)}`),
            },
            { ssm: clients.ssm, ec2: clients.ec2, clock, logger, signal },
          ).catch((error: unknown) => {
            if (error instanceof WaitTimeoutError) {
              throw new ActionError(
                `Pulling did not finish in ${formatDuration(waitMs)}, the part of timeout-minutes (${config.timeoutMinutes}) ` +
                  `left after keeping ${formatDuration(bounds.snapshotReserveMs)} for the snapshot. ` +
                  'Raise timeout-minutes or pull-concurrency, or use a larger instance type.',
                { cause: error },
              );
            }
            throw error;
          });
          const result = await pulling.finally(async () => {
            checkpointReport = await checkpoints?.stop();
            if (checkpointReport && checkpointReport.ids.length > 0) {
              logger.info(
                `${checkpointReport.ids.length} checkpoint snapshot(s) taken while pulling, ${checkpointReport.completed} completed.`,
              );
            }
          });
          let report = parseScriptReport(result.stdout, config.images);
          if (!report.complete && report.totals) {
            // SSM cut the output (failures come first in it): read the whole report instead.
            logger.info(
              'The pull report is longer than SSM keeps of the output; reading it from the builder.',
            );
            const full = await fetchFullReport(
              {
                instanceId: builderId,
                reportFile,
                comment: `bottlerocket-ebs-snapshot ${runKey(context)}`,
              },
              { ssm: clients.ssm, ec2: clients.ec2, clock, logger, signal },
            );
            report = {
              ...parseScriptReport(full, config.images),
              phaseFailure: report.phaseFailure,
            };
          }
          images = report.pulls.map(toImageResult);
          removed = report.removed;
          for (const name of report.removed) logger.info(`removed ${name} (no longer listed)`);
          for (const f of report.removeFailures)
            warn(`Could not remove ${f.name} from the base volume: ${f.message}`);
          for (const pull of report.pulls) {
            const what = `${pull.image.normalized} (${pull.platform})`;
            if (pull.status === 'ok') {
              logger.info(
                `${pull.reused ? 'already on the base volume' : `pulled in ${pull.seconds}s`}: ${what} ${pull.digest ?? 'digest unknown'}, ${pull.size ?? 'size unknown'}`,
              );
            } else if (pull.status === 'skip') {
              warn(
                `Skipped ${what}: the image has no ${pull.platform} variant (on-missing-platform: skip).`,
              );
            } else {
              logger.error(`Failed to pull ${what}: ${pull.message ?? 'no message'}`);
            }
          }
          if (result.stderr.trim()) logger.debug(`Pull script stderr:\n${result.stderr}`);
          throwOnPullFailure(result, report, executionTimeoutSeconds);
          if (!report.complete) {
            warn(
              'The pull report was cut short (SSM keeps 24,000 characters of output); some per-image figures are missing.',
            );
          }
          const expected = config.images.length * config.platforms.length;
          if (report.pulls.length < expected && report.complete) {
            throw new ActionError(
              `The pull script reported ${report.pulls.length} of ${expected} pulls.`,
            );
          }
        },
      )
      .catch((e: unknown) => {
        throw explainTimeout(e);
      });

    snapshotId = await progress
      .phase(7, 'Snapshotting the data volume', async () => {
        if (config.snapshotMode === 'stop') {
          await stopInstance(clients.ec2, builderId, signal);
          await waitForInstanceState(
            builderId,
            'stopped',
            budget(bounds.instanceStoppedMs, 'the builder stopped'),
            {
              ec2: clients.ec2,
              clock,
              signal,
            },
          );
        }
        const digestSummary = images
          .filter((i) => i.status === 'ok' && i.digest)
          .map(
            (i) =>
              `${i.reference.split('/').pop() ?? i.reference}@${(i.digest ?? '').slice(7, 19)}`,
          );
        // EC2 takes about one snapshot per volume every 15 s; a checkpoint may have just started.
        await checkpoints?.readyForNext(signal);
        const id = await createSnapshot(
          clients.ec2,
          {
            volumeId,
            description,
            tags: {
              Name: `bottlerocket-ebs-snapshot ${context.repository}`,
              ...tags,
              [TAG_ROLE]: 'snapshot',
              [TAG_IMAGES]: tagValue(config.images.map((i) => i.normalized).join(' ')),
              [TAG_DIGESTS]: tagValue([...new Set(digestSummary)].join(' ')),
              [TAG_VARIANT]: config.bottlerocketVariant,
              [TAG_PLATFORMS]: config.platforms.join(','),
              [TAG_SNAPSHOTTER]: config.snapshotter,
              [TAG_LINEAGE]: lineage,
              [TAG_ENCRYPTION]: tagValue(encryptionTag(config)),
              ...(plan.key ? { [TAG_BUILD_KEY]: plan.key } : {}),
              ...(baseSnapshotId ? { [TAG_BASE]: baseSnapshotId } : {}),
              [TAG_STATE]: STATE_BUILDING,
            },
          },
          { clock, signal, ledger },
        );
        deps.state.save(STATE_PENDING_SNAPSHOT, id);
        logger.info(`Created snapshot ${id} of ${volumeId}.`);
        return id;
      })
      .catch((e: unknown) => {
        throw explainTimeout(e);
      });
    const createdSnapshot = snapshotId;

    const snapshot = await progress
      .phase(8, 'Waiting for the snapshot and cleaning up', async () => {
        // The snapshot is a point-in-time copy from here on: the builder is no longer needed.
        // Failing to terminate now does not spoil the snapshot: the end of the build and the
        // post step try again.
        await terminateBuilder('snapshot started').catch((error: unknown) =>
          logger.warning(
            `Could not terminate builder ${launchedIds.join(', ')} yet: ${errorMessage(error)}. Trying again at the end.`,
          ),
        );
        const done = await waitForSnapshot(
          createdSnapshot,
          budget(Number.POSITIVE_INFINITY, 'the snapshot completed'),
          {
            ec2: clients.ec2,
            clock,
            logger,
            signal,
          },
        );
        snapshotDone = true;
        deps.state.save(STATE_PENDING_SNAPSHOT, '');
        await markBuildFinished(clients.ec2, createdSnapshot, { logger, warn, signal });
        await deleteCheckpoints(`${createdSnapshot} completed`);
        return done;
      })
      .catch((e: unknown) => {
        throw explainTimeout(e);
      });

    return {
      snapshotId: createdSnapshot,
      volumeSizeGiB: snapshot.VolumeSize ?? config.volume.sizeGiB,
      images,
      builderInstanceId: builderId,
      instanceType: builder.instanceType,
      imageId: builder.imageId,
      region: config.region,
      identity,
      durationSeconds: Math.round((clock.now() - started) / 1000),
      phases: progress.phases,
      warnings,
      cacheHit: false,
      ...(plan.key ? { buildKey: plan.key } : {}),
      ...(baseSnapshotId ? { baseSnapshotId } : {}),
      removed,
      ...(checkpointReport && checkpointReport.ids.length > 0
        ? { checkpoints: checkpointReport }
        : {}),
    };
  } catch (error) {
    // A request cut off at the deadline may come back wrapped in an ActionError: the deadline
    // is the reason. Cancellation is, unless the error already says more.
    const failure =
      signal.aborted && signal.reason === deadlineReached
        ? deadlineReached
        : signal.aborted && !(error instanceof ActionError)
          ? new AbortedError('The run was cancelled.')
          : error;
    throw new BuildFailure(errorMessage(failure), progress.phases, images, { cause: error });
  } finally {
    clearTimeout(deadlineTimer);
    deps.signal.removeEventListener('abort', onCancel);
    try {
      await terminateBuilder(snapshotDone ? 'done' : 'run did not complete');
    } catch (error) {
      logger.warning(
        `Could not terminate builder ${launchedIds.join(', ')}: ${errorMessage(error)}. The post step will try again.`,
      );
    }
    if (snapshotId && !snapshotDone) {
      try {
        await deleteSnapshot(clients.ec2, snapshotId, AbortSignal.timeout(30_000));
        deps.state.save(STATE_PENDING_SNAPSHOT, '');
        logger.info(`Deleted incomplete snapshot ${snapshotId}.`);
      } catch (error) {
        logger.warning(
          `Could not delete incomplete snapshot ${snapshotId}: ${errorMessage(error)}. The post step will try again.`,
        );
      }
    }
    if (!snapshotDone) {
      try {
        await deleteCheckpoints('the build did not complete');
      } catch (error) {
        logger.warning(
          `Could not delete checkpoint snapshots: ${errorMessage(error)}. The post step will try again.`,
        );
      }
    }
    // Whether anything is left (also what no ID was recorded for) is the sweep's to say.
  }
}

/** Turns a failed pull script into the error the user sees: each failed image with the registry's message. */
function throwOnPullFailure(
  result: CommandResult,
  report: ScriptReport,
  timeoutSeconds: number,
): void {
  const failed = report.pulls.filter((p) => p.status === 'fail');
  if (result.status === 'Success' && failed.length === 0) return;
  if (report.phaseFailure) {
    throw new ActionError(
      `The builder could not prepare for pulling (${report.phaseFailure.phase}): ${report.phaseFailure.message}`,
    );
  }
  if (failed.length > 0) {
    const list = failed.map(
      (f) => `${f.image.normalized} (${f.platform}): ${f.message ?? 'no message'}`,
    );
    const said = (pattern: RegExp) => failed.some((f) => pattern.test(f.message ?? ''));
    const hint =
      (said(/no match for platform/i)
        ? " To build without platforms an image lacks, set 'on-missing-platform: skip'."
        : '') +
      (said(/no space left on device/i)
        ? " The data volume is full: raise 'volume-size' (nodes then need at least that size too)."
        : '');
    throw new ActionError(
      `${failed.length} pull${failed.length === 1 ? '' : 's'} failed:\n  ${list.join('\n  ')}${hint}`,
    );
  }
  const tail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n');
  throw new ActionError(
    `Pulling failed: ${describeCommandFailure(result, timeoutSeconds)}.${tail ? `\n${tail}` : ''}`,
  );
}

const REST_OF_BUILD = [
  'Choosing the Bottlerocket image',
  'Launching the builder',
  'Waiting for the builder to accept SSM commands',
  'Pulling images',
  'Snapshotting the data volume',
  'Waiting for the snapshot and cleaning up',
];

interface BuildPlan {
  /** The build key, when every image's digests are known. */
  key?: string;
  /** A completed snapshot with the same key. */
  reusable?: Snapshot;
  /** What the reused snapshot holds (for outputs and the summary). */
  images: ImageResult[];
}

/**
 * Resolves every image's digest per platform from the registries, fails early
 * on a platform an image lacks (unless on-missing-platform is skip), and looks
 * for a completed snapshot with the same build key.
 */
async function planBuild(
  config: BuildConfig,
  sources: readonly ImageReference[],
  deps: BuildDeps,
  signal: AbortSignal,
  warn: (message: string) => void,
): Promise<BuildPlan> {
  const { logger } = deps;
  if (!deps.resolveDigests) return { images: [] };
  // Resolved where the builder pulls from (the pull-through cache holds the same manifests),
  // reported under each image's own name.
  const own = new Map(sources.map((source, i) => [source.normalized, config.images[i] ?? source]));
  const found = await deps.resolveDigests(sources, config.platforms, signal);
  const ownName = (image: ImageReference) => own.get(image.normalized) ?? image;
  const resolved = found.resolved.map((r) => ({ ...r, image: ownName(r.image) }));
  const failures = found.failures.map((f) => ({ ...f, image: ownName(f.image) }));
  for (const f of failures) {
    warn(
      `Could not resolve ${f.image.normalized} from the runner: ${f.reason}. Building without looking for a reusable snapshot.`,
    );
  }
  const missing = resolved.flatMap((r) =>
    r.platforms
      .filter((p) => p.digest === null)
      .map((p) => `${r.image.normalized} (${p.platform})`),
  );
  if (missing.length > 0 && config.onMissingPlatform === 'fail') {
    throw new ActionError(
      `These images have no build for a requested platform: ${missing.join(', ')}. ` +
        "Build them for every platform, remove the platform from 'platforms', or set 'on-missing-platform: skip'.",
    );
  }
  for (const r of resolved) {
    const digests = r.platforms.map(
      (p) => `${p.platform.slice(6)} ${p.digest?.slice(0, 19) ?? 'missing'}`,
    );
    logger.info(`${r.image.normalized}: ${r.digest.slice(0, 19)}… (${digests.join(', ')})`);
  }
  if (failures.length > 0) return { images: [] };
  const key = computeBuildKey(config, resolved);
  logger.info(`Build key ${key}.`);
  if (config.reuse === 'never') return { key, images: [] };
  const reusable = await findSnapshotByKey(
    deps.clients.ec2,
    key,
    lineageOf(config, deps.context),
    signal,
  );
  if (!reusable) {
    logger.info('No completed snapshot has this build key: building.');
    return { key, images: [] };
  }
  const images: ImageResult[] = resolved.flatMap((r) =>
    r.platforms.map((p) => ({
      reference: r.image.normalized,
      platform: p.platform,
      status: p.digest === null ? ('skip' as const) : ('ok' as const),
      ...(p.digest ? { digest: p.digest } : {}),
      seconds: 0,
      reused: true,
    })),
  );
  return { key, reusable, images };
}
