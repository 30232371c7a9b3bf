/**
 * What a step hands back to the workflow: its outputs (within GitHub's 1 MB per output) and
 * the job summary (within GitHub's 1 MiB per step), a failure included.
 */
import { BuildFailure, type BuildResult } from '../build/index.js';
import type { ClusterUpdateResult } from '../cluster-update/index.js';
import { describeFailure } from '../aws/errors.js';
import { ActionError } from '../core/errors.js';
import { jsonListWithin, summaryWithin } from '../core/limits.js';
import { failureSummary } from '../reporting/summary.js';
import type { ActionRuntime } from './runtime.js';

/** A JSON list output, as much of it as GitHub keeps (1 MB), with a warning when cut. */
export function setListOutput(rt: ActionRuntime, name: string, items: readonly unknown[]): void {
  const { json, kept } = jsonListWithin(items);
  rt.setOutput(name, json);
  if (kept < items.length) {
    rt.logger.warning(
      `Output '${name}' lists ${kept} of ${items.length} entries: GitHub keeps 1 MB of an output. The log has them all.`,
    );
  }
}

export function setBuildOutputs(rt: ActionRuntime, result: BuildResult): void {
  rt.setOutput('snapshot-id', result.snapshotId);
  rt.setOutput('volume-size', String(result.volumeSizeGiB));
  setListOutput(rt, 'images', result.images);
  rt.setOutput('builder-instance-id', result.builderInstanceId);
  rt.setOutput('duration-seconds', String(result.durationSeconds));
  rt.setOutput('cache-hit', String(result.cacheHit));
  rt.setOutput('build-key', result.buildKey ?? '');
  rt.setOutput('base-snapshot-id', result.baseSnapshotId ?? '');
}

export function setUpdateOutputs(rt: ActionRuntime, result: ClusterUpdateResult): void {
  setListOutput(rt, 'updated-files', result.updatedFiles);
  const pr = result.pullRequest;
  if (!pr) return;
  rt.setOutput('pull-request-operation', pr.operation);
  if (pr.number !== undefined) rt.setOutput('pull-request-number', String(pr.number));
  if (pr.url !== undefined) rt.setOutput('pull-request-url', pr.url);
}

/** The job summary: the sections a step wrote, as much as GitHub keeps. */
export async function writeSummary(rt: ActionRuntime, sections: readonly string[]): Promise<void> {
  await rt.writeSummary(summaryWithin(sections.join('\n')));
}

/**
 * A main step that failed: the failure added to the summary (a build's with its phases and
 * images), then the step failed with the message (unexpected errors say so).
 */
export async function reportFailure(
  rt: ActionRuntime,
  error: unknown,
  sections: string[],
): Promise<void> {
  const message = describeFailure(error);
  if (error instanceof BuildFailure) {
    sections.push(failureSummary(message, error.phases, error.images));
  } else {
    sections.push(`### ❌ Failed\n\n\`\`\`\n${message}\n\`\`\`\n`);
  }
  await writeSummary(rt, sections).catch(() => undefined);
  rt.setFailed(error instanceof ActionError ? message : `Unexpected error: ${message}`);
}
