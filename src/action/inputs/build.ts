/**
 * The build's inputs: the images, where and on what the builder runs (variant, AMI, instance
 * types, profile, network), its volume, and how it pulls and snapshots. Checked in the order
 * the inputs are read, before any AWS call.
 */
import { InputError } from '../../core/errors.js';
import { parseImageList, splitList, type ImageReference } from '../../config/image-ref.js';
import { parsePullThroughCache, PULL_THROUGH_INPUT } from '../../build/pull-through.js';
import {
  SUPPORTED_PLATFORMS,
  DEFAULT_VARIANT,
  DEFAULT_INSTANCE_TYPE,
  type Platform,
  type Snapshotter,
  type SnapshotMode,
  type BuildConfig,
} from '../../config/types.js';
import {
  listOf,
  oneOf,
  optional,
  optionalBoolean,
  optionalInteger,
  read,
  required,
  type InputReader,
} from './read.js';
import { parseAwsInputs } from './aws.js';
import { parseVolume } from './volume.js';
import { parseTags } from './tags.js';
import { SNAPSHOT_ID } from '../../aws/snapshots.js';

export interface ParsedInputs {
  config: BuildConfig;
  /** Non-fatal remarks, e.g. duplicate images dropped. */
  warnings: string[];
}

const VARIANT = /^[a-z0-9]+(?:[.-][a-z0-9]+)*$/;
const AMI_ID = /^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const PROFILE_NAME = /^[\w+=,.@-]{1,128}$/;
const PROFILE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:instance-profile\/[\w+=,.@/-]{1,128}$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
const LINEAGE = /^[\w.:/=+@-]{1,128}$/;

function parseBaseSnapshot(value: string): string {
  const lower = value.toLowerCase();
  if (lower === 'auto' || lower === 'none') return lower;
  if (SNAPSHOT_ID.test(value)) return value;
  throw new InputError(
    'base-snapshot',
    `must be auto, none or a snapshot ID (snap-...), got '${value}'.`,
  );
}

function parsePlatforms(raw: string): Platform[] {
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

/** The images to pull: valid, at least one; duplicates dropped with a warning. */
function parseImages(get: InputReader, warnings: string[]): ImageReference[] {
  const imageList = parseImageList(required(get, 'images'));
  if (imageList.errors.length > 0) {
    const detail = imageList.errors.map((e) => e.message).join('; ');
    throw new InputError('images', detail);
  }
  if (imageList.images.length === 0) throw new InputError('images', 'lists no image.');
  if (imageList.duplicates.length > 0) {
    warnings.push(`Input 'images': dropped duplicates ${imageList.duplicates.join(', ')}.`);
  }
  return imageList.images;
}

function parseVariant(get: InputReader): string {
  const variant = optional(get, 'bottlerocket-variant') ?? DEFAULT_VARIANT;
  if (!VARIANT.test(variant)) {
    throw new InputError(
      'bottlerocket-variant',
      `'${variant}' is not a Bottlerocket variant name like ${DEFAULT_VARIANT}.`,
    );
  }
  return variant;
}

function parseAmiId(get: InputReader): string | undefined {
  const amiId = optional(get, 'ami-id');
  if (amiId !== undefined && !AMI_ID.test(amiId))
    throw new InputError('ami-id', `'${amiId}' is not an AMI ID (ami-...).`);
  return amiId;
}

/** The instance types to try, in order; GPU types only for an NVIDIA variant. */
function parseInstanceTypes(get: InputReader, variant: string): string[] {
  const instanceTypes = listOf(
    get,
    'instance-type',
    INSTANCE_TYPE,
    'an EC2 instance type like m6i.xlarge',
  );
  if (instanceTypes.length === 0) instanceTypes.push(DEFAULT_INSTANCE_TYPE);
  if (/nvidia/.test(variant)) {
    const notGpu = instanceTypes.filter((t) => !/^(g|p)\d/.test(t));
    if (notGpu.length > 0) {
      throw new InputError(
        'instance-type',
        `${notGpu.join(', ')} has no NVIDIA GPU, and the ${variant} variant never becomes ready without one; use a g* or p* type.`,
      );
    }
  }
  return instanceTypes;
}

function parseInstanceProfile(get: InputReader): { name?: string; arn?: string } {
  const profile = required(get, 'instance-profile');
  if (profile.startsWith('arn:')) {
    if (!PROFILE_ARN.test(profile))
      throw new InputError('instance-profile', `'${profile}' is not an instance profile ARN.`);
    return { arn: profile };
  }
  if (!PROFILE_NAME.test(profile))
    throw new InputError('instance-profile', `'${profile}' is not an instance profile name.`);
  return { name: profile };
}

function parseName(get: InputReader): string | undefined {
  const name = optional(get, 'name');
  if (name !== undefined && !LINEAGE.test(name)) {
    throw new InputError(
      'name',
      `'${name}' must be 1-128 characters of letters, digits and _.:/=+@-.`,
    );
  }
  return name;
}

/** How the builder pulls and snapshots: everything after the network, in input order. */
function parseBuildSettings(get: InputReader) {
  return {
    platforms: parsePlatforms(read(get, 'platforms')),
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
}

/** A pull-through cache for a registry no image is on is likely a typo: said, not refused. */
function unusedCacheWarnings(config: BuildConfig): string[] {
  return Object.keys(config.pullThroughCache)
    .filter((registry) => !config.images.some((i) => i.registry === registry))
    .map((registry) => `Input '${PULL_THROUGH_INPUT}': no image in 'images' is on ${registry}.`);
}

export function parseInputs(get: InputReader): ParsedInputs {
  const warnings: string[] = [];
  const images = parseImages(get, warnings);
  const { region, credentials } = parseAwsInputs(get);
  const bottlerocketVariant = parseVariant(get);
  const amiId = parseAmiId(get);
  const instanceTypes = parseInstanceTypes(get, bottlerocketVariant);
  const instanceProfile = parseInstanceProfile(get);
  const subnetIds = listOf(get, 'subnet-id', SUBNET_ID, 'a subnet ID (subnet-...)');
  const securityGroupIds = listOf(
    get,
    'security-group-ids',
    SECURITY_GROUP_ID,
    'a security group ID (sg-...)',
  );
  const associatePublicIpAddress = optionalBoolean(get, 'associate-public-ip-address');
  const { platforms, ...settings } = parseBuildSettings(get);
  const config: BuildConfig = {
    images,
    platforms,
    region,
    credentials,
    bottlerocketVariant,
    instanceTypes,
    instanceProfile,
    subnetIds,
    securityGroupIds,
    ...settings,
  };
  const name = parseName(get);
  if (name !== undefined) config.name = name;
  if (amiId !== undefined) config.amiId = amiId;
  if (associatePublicIpAddress !== undefined)
    config.associatePublicIpAddress = associatePublicIpAddress;
  warnings.push(...unusedCacheWarnings(config));
  return { config, warnings };
}
