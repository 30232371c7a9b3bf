/**
 * Turns the action's raw string inputs into a typed, validated configuration.
 * Every problem names the input and the offending value, and is found before
 * any AWS call is made.
 */
import { createHash } from 'node:crypto';
import { InputError, InputErrors } from '../core/errors.js';
import {
  checkShareable,
  validateDistributionConfig,
  validateParameterName,
  type DistributionConfig,
} from '../distribution/index.js';
import { parseImageList, splitList } from '../config/image-ref.js';
import { checkPatterns, DEFAULT_MAX_FILE_MIB } from '../cluster-update/manifests/files.js';
import { parsePullThroughCache, PULL_THROUGH_INPUT } from '../build/pull-through.js';
import { RESERVED_TAG_PREFIX } from '../aws/tags.js';
import {
  SUPPORTED_PLATFORMS,
  DEFAULT_VARIANT,
  DEFAULT_INSTANCE_TYPE,
  type Platform,
  type Snapshotter,
  type SnapshotMode,
  type VolumeType,
  type CredentialsConfig,
  type VolumeConfig,
  type BuildConfig,
  type PullRequestConfig,
  type UpdateConfig,
} from '../config/types.js';

/** Reads one raw input by name; '' when unset (as `core.getInput` does). */
export type InputReader = (name: string) => string;

export interface ParsedInputs {
  config: BuildConfig;
  /** Non-fatal remarks, e.g. duplicate images dropped. */
  warnings: string[];
}

const TRUE_VALUES = new Set(['true', 'yes', 'on', '1']);
const FALSE_VALUES = new Set(['false', 'no', 'off', '0']);

function read(get: InputReader, name: string): string {
  return get(name).trim();
}

function optional(get: InputReader, name: string): string | undefined {
  const value = read(get, name);
  return value === '' ? undefined : value;
}

function required(get: InputReader, name: string): string {
  const value = read(get, name);
  if (value === '') throw new InputError(name, 'is required.');
  return value;
}

export function parseBoolean(name: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (TRUE_VALUES.has(value)) return true;
  if (FALSE_VALUES.has(value)) return false;
  throw new InputError(name, `expected true or false, got '${raw}'.`);
}

function optionalBoolean(get: InputReader, name: string): boolean | undefined {
  const value = optional(get, name);
  return value === undefined ? undefined : parseBoolean(name, value);
}

export function parseInteger(name: string, raw: string, min: number, max: number): number {
  const value = raw.trim();
  if (!/^\d+$/.test(value)) throw new InputError(name, `expected a whole number, got '${raw}'.`);
  const n = Number(value);
  if (n < min || n > max) {
    throw new InputError(name, `must be between ${min} and ${max}, got ${n}.`);
  }
  return n;
}

function optionalInteger(
  get: InputReader,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = optional(get, name);
  return value === undefined ? undefined : parseInteger(name, value, min, max);
}

function oneOf<T extends string>(
  get: InputReader,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = optional(get, name)?.toLowerCase() ?? fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new InputError(name, `must be one of ${allowed.join(', ')}, got '${value}'.`);
  }
  return value as T;
}

function listOf(get: InputReader, name: string, pattern: RegExp, what: string): string[] {
  const items = splitList(get(name));
  for (const item of items) {
    if (!pattern.test(item)) throw new InputError(name, `'${item}' is not ${what}.`);
  }
  return [...new Set(items)];
}

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const VARIANT = /^[a-z0-9]+(?:[.-][a-z0-9]+)*$/;
const AMI_ID = /^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const PROFILE_NAME = /^[\w+=,.@-]{1,128}$/;
const PROFILE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:instance-profile\/[\w+=,.@/-]{1,128}$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
const KMS_KEY =
  /^(?:arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key|alias)\/[\w/-]+|alias\/[\w/-]+|[0-9a-f-]{36}|mrk-[0-9a-f]{32})$/;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+@-]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+@-]{0,256}$/u;

const LINEAGE = /^[\w.:/=+@-]{1,128}$/;

function parseBaseSnapshot(value: string): string {
  const lower = value.toLowerCase();
  if (lower === 'auto' || lower === 'none') return lower;
  if (/^snap-[0-9a-f]{8}(?:[0-9a-f]{9})?$/.test(value)) return value;
  throw new InputError(
    'base-snapshot',
    `must be auto, none or a snapshot ID (snap-...), got '${value}'.`,
  );
}

/**
 * EC2 allows 50 tags per resource. The action's own take up to 15 on a snapshot (Name, run,
 * repository, invocation, role, images, digests, variant, platforms, snapshotter, lineage,
 * encryption, build key, base, state) and a copy adds its source: 34 are left.
 */
export const MAX_USER_TAGS = 34;

export function parseTags(raw: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const line of splitList(raw)) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new InputError('tags', `'${line}' is not key=value.`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (!TAG_KEY.test(key)) {
      throw new InputError(
        'tags',
        `key '${key}' is not a valid EC2 tag key (1-128 letters, digits, spaces and _.:/=+-@).`,
      );
    }
    if (key.toLowerCase().startsWith('aws:')) {
      throw new InputError('tags', `key '${key}' uses the reserved prefix 'aws:'.`);
    }
    if (key.startsWith(RESERVED_TAG_PREFIX)) {
      throw new InputError(
        'tags',
        `key '${key}' uses the prefix '${RESERVED_TAG_PREFIX}' that the action sets itself.`,
      );
    }
    if (!TAG_VALUE.test(value)) {
      throw new InputError(
        'tags',
        `value of '${key}' is not a valid EC2 tag value (0-256 letters, digits, spaces and _.:/=+-@).`,
      );
    }
    tags[key] = value;
  }
  if (Object.keys(tags).length > MAX_USER_TAGS) {
    throw new InputError(
      'tags',
      `at most ${MAX_USER_TAGS} tags are allowed (EC2's limit is 50 and the action sets some).`,
    );
  }
  return tags;
}

export function parsePlatforms(raw: string): Platform[] {
  const items = splitList(raw === '' ? 'linux/amd64' : raw).map((p) => p.toLowerCase());
  const platforms: Platform[] = [];
  for (const item of items) {
    const normalized = item === 'amd64' || item === 'arm64' ? `linux/${item}` : item;
    if (!(SUPPORTED_PLATFORMS as readonly string[]).includes(normalized)) {
      throw new InputError(
        'platforms',
        `'${item}' is not supported; use ${SUPPORTED_PLATFORMS.join(' or ')}.`,
      );
    }
    if (!platforms.includes(normalized as Platform)) platforms.push(normalized as Platform);
  }
  if (platforms.length === 0) throw new InputError('platforms', 'lists no platform.');
  return platforms;
}

function parseVolume(get: InputReader): VolumeConfig {
  const sizeGiB = optionalInteger(get, 'volume-size', 20, 16384) ?? 50;
  const type = oneOf<VolumeType>(get, 'volume-type', ['gp3', 'gp2', 'io1', 'io2'], 'gp3');
  let iops = optionalInteger(get, 'volume-iops', 100, 256000);
  let throughput = optionalInteger(get, 'volume-throughput', 125, 2000);
  const kmsKeyId = optional(get, 'kms-key-id');
  const encryptedInput = optionalBoolean(get, 'encrypted');

  if (type === 'gp3') {
    // Fast defaults: pulls write many small files, and the builder only lives for minutes.
    iops ??= Math.min(10000, sizeGiB * 500);
    throughput ??= Math.min(1000, Math.floor(iops / 4));
    if (iops < 3000 || iops > Math.min(80000, sizeGiB * 500)) {
      throw new InputError(
        'volume-iops',
        `gp3 takes 3000 to ${Math.min(80000, sizeGiB * 500)} IOPS for a ${sizeGiB} GiB volume (500 per GiB), got ${iops}.`,
      );
    }
    if (throughput > iops / 4) {
      throw new InputError(
        'volume-throughput',
        `gp3 allows at most 0.25 MiB/s per provisioned IOPS (${Math.floor(iops / 4)} MiB/s for ${iops} IOPS), got ${throughput}.`,
      );
    }
  } else if (type === 'gp2') {
    if (iops !== undefined)
      throw new InputError(
        'volume-iops',
        'gp2 volumes do not take provisioned IOPS; remove it or use gp3.',
      );
    if (throughput !== undefined)
      throw new InputError('volume-throughput', 'only gp3 volumes take a throughput setting.');
  } else {
    if (iops === undefined)
      throw new InputError('volume-iops', `${type} volumes need provisioned IOPS.`);
    if (throughput !== undefined)
      throw new InputError('volume-throughput', 'only gp3 volumes take a throughput setting.');
  }

  if (kmsKeyId !== undefined && !KMS_KEY.test(kmsKeyId)) {
    throw new InputError(
      'kms-key-id',
      `'${kmsKeyId}' is not a KMS key ID, key ARN, alias or alias ARN.`,
    );
  }
  if (kmsKeyId !== undefined && encryptedInput === false) {
    throw new InputError('encrypted', "is false but 'kms-key-id' is set; drop one of them.");
  }
  const volume: VolumeConfig = {
    sizeGiB,
    type,
    encrypted: encryptedInput ?? kmsKeyId !== undefined,
  };
  if (iops !== undefined) volume.iops = iops;
  if (throughput !== undefined) volume.throughput = throughput;
  if (kmsKeyId !== undefined) volume.kmsKeyId = kmsKeyId;
  return volume;
}

export interface AwsInputs {
  region: string;
  credentials: CredentialsConfig;
}

/** The inputs every mode needs: where, and as whom. */
export function parseAwsInputs(get: InputReader): AwsInputs {
  const region = required(get, 'aws-region');
  if (!REGION.test(region))
    throw new InputError('aws-region', `'${region}' is not an AWS region name like us-west-2.`);

  const roleToAssume = optional(get, 'role-to-assume');
  if (roleToAssume !== undefined && !ROLE_ARN.test(roleToAssume)) {
    throw new InputError(
      'role-to-assume',
      `'${roleToAssume}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>).`,
    );
  }
  const roleSessionName = optional(get, 'role-session-name') ?? 'bottlerocket-ebs-snapshot';
  if (!SESSION_NAME.test(roleSessionName)) {
    throw new InputError(
      'role-session-name',
      `'${roleSessionName}' must be 2-64 characters of letters, digits and +=,.@_-.`,
    );
  }
  const roleDurationSeconds = optionalInteger(get, 'role-duration-seconds', 900, 43200) ?? 3600;
  const audience = optional(get, 'audience') ?? 'sts.amazonaws.com';
  const credentials: CredentialsConfig = { roleSessionName, roleDurationSeconds, audience };
  if (roleToAssume !== undefined) credentials.roleToAssume = roleToAssume;
  return { region, credentials };
}

export function parseInputs(get: InputReader): ParsedInputs {
  const warnings: string[] = [];

  const imageList = parseImageList(required(get, 'images'));
  if (imageList.errors.length > 0) {
    const detail = imageList.errors.map((e) => e.message).join('; ');
    throw new InputError('images', detail);
  }
  if (imageList.images.length === 0) throw new InputError('images', 'lists no image.');
  if (imageList.duplicates.length > 0) {
    warnings.push(`Input 'images': dropped duplicates ${imageList.duplicates.join(', ')}.`);
  }

  const { region, credentials } = parseAwsInputs(get);

  const bottlerocketVariant = optional(get, 'bottlerocket-variant') ?? DEFAULT_VARIANT;
  if (!VARIANT.test(bottlerocketVariant)) {
    throw new InputError(
      'bottlerocket-variant',
      `'${bottlerocketVariant}' is not a Bottlerocket variant name like ${DEFAULT_VARIANT}.`,
    );
  }
  const amiId = optional(get, 'ami-id');
  if (amiId !== undefined && !AMI_ID.test(amiId))
    throw new InputError('ami-id', `'${amiId}' is not an AMI ID (ami-...).`);

  const instanceTypes = listOf(
    get,
    'instance-type',
    INSTANCE_TYPE,
    'an EC2 instance type like m6i.xlarge',
  );
  if (instanceTypes.length === 0) instanceTypes.push(DEFAULT_INSTANCE_TYPE);
  if (/nvidia/.test(bottlerocketVariant)) {
    const notGpu = instanceTypes.filter((t) => !/^(g|p)\d/.test(t));
    if (notGpu.length > 0) {
      throw new InputError(
        'instance-type',
        `${notGpu.join(', ')} has no NVIDIA GPU, and the ${bottlerocketVariant} variant never becomes ready without one; use a g* or p* type.`,
      );
    }
  }

  const profile = required(get, 'instance-profile');
  let instanceProfile: { name?: string; arn?: string };
  if (profile.startsWith('arn:')) {
    if (!PROFILE_ARN.test(profile))
      throw new InputError('instance-profile', `'${profile}' is not an instance profile ARN.`);
    instanceProfile = { arn: profile };
  } else {
    if (!PROFILE_NAME.test(profile))
      throw new InputError('instance-profile', `'${profile}' is not an instance profile name.`);
    instanceProfile = { name: profile };
  }

  const subnetIds = listOf(get, 'subnet-id', SUBNET_ID, 'a subnet ID (subnet-...)');
  const securityGroupIds = listOf(
    get,
    'security-group-ids',
    SECURITY_GROUP_ID,
    'a security group ID (sg-...)',
  );
  const associatePublicIpAddress = optionalBoolean(get, 'associate-public-ip-address');

  const config: BuildConfig = {
    images: imageList.images,
    platforms: parsePlatforms(read(get, 'platforms')),
    region,
    credentials,
    bottlerocketVariant,
    instanceTypes,
    instanceProfile,
    subnetIds,
    securityGroupIds,
    volume: parseVolume(get),
    snapshotter: oneOf<Snapshotter>(get, 'snapshotter', ['overlayfs', 'soci'], 'overlayfs'),
    onMissingPlatform: oneOf(get, 'on-missing-platform', ['fail', 'skip'] as const, 'fail'),
    tags: parseTags(get('tags')),
    timeoutMinutes: optionalInteger(get, 'timeout-minutes', 5, 360) ?? 45,
    pullConcurrency: optionalInteger(get, 'pull-concurrency', 1, 32) ?? 4,
    snapshotMode: oneOf<SnapshotMode>(get, 'snapshot-mode', ['stop', 'live'], 'stop'),
    pullThroughCache: parsePullThroughCache(get(PULL_THROUGH_INPUT)),
    checkpointSnapshots: optionalBoolean(get, 'checkpoint-snapshots') ?? true,
    reuse: oneOf(get, 'reuse', ['digest', 'never'] as const, 'digest'),
    baseSnapshot: parseBaseSnapshot(optional(get, 'base-snapshot') ?? 'auto'),
  };
  const name = optional(get, 'name');
  if (name !== undefined) {
    if (!LINEAGE.test(name)) {
      throw new InputError(
        'name',
        `'${name}' must be 1-128 characters of letters, digits and _.:/=+@-.`,
      );
    }
    config.name = name;
  }
  if (amiId !== undefined) config.amiId = amiId;
  if (associatePublicIpAddress !== undefined)
    config.associatePublicIpAddress = associatePublicIpAddress;
  for (const registry of Object.keys(config.pullThroughCache)) {
    if (!config.images.some((i) => i.registry === registry)) {
      warnings.push(`Input '${PULL_THROUGH_INPUT}': no image in 'images' is on ${registry}.`);
    }
  }
  return { config, warnings };
}

const SNAPSHOT_ID = /^snap-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;

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

const JANITOR_INPUT = 'cleanup-older-than';
/** A run may last timeout-minutes (at most 6 h) after its builder starts: younger is a live run's. */
const MIN_JANITOR_AGE_MS = 60 * 60_000;

function parseAge(text: string): number {
  const match = /^(\d+)\s*(m|h|d)$/.exec(text.trim());
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 };
  if (!match) throw new InputError(JANITOR_INPUT, `'${text}' is not an age like 90m, 6h or 2d.`);
  const ms = Number(match[1]) * unit[match[2] as keyof typeof unit];
  if (ms < MIN_JANITOR_AGE_MS) {
    throw new InputError(
      JANITOR_INPUT,
      `'${text}' is under an hour: a running build's builder may be that old. Use more than your longest timeout-minutes.`,
    );
  }
  return ms;
}

/** Janitor mode: cleanup-older-than alone, with the AWS inputs and copy-to-regions. */
function parseJanitorInputs(get: InputReader, age: string): ActionConfig {
  for (const name of ['images', 'snapshot-id', 'update-files']) {
    if (read(get, name) !== '') {
      throw new InputError(
        JANITOR_INPUT,
        `runs on its own, to clean up after dead runs: remove '${name}' (use another step to build).`,
      );
    }
  }
  const aws = parseAwsInputs(get);
  const copies = splitList(get('copy-to-regions'));
  for (const region of copies) {
    if (!REGION.test(region))
      throw new InputError('copy-to-regions', `'${region}' is not an AWS region name.`);
  }
  return {
    aws,
    distribution: {
      copyToRegions: [],
      kmsKeyIds: {},
      shareWithAccounts: [],
      fastSnapshotRestoreAzs: [],
      waitForFastSnapshotRestore: false,
    },
    janitor: { olderThanMs: parseAge(age), regions: [...new Set([aws.region, ...copies])] },
  };
}

/** Git's ref name rules (git check-ref-format), as far as a branch name given as input needs them. */
function isBranchName(name: string): boolean {
  if (name.length === 0 || name.length > 200) return false;
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.') || name.endsWith('.lock'))
    return false;
  if (name.includes('..') || name.includes('//') || name.includes('/.') || name.includes('@{'))
    return false;
  return ![...name].some((c) => c <= ' ' || c === '\x7f' || '~^:?*[\\'.includes(c));
}

function defaultBranch(patterns: string[], targets: string[]): string {
  const key = createHash('sha256')
    .update(JSON.stringify([patterns, targets]))
    .digest('hex')
    .slice(0, 8);
  return `bottlerocket-ebs-snapshot/update-${key}`;
}

export function parseUpdateInputs(get: InputReader): UpdateConfig | undefined {
  const lines = get('update-files')
    .split(/\r?\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '' && !p.startsWith('#'));
  // Absolute paths and '..' are refused here, before any AWS call.
  const patterns = lines.length > 0 ? checkPatterns(lines) : [];
  const createPullRequest = parseBoolean(
    'create-pull-request',
    read(get, 'create-pull-request') || 'false',
  );
  if (patterns.length === 0) {
    if (createPullRequest) {
      throw new InputError(
        'create-pull-request',
        "is true but 'update-files' lists no file to update.",
      );
    }
    for (const name of ['update-targets', 'volume-initialization-rate']) {
      if (optional(get, name) !== undefined)
        throw new InputError(name, "needs 'update-files' too.");
    }
    return undefined;
  }
  const targets = splitList(get('update-targets'));
  const maxMiB = optionalInteger(get, 'update-files-max-size', 1, 256) ?? DEFAULT_MAX_FILE_MIB;
  const update: UpdateConfig = { patterns, targets, maxFileBytes: maxMiB * 1024 * 1024 };
  const rate = optionalInteger(get, 'volume-initialization-rate', 100, 300);
  if (rate !== undefined) update.volumeInitializationRate = rate;
  if (createPullRequest) {
    const token = required(get, 'github-token');
    const branch = optional(get, 'pull-request-branch') ?? defaultBranch(patterns, targets);
    if (!isBranchName(branch))
      throw new InputError('pull-request-branch', `'${branch}' is not a valid branch name.`);
    const base = optional(get, 'pull-request-base');
    if (base !== undefined && !isBranchName(base))
      throw new InputError('pull-request-base', `'${base}' is not a valid branch name.`);
    const pr: PullRequestConfig = {
      token,
      branch,
      labels: splitList(get('pull-request-labels')),
      draft: parseBoolean('pull-request-draft', read(get, 'pull-request-draft') || 'false'),
    };
    if (base !== undefined) pr.base = base;
    const title = optional(get, 'pull-request-title');
    if (title !== undefined) pr.title = title;
    const commitMessage = optional(get, 'commit-message');
    if (commitMessage !== undefined) pr.commitMessage = commitMessage;
    update.pullRequest = pr;
  }
  return update;
}

const ACCOUNT_ID = /^\d{12}$/;
const AZ = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+[a-z]$|^[a-z]{3}\d+-az\d+$/;

export function parseDistributionInputs(get: InputReader, region: string): DistributionInputs {
  const kmsKeyIds: Record<string, string> = {};
  for (const line of splitList(get('copy-kms-key-ids'))) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new InputError('copy-kms-key-ids', `'${line}' is not region=key.`);
    kmsKeyIds[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  const config: DistributionInputs = {
    copyToRegions: splitList(get('copy-to-regions')),
    kmsKeyIds,
    shareWithAccounts: listOf(get, 'share-with-accounts', ACCOUNT_ID, 'a 12-digit AWS account ID'),
    fastSnapshotRestoreAzs: listOf(
      get,
      'fast-snapshot-restore-azs',
      AZ,
      'an availability zone name like us-west-2a',
    ),
    waitForFastSnapshotRestore: parseBoolean(
      'wait-for-fast-snapshot-restore',
      read(get, 'wait-for-fast-snapshot-restore') || 'false',
    ),
  };
  const parameter = optional(get, 'ssm-parameter-name');
  if (parameter !== undefined) {
    validateParameterName(parameter);
    config.ssmParameterName = parameter;
  }
  const keep = optionalInteger(get, 'keep-snapshots', 1, 1000);
  if (keep !== undefined) config.keepSnapshots = keep;
  validateDistributionConfig(config, region);
  return config;
}

export function parseActionInputs(get: InputReader): { config: ActionConfig; warnings: string[] } {
  const age = optional(get, JANITOR_INPUT);
  if (age !== undefined) return { config: parseJanitorInputs(get, age), warnings: [] };
  const snapshotId = optional(get, 'snapshot-id');
  const update = parseUpdateInputs(get);
  if (snapshotId !== undefined) {
    if (!SNAPSHOT_ID.test(snapshotId))
      throw new InputError('snapshot-id', `'${snapshotId}' is not a snapshot ID (snap-...).`);
    if (read(get, 'images') !== '') {
      throw new InputError(
        'snapshot-id',
        "is set together with 'images': give images to build a snapshot, or snapshot-id to use an existing one.",
      );
    }
    const aws = parseAwsInputs(get);
    const distribution = parseDistributionInputs(get, aws.region);
    const distributes =
      distribution.copyToRegions.length +
        distribution.shareWithAccounts.length +
        distribution.fastSnapshotRestoreAzs.length >
        0 || distribution.ssmParameterName !== undefined;
    if (!update && !distributes) {
      throw new InputError(
        'snapshot-id',
        "is set, but neither 'update-files' nor a distribution input is: there is nothing to do with the snapshot.",
      );
    }
    if (distribution.keepSnapshots !== undefined) {
      throw new InputError(
        'keep-snapshots',
        "applies to builds; it cannot be used with 'snapshot-id'.",
      );
    }
    const promotion: ActionConfig = { aws, distribution, snapshotId };
    if (update) promotion.update = update;
    return { config: promotion, warnings: [] };
  }
  const { config: build, warnings } = parseInputs(get);
  const distribution = parseDistributionInputs(get, build.region);
  // A snapshot encrypted with the default EBS key cannot be shared: refuse before building it.
  checkShareable({
    region: build.region,
    shareWithAccounts: distribution.shareWithAccounts,
    volume: build.volume,
  });
  const config: ActionConfig = {
    aws: { region: build.region, credentials: build.credentials },
    distribution,
    build,
  };
  if (update) config.update = update;
  return { config, warnings };
}

/**
 * Values that stand in for a bad input while the rest are checked: one that keeps the run's mode
 * (build, promotion, janitor) and satisfies what is required. Any other bad input stands in as
 * unset (its default).
 */
const STAND_INS: Readonly<Record<string, string>> = {
  images: 'public.ecr.aws/bottlerocket-ebs-snapshot/stand-in:1',
  'aws-region': 'us-east-1',
  'instance-profile': 'stand-in',
  'snapshot-id': 'snap-00000000',
  [JANITOR_INPUT]: '2h',
};

/**
 * parseActionInputs, reporting every bad input at once: each time an input is refused it is
 * replaced by a stand-in and the inputs are read again, until they pass or the same input is
 * refused twice (its error depends on another one's). One bad input is reported as it was;
 * several as InputErrors. Reading inputs is pure, so the rounds cost nothing.
 */
export function parseAllActionInputs(get: InputReader): ReturnType<typeof parseActionInputs> {
  const refused: InputError[] = [];
  const standIns = new Map<string, string>();
  const reader: InputReader = (name) => standIns.get(name) ?? get(name);
  // Bounded by the number of inputs (each is refused at most once); action.yml has about 50.
  for (let round = 0; round < 100; round++) {
    try {
      const parsed = parseActionInputs(reader);
      if (refused.length === 0) return parsed;
      break;
    } catch (error) {
      if (!(error instanceof InputError) || standIns.has(error.input)) {
        if (refused.length === 0) throw error;
        break;
      }
      refused.push(error);
      standIns.set(error.input, STAND_INS[error.input] ?? '');
    }
  }
  if (refused.length === 1 && refused[0]) throw refused[0];
  throw new InputErrors(refused);
}
