/**
 * What a run is configured to do, as types: the build, its volume and credentials, the
 * manifest update. The input parsers (src/action/inputs/) produce them; every part below
 * the action reads them from here.
 */
import type { ImageReference } from './image-ref.js';

export type Platform = 'linux/amd64' | 'linux/arm64';
export const SUPPORTED_PLATFORMS: readonly Platform[] = ['linux/amd64', 'linux/arm64'];
export type Snapshotter = 'overlayfs' | 'soci';
export type SnapshotMode = 'stop' | 'live';
export type VolumeType = 'gp3' | 'gp2' | 'io1' | 'io2';

export const DEFAULT_VARIANT = 'aws-k8s-1.34';
export const DEFAULT_INSTANCE_TYPE = 'm6i.xlarge';

export interface CredentialsConfig {
  roleToAssume?: string;
  roleSessionName: string;
  roleDurationSeconds: number;
  audience: string;
}

export interface VolumeConfig {
  sizeGiB: number;
  type: VolumeType;
  iops?: number;
  throughput?: number;
  encrypted: boolean;
  kmsKeyId?: string;
}

export interface BuildConfig {
  images: ImageReference[];
  platforms: Platform[];
  region: string;
  credentials: CredentialsConfig;
  bottlerocketVariant: string;
  amiId?: string;
  /** In order of preference: later ones are tried when capacity runs out. */
  instanceTypes: string[];
  instanceProfile: { name?: string; arn?: string };
  /** In order of preference; empty means the default VPC's default subnet. */
  subnetIds: string[];
  securityGroupIds: string[];
  associatePublicIpAddress?: boolean;
  volume: VolumeConfig;
  snapshotter: Snapshotter;
  onMissingPlatform: 'fail' | 'skip';
  tags: Record<string, string>;
  timeoutMinutes: number;
  pullConcurrency: number;
  snapshotMode: SnapshotMode;
  /** Snapshot the volume repeatedly while pulling, so the final snapshot copies only the rest. */
  checkpointSnapshots: boolean;
  /** digest: reuse a completed snapshot with the same build key; never: always build. */
  reuse: 'digest' | 'never';
  /** auto: the newest compatible snapshot of the lineage; none; or a snapshot ID. */
  baseSnapshot: 'auto' | 'none' | string;
  /** Lineage: the family of snapshots this build belongs to (base and retention). */
  name?: string;
  /** Upstream registry -> ECR pull-through cache prefix: pull those images through ECR. */
  pullThroughCache: Record<string, string>;
}

export interface PullRequestConfig {
  token: string;
  /** Fixed per configuration, so reruns update the same pull request. */
  branch: string;
  base?: string;
  title?: string;
  labels: string[];
  draft: boolean;
  commitMessage?: string;
}

export interface UpdateConfig {
  patterns: string[];
  targets: string[];
  /** Largest matched file read, in bytes (input update-files-max-size, in MiB). */
  maxFileBytes: number;
  volumeInitializationRate?: number;
  pullRequest?: PullRequestConfig;
}
