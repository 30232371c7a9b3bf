/**
 * What the input parsers hand the action's steps: the mode (build, promotion, janitor) with the
 * AWS, distribution and cluster-update settings it takes. The build's own types are in
 * src/config/types.ts.
 */
import type { DistributionConfig } from '../../distribution/index.js';
import type { BuildConfig, CredentialsConfig, UpdateConfig } from '../../config/types.js';

export interface AwsInputs {
  region: string;
  credentials: CredentialsConfig;
}

export interface DistributionInputs extends DistributionConfig {
  /** Keep this many snapshots of the lineage (newest first), delete older ones. */
  keepSnapshots?: number;
}

export interface ActionConfig {
  aws: AwsInputs;
  distribution: DistributionInputs;
  /** Build a snapshot (absent when an existing one is promoted). */
  build?: BuildConfig;
  /** Promote this existing snapshot instead of building one. */
  snapshotId?: string;
  /** Rewrite manifests (and maybe open a pull request) to use the snapshot. */
  update?: UpdateConfig;
  /** Janitor mode (cleanup-older-than): remove what dead runs left, nothing else. */
  janitor?: JanitorConfig;
}

export interface JanitorConfig {
  olderThanMs: number;
  /** aws-region first, then copy-to-regions. */
  regions: string[];
}

export interface ParsedActionInputs {
  config: ActionConfig;
  /** Non-fatal remarks, e.g. duplicate images dropped. */
  warnings: string[];
}
