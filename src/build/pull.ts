/**
 * Phase 6: the pulls. One generated script (instance-script.ts) runs on the builder over SSM,
 * bounded by what timeout-minutes leaves after the snapshot's reserve, with checkpoint
 * snapshots taken meanwhile (checkpoints.ts); its report says what each image and platform
 * came to (read back from the builder when SSM cut it, pull-report.ts), and `judgePulls` turns
 * it into the log and, when pulls failed, into the error the user sees.
 */
import {
  DEFAULT_CHECKPOINT_POLICY,
  type CheckpointChain,
  type CheckpointReport,
} from './checkpoints.js';
import {
  parseScriptReport,
  renderInstanceScript,
  reportFilePath,
  type PullRecord,
  type ScriptReport,
} from './instance-script.js';
import { fetchFullReport } from './pull-report.js';
import { describeCommandFailure, runShellScript, type CommandResult } from './ssm-command.js';
import { TAG_ROLE } from '../aws/tags.js';
import { WaitTimeoutError } from '../aws/wait.js';
import type { ImageReference } from '../config/image-ref.js';
import { invocationKey, runKey } from '../config/run-context.js';
import { ActionError } from '../core/errors.js';
import { formatDuration } from '../core/format.js';
import { ec2Deps, ssmDeps, type BuildRun, type DataVolume, type ImageResult } from './types.js';

export interface Pulled {
  images: ImageResult[];
  /** Images removed from the base volume. */
  removed: string[];
  report: ScriptReport;
  result: CommandResult;
  executionTimeoutSeconds: number;
  /** The chain of checkpoints taken while pulling, stopped now. */
  checkpoints?: CheckpointChain;
  checkpointReport?: CheckpointReport;
}

/** Runs the pull script on the builder (checkpointing meanwhile) and reads its report. */
export async function pullImages(
  run: BuildRun,
  volume: DataVolume,
  sources: ImageReference[],
): Promise<Pulled> {
  const { config, deps } = run;
  const reportFile = reportFilePath(invocationKey(deps.context));
  const script = renderInstanceScript({
    images: config.images,
    sources,
    platforms: config.platforms,
    snapshotter: config.snapshotter,
    onMissingPlatform: config.onMissingPlatform,
    concurrency: config.pullConcurrency,
    quiesce: config.snapshotMode === 'live',
    prune: volume.baseSnapshotId !== undefined,
    reportFile,
  });
  const waitMs = pullTime(run);
  const executionTimeoutSeconds = Math.floor(waitMs / 1000);
  const checkpoints = config.checkpointSnapshots ? startCheckpoints(run, volume) : undefined;
  let checkpointReport: CheckpointReport | undefined;
  const pulling = runPullScript(run, volume.builderId, script, waitMs, executionTimeoutSeconds);
  const result = await pulling.finally(async () => {
    checkpointReport = await checkpoints?.stop();
    if (checkpointReport && checkpointReport.ids.length > 0) {
      deps.logger.info(
        `${checkpointReport.ids.length} checkpoint snapshot(s) taken while pulling, ${checkpointReport.completed} completed.`,
      );
    }
  });
  const report = await readReport(run, result, volume.builderId, reportFile);
  return {
    images: report.pulls.map(toImageResult),
    removed: report.removed,
    report,
    result,
    executionTimeoutSeconds,
    ...(checkpoints ? { checkpoints } : {}),
    ...(checkpointReport ? { checkpointReport } : {}),
  };
}

/** How long the pulls may take: what timeout-minutes leaves after the snapshot's reserve. */
function pullTime(run: BuildRun): number {
  const waitMs =
    run.deadline.budget(Number.POSITIVE_INFINITY, 'the pulls started') -
    run.bounds.snapshotReserveMs;
  if (waitMs < 60_000) {
    throw new ActionError(
      `timeout-minutes (${run.config.timeoutMinutes}) leaves under a minute for pulling; raise it.`,
    );
  }
  return waitMs;
}

function startCheckpoints(run: BuildRun, volume: DataVolume): CheckpointChain {
  const { deps } = run;
  return run.resources.startCheckpoints(
    {
      volumeId: volume.volumeId,
      description: `Checkpoint (deleted when the build ends): ${volume.description}`,
      tags: {
        Name: `bottlerocket-ebs-snapshot checkpoint ${deps.context.repository}`,
        ...run.tags,
        [TAG_ROLE]: 'checkpoint',
      },
    },
    {
      ...ec2Deps(run),
      ledger: run.ledger,
      policy: { ...DEFAULT_CHECKPOINT_POLICY, ...deps.checkpointPolicy },
    },
  );
}

async function runPullScript(
  run: BuildRun,
  builderId: string,
  script: string,
  waitMs: number,
  executionTimeoutSeconds: number,
): Promise<CommandResult> {
  const { config, deps } = run;
  const count = config.images.length;
  return runShellScript(
    {
      instanceId: builderId,
      script,
      comment: `bottlerocket-ebs-snapshot ${runKey(deps.context)}: pull ${count} image(s)`,
      executionTimeoutSeconds,
      waitTimeoutMs: waitMs + 60_000,
      onProgress: (status, elapsed) =>
        deps.logger.debug(`Pull script: ${status} after ${formatDuration(elapsed)}`),
    },
    ssmDeps(run),
  ).catch((error: unknown) => {
    if (error instanceof WaitTimeoutError) {
      throw new ActionError(
        `Pulling did not finish in ${formatDuration(waitMs)}, the part of timeout-minutes (${config.timeoutMinutes}) ` +
          `left after keeping ${formatDuration(run.bounds.snapshotReserveMs)} for the snapshot. ` +
          'Raise timeout-minutes or pull-concurrency, or use a larger instance type.',
        { cause: error },
      );
    }
    throw error;
  });
}

/** The script's report; when SSM cut the output (failures come first in it), the whole one. */
async function readReport(
  run: BuildRun,
  result: CommandResult,
  builderId: string,
  reportFile: string,
): Promise<ScriptReport> {
  const { config, deps } = run;
  const report = parseScriptReport(result.stdout, config.images);
  if (report.complete || !report.totals) return report;
  deps.logger.info(
    'The pull report is longer than SSM keeps of the output; reading it from the builder.',
  );
  const full = await fetchFullReport(
    {
      instanceId: builderId,
      reportFile,
      comment: `bottlerocket-ebs-snapshot ${runKey(deps.context)}`,
    },
    ssmDeps(run),
  );
  // Whether the builder could not prepare, as the output SSM kept says.
  const whole = parseScriptReport(full, config.images);
  delete whole.phaseFailure;
  if (report.phaseFailure) whole.phaseFailure = report.phaseFailure;
  return whole;
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

/** Logs what each pull came to; throws when a pull failed or the report misses some. */
export function judgePulls(run: BuildRun, pulled: Pulled): void {
  const { config, deps } = run;
  const { report, result } = pulled;
  for (const name of report.removed) deps.logger.info(`removed ${name} (no longer listed)`);
  for (const f of report.removeFailures)
    run.warn(`Could not remove ${f.name} from the base volume: ${f.message}`);
  for (const pull of report.pulls) logPull(run, pull);
  if (result.stderr.trim()) deps.logger.debug(`Pull script stderr:\n${result.stderr}`);
  throwOnPullFailure(result, report, pulled.executionTimeoutSeconds);
  if (!report.complete) {
    run.warn(
      'The pull report was cut short (SSM keeps 24,000 characters of output); some per-image figures are missing.',
    );
  }
  const expected = config.images.length * config.platforms.length;
  if (report.pulls.length < expected && report.complete) {
    throw new ActionError(`The pull script reported ${report.pulls.length} of ${expected} pulls.`);
  }
}

function logPull(run: BuildRun, pull: PullRecord): void {
  const what = `${pull.image.normalized} (${pull.platform})`;
  if (pull.status === 'ok') {
    run.deps.logger.info(
      `${pull.reused ? 'already on the base volume' : `pulled in ${pull.seconds}s`}: ${what} ${pull.digest ?? 'digest unknown'}, ${pull.size ?? 'size unknown'}`,
    );
  } else if (pull.status === 'skip') {
    run.warn(
      `Skipped ${what}: the image has no ${pull.platform} variant (on-missing-platform: skip).`,
    );
  } else {
    run.deps.logger.error(`Failed to pull ${what}: ${pull.message ?? 'no message'}`);
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
