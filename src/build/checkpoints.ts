/**
 * Checkpoint snapshots: while the images pull, the data volume is snapshotted
 * over and over, each checkpoint starting once the one before it has completed.
 * EBS snapshots of a volume are incremental, so the final snapshot, taken after
 * the pulls, only copies the blocks written since the last checkpoint instead
 * of everything pulled: most of the snapshot's copying overlaps the pulls.
 *
 * Checkpoints are a means, not a product: they carry the run tag and the
 * `checkpoint` role (never the lineage or build-key tags, so reuse, base
 * selection and retention never see them), and are deleted once the final
 * snapshot has completed. Deleting an EBS snapshot keeps whatever blocks later
 * snapshots still reference, so the final snapshot stays whole.
 *
 * EC2 limits: five pending snapshots per gp2/gp3/io1/io2 volume (the chain keeps
 * at most one pending, plus the final), and about one CreateSnapshot per volume
 * every 15 seconds (SnapshotCreationPerVolumeRateExceeded): `minGapMs`.
 * A checkpoint that fails only ends the chain; the build goes on.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Deps } from '../core/deps.js';
import { AbortedError, errorMessage } from '../core/errors.js';
import type { CreateLedger } from '../aws/create-ledger.js';
import type { Logger } from '../core/logger.js';
import { createSnapshot, deleteSnapshots, waitForSnapshot } from '../aws/snapshots.js';
import { formatDuration } from '../core/format.js';

/** One checkpoint's CreateSnapshot request, with the SDK's retries of it. */
const CREATE_TIMEOUT_MS = 60_000;

export interface CheckpointPolicy {
  /** Pulling time before the first checkpoint: an earlier one would copy next to nothing. */
  firstAfterMs: number;
  /** Least time between two CreateSnapshot calls on the volume (EC2's per-volume rate). */
  minGapMs: number;
  /** Most checkpoints in one build. */
  max: number;
  /** Longest wait for one checkpoint to complete before the chain gives up. */
  completionBoundMs: number;
}

export const DEFAULT_CHECKPOINT_POLICY: CheckpointPolicy = {
  firstAfterMs: 60_000,
  minGapMs: 15_000,
  max: 20,
  completionBoundMs: 30 * 60_000,
};

export interface CheckpointDeps extends Deps {
  ec2: EC2Client;
  /** The build's signal: cancelling the build ends the chain too. */
  signal: AbortSignal;
  policy: CheckpointPolicy;
  /** Notes a create request whose answer never came (the sweep by tag finds the snapshot). */
  ledger?: CreateLedger;
  /** Called with every checkpoint ID as soon as EC2 returns it (for the post step's state). */
  onCreated: (ids: readonly string[]) => void;
}

export interface CheckpointTarget {
  volumeId: string;
  description: string;
  tags: Record<string, string>;
}

/** What a chain did, for the log and the job summary. */
export interface CheckpointReport {
  /** Every checkpoint created, in order. */
  ids: string[];
  /** How many completed before the pulls ended. */
  completed: number;
  /** Why the chain ended early, when it did. */
  stoppedBecause?: string;
}

export class CheckpointChain {
  private readonly ids: string[] = [];
  private completed = 0;
  private stoppedBecause: string | undefined;
  private lastCreatedAt: number | undefined;
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;
  private startedAt = 0;

  constructor(
    private readonly target: CheckpointTarget,
    private readonly deps: CheckpointDeps,
  ) {}

  /** Starts taking checkpoints in the background; `stop` ends it. */
  start(): void {
    this.startedAt = this.deps.clock.now();
    const onCancel = () => this.controller.abort(new AbortedError('The run was cancelled.'));
    if (this.deps.signal.aborted) onCancel();
    this.deps.signal.addEventListener('abort', onCancel, { once: true });
    this.running = this.run().finally(() =>
      this.deps.signal.removeEventListener('abort', onCancel),
    );
  }

  /**
   * Ends the chain (the pulls are done). A checkpoint still pending is left to complete: the
   * final snapshot queues behind it and then copies only what came after it.
   */
  async stop(): Promise<CheckpointReport> {
    this.controller.abort(new AbortedError('The pulls ended.'));
    await this.running;
    return this.report();
  }

  report(): CheckpointReport {
    return {
      ids: [...this.ids],
      completed: this.completed,
      ...(this.stoppedBecause ? { stoppedBecause: this.stoppedBecause } : {}),
    };
  }

  /** Waits until EC2 accepts another snapshot of the volume (minGapMs after the last one). */
  async readyForNext(signal: AbortSignal): Promise<void> {
    if (this.lastCreatedAt === undefined) return;
    const wait = this.lastCreatedAt + this.deps.policy.minGapMs - this.deps.clock.now();
    if (wait > 0) await this.deps.clock.sleep(wait, signal);
  }

  /**
   * Deletes every checkpoint (after the final snapshot completed, or when the build failed).
   * Returns the IDs that could not be deleted, with EC2's message.
   */
  async deleteAll(signal: AbortSignal): Promise<Array<{ id: string; message: string }>> {
    return (await deleteSnapshots(this.deps.ec2, this.ids, signal)).failed;
  }

  private async run(): Promise<void> {
    const { clock, logger, policy, ec2 } = this.deps;
    const signal = this.controller.signal;
    // Progress lines of checkpoints are detail: keep them out of the main log.
    const quiet: Logger = {
      debug: (message) => logger.debug(message),
      info: (message) => logger.debug(message),
      warning: (message, annotation) => logger.warning(message, annotation),
      error: (message, annotation) => logger.error(message, annotation),
      notice: (message, annotation) => logger.notice(message, annotation),
      group: (title, fn) => logger.group(title, fn),
    };
    try {
      await clock.sleep(policy.firstAfterMs, signal);
      while (this.ids.length < policy.max) {
        const createdAt = clock.now();
        // The request itself is not ended by `stop` (a checkpoint EC2 made is best recorded),
        // only by a bound of its own; no waiting out EC2's rate either: that would hold up `stop`.
        const id = await createSnapshot(ec2, this.target, {
          clock,
          signal: AbortSignal.timeout(CREATE_TIMEOUT_MS),
          rateRetries: 0,
          ledger: this.deps.ledger,
        });
        this.ids.push(id);
        this.lastCreatedAt = createdAt;
        this.deps.onCreated([...this.ids]);
        logger.info(
          `Checkpoint ${this.ids.length}: ${id} of ${this.target.volumeId} after ${formatDuration(createdAt - this.startedAt)} of pulling.`,
        );
        // Looks every 5 s at most: the next checkpoint should start soon after this one is done.
        await waitForSnapshot(id, policy.completionBoundMs, {
          ec2,
          clock,
          logger: quiet,
          signal,
          maxIntervalMs: 5_000,
        });
        this.completed += 1;
        logger.debug(`Checkpoint ${id} completed in ${formatDuration(clock.now() - createdAt)}.`);
        const gap = createdAt + policy.minGapMs - clock.now();
        if (gap > 0) await clock.sleep(gap, signal);
      }
      logger.info(
        `Took ${policy.max} checkpoints, the most for one build; the final snapshot copies what is written after the last.`,
      );
    } catch (error) {
      if (signal.aborted) return;
      this.stoppedBecause = errorMessage(error);
      logger.warning(
        `Checkpoint snapshots stopped: ${this.stoppedBecause} The build goes on; the final snapshot copies everything written since the last completed checkpoint.`,
      );
    }
  }
}
