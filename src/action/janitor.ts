/**
 * Janitor mode (cleanup-older-than): the main step removes what dead runs of this repository
 * left, older than the age given, and builds nothing.
 */
import { cleanUpOlderThan } from '../build/janitor.js';
import { escapeCell } from '../core/markdown.js';
import { formatDuration } from '../core/format.js';
import { errorMessage } from '../core/errors.js';
import { runContextFromEnv } from '../config/run-context.js';
import type { ActionConfig, JanitorConfig } from './inputs/index.js';
import { clientsFor } from './clients.js';
import { setListOutput } from './outputs.js';
import type { ActionRuntime } from './runtime.js';

/** Janitor mode: removes what dead runs of this repository left, older than the age given. */
export async function runJanitor(
  rt: ActionRuntime,
  config: ActionConfig,
  janitor: JanitorConfig,
): Promise<void> {
  const { region } = config.aws;
  const repository = runContextFromEnv(rt.env).repository;
  const clients = clientsFor(rt, region, config.aws.credentials);
  try {
    const result = await rt.logger.group(
      `Removing what runs of ${repository} left, older than ${formatDuration(janitor.olderThanMs)}`,
      () =>
        cleanUpOlderThan({
          regions: janitor.regions.map((r) => ({ region: r, ec2: clients.ec2For(r) })),
          repository,
          olderThanMs: janitor.olderThanMs,
          clock: rt.clock,
          logger: rt.logger,
          signal: rt.signal,
        }),
    );
    setListOutput(rt, 'deleted-snapshots', result.deletedSnapshots);
    await rt.writeSummary(
      `### 🧹 Cleanup of ${escapeCell(repository)}\n\n` +
        `Terminated ${result.terminated.length} builder(s), deleted ${result.deletedSnapshots.length} checkpoint snapshot(s) and ${result.deletedVolumes.length} volume(s) older than ${formatDuration(janitor.olderThanMs)} in ${janitor.regions.join(', ')}.\n`,
    );
    if (result.errors.length > 0) rt.setFailed(`Cleanup incomplete: ${result.errors.join('; ')}`);
  } catch (error) {
    rt.setFailed(errorMessage(error));
  } finally {
    clients.destroy();
  }
}
