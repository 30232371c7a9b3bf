/**
 * One distribution in progress: its snapshot, configuration, clients and shared deadline (the
 * `Run` every step is given), the deps it is called with, and the result it returns.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Deps } from '../core/deps.js';
import type { DistributionConfig } from './config.js';

export interface DistributionResult {
  /** region -> snapshot ID, the source region included. */
  snapshotIds: Record<string, string>;
  /** Accounts the snapshot (and each copy) was shared with. */
  shared: string[];
  parameters: Array<{ region: string; name: string; version?: number }>;
  fastSnapshotRestore: Array<{ az: string; state: string }>;
}

export interface DistributionDeps extends Deps {
  ec2For: (region: string) => EC2Client;
  ssmFor: (region: string) => SSMClient;
  /** Bound on all waits together: source completion, copies, fast snapshot restore. */
  timeoutMs: number;
}

/** Context shared by the steps of one distribution. */
export interface Run {
  snapshotId: string;
  sourceRegion: string;
  config: DistributionConfig;
  deps: DistributionDeps;
  deadline: number;
  repository: string | undefined;
}

export function remaining(run: Run): number {
  return Math.max(0, run.deadline - run.deps.clock.now());
}
