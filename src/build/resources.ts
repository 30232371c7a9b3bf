/**
 * What a build created and must remove: the builder instances it launched, the final snapshot
 * until it completes, and the checkpoint snapshots. Each is recorded in the step's state the
 * moment it exists (STATE_*), so a post step after a crash or cancellation knows its IDs, and
 * `teardown` removes what is left when the build ends, however it ends. What no ID ever reached
 * (a lost answer) is the sweep's to find by tag (cleanup.ts).
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { terminateInstances } from './builder-instance.js';
import { CheckpointChain, type CheckpointDeps, type CheckpointTarget } from './checkpoints.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { deleteSnapshot } from '../aws/snapshots.js';

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

/** How long each removal may take: not under the build's signal, which may be what ended it. */
const TERMINATE_TIMEOUT_MS = 60_000;
const DELETE_SNAPSHOT_TIMEOUT_MS = 30_000;
const DELETE_CHECKPOINTS_TIMEOUT_MS = 60_000;

export class BuildResources {
  private readonly launchedIds: string[] = [];
  private terminated = false;
  private snapshotId: string | undefined;
  private snapshotDone = false;
  private checkpoints: CheckpointChain | undefined;
  private checkpointsLeft = false;

  constructor(
    private readonly ec2: EC2Client,
    private readonly state: StateStore,
    private readonly logger: Logger,
  ) {}

  /** A builder instance exists (launchBuilder's onLaunched). */
  launched(instanceId: string): void {
    this.launchedIds.push(instanceId);
    this.state.save(STATE_INSTANCE_IDS, this.launchedIds.join(','));
  }

  /** Starts a chain of checkpoint snapshots (checkpoints.ts), each recorded as EC2 returns it. */
  startCheckpoints(
    target: CheckpointTarget,
    deps: Omit<CheckpointDeps, 'onCreated'>,
  ): CheckpointChain {
    this.checkpoints = new CheckpointChain(target, {
      ...deps,
      onCreated: (ids) => {
        this.checkpointsLeft = true;
        this.state.save(STATE_CHECKPOINTS, ids.join(','));
      },
    });
    this.checkpoints.start();
    return this.checkpoints;
  }

  /** The final snapshot was created: deleted at the end unless it completes. */
  snapshotStarted(snapshotId: string): void {
    this.snapshotId = snapshotId;
    this.state.save(STATE_PENDING_SNAPSHOT, snapshotId);
  }

  /** The final snapshot completed: it is the build's output, no longer the ledger's. */
  snapshotCompleted(): void {
    this.snapshotDone = true;
    this.state.save(STATE_PENDING_SNAPSHOT, '');
  }

  /** Terminates the builders launched (once); `why` is for the log. */
  async terminateBuilder(why: string): Promise<void> {
    if (this.terminated || this.launchedIds.length === 0) return;
    const ids = await terminateInstances(
      this.ec2,
      this.launchedIds,
      AbortSignal.timeout(TERMINATE_TIMEOUT_MS),
    );
    this.terminated = true;
    this.state.save(STATE_INSTANCE_IDS, '');
    this.logger.info(`Terminated builder ${this.launchedIds.join(', ')} (${why}).`);
    if (ids.length === 0) this.logger.debug('EC2 reported no instance left to terminate.');
  }

  /**
   * Terminates the builders once the snapshot started (it is a point-in-time copy from there
   * on). Failing here does not spoil the snapshot: teardown and the post step try again.
   */
  async terminateBuilderEarly(why: string): Promise<void> {
    await this.terminateBuilder(why).catch((error: unknown) =>
      this.logger.warning(
        `Could not terminate builder ${this.launchedIds.join(', ')} yet: ${errorMessage(error)}. Trying again at the end.`,
      ),
    );
  }

  /** Deletes the checkpoint snapshots left; what fails stays in state for the post step. */
  async deleteCheckpoints(when: string): Promise<void> {
    const { checkpoints } = this;
    if (!checkpoints || !this.checkpointsLeft) return;
    const failed = await checkpoints.deleteAll(AbortSignal.timeout(DELETE_CHECKPOINTS_TIMEOUT_MS));
    this.checkpointsLeft = failed.length > 0;
    this.state.save(STATE_CHECKPOINTS, failed.map((f) => f.id).join(','));
    const ids = checkpoints.report().ids;
    if (ids.length > failed.length)
      this.logger.info(`Deleted ${ids.length - failed.length} checkpoint snapshot(s) (${when}).`);
    for (const f of failed) {
      this.logger.warning(
        `Could not delete checkpoint snapshot ${f.id}: ${f.message}. The post step will try again.`,
      );
    }
  }

  /**
   * The end of every build: terminates the builder, deletes a final snapshot that did not
   * complete and the checkpoints. Each failure is a warning: the post step tries again.
   */
  async teardown(): Promise<void> {
    try {
      await this.terminateBuilder(this.snapshotDone ? 'done' : 'run did not complete');
    } catch (error) {
      this.logger.warning(
        `Could not terminate builder ${this.launchedIds.join(', ')}: ${errorMessage(error)}. The post step will try again.`,
      );
    }
    if (this.snapshotId && !this.snapshotDone) await this.deleteIncompleteSnapshot(this.snapshotId);
    if (!this.snapshotDone) {
      try {
        await this.deleteCheckpoints('the build did not complete');
      } catch (error) {
        this.logger.warning(
          `Could not delete checkpoint snapshots: ${errorMessage(error)}. The post step will try again.`,
        );
      }
    }
    // Whether anything is left (also what no ID was recorded for) is the sweep's to say.
  }

  private async deleteIncompleteSnapshot(snapshotId: string): Promise<void> {
    try {
      await deleteSnapshot(this.ec2, snapshotId, AbortSignal.timeout(DELETE_SNAPSHOT_TIMEOUT_MS));
      this.state.save(STATE_PENDING_SNAPSHOT, '');
      this.logger.info(`Deleted incomplete snapshot ${snapshotId}.`);
    } catch (error) {
      this.logger.warning(
        `Could not delete incomplete snapshot ${snapshotId}: ${errorMessage(error)}. The post step will try again.`,
      );
    }
  }
}
