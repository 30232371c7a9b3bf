/**
 * What a build is given (BuildDeps), what it gives back (BuildResult) or fails with
 * (BuildFailure), and what its phases share while it runs (BuildRun).
 */
import type { AwsClients } from '../aws/clients.js';
import type { CreateLedger } from '../aws/create-ledger.js';
import type { CallerIdentity } from '../aws/credentials.js';
import type { ResolveResult } from '../cache/registry/index.js';
import type { ImageReference } from '../config/image-ref.js';
import type { RunContext } from '../config/run-context.js';
import type { BuildConfig, Platform } from '../config/types.js';
import type { Deps } from '../core/deps.js';
import { ActionError } from '../core/errors.js';
import type { CheckpointPolicy, CheckpointReport } from './checkpoints.js';
import type { Deadline } from './deadline.js';
import type { PullRecord } from './instance-script.js';
import type { PhaseRecord, Progress } from './phases.js';
import type { BuildResources, StateStore } from './resources.js';

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

export interface BuildDeps extends Deps {
  clients: AwsClients;
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

/** The builder's data volume: what the pulls write to and the snapshot copies. */
export interface DataVolume {
  builderId: string;
  volumeId: string;
  /** The snapshots' description (checkpoints carry it too). */
  description: string;
  /** The volume came from this snapshot (incremental build). */
  baseSnapshotId?: string | undefined;
}

/** What every phase of one build shares: its inputs, its bounds, its log and its resources. */
export interface BuildRun {
  config: BuildConfig;
  /**
   * The caller's deps without their signal, which is cancellation only: every wait and
   * request of the build takes `signal` below, which also ends at timeout-minutes.
   */
  deps: Omit<BuildDeps, 'signal'>;
  bounds: PhaseBounds;
  /** When the build started, on deps.clock. */
  started: number;
  /** Cancellation and timeout-minutes: what every wait and request of the build takes. */
  signal: AbortSignal;
  deadline: Deadline;
  progress: Progress;
  resources: BuildResources;
  /** Create requests whose answer never came. */
  ledger: CreateLedger;
  /** The run's tags, on everything the build creates. */
  tags: Record<string, string>;
  /** Warnings so far, for the result. */
  warnings: string[];
  /** Logs a warning and keeps it for the result. */
  warn(message: string): void;
}

/** What a part that calls EC2 gets from the run: the client, clock, log, and the build's signal. */
export function ec2Deps(run: BuildRun) {
  const { clients, clock, logger } = run.deps;
  return { ec2: clients.ec2, clock, logger, signal: run.signal };
}

/** The same for a part that runs SSM commands (it also reads the instance from EC2). */
export function ssmDeps(run: BuildRun) {
  return { ...ec2Deps(run), ssm: run.deps.clients.ssm };
}
