/**
 * What to do with a completed snapshot (the distribution inputs), and the pure
 * checks that refuse a bad configuration before anything is built.
 */
import { InputError } from '../core/errors.js';

/** Names of the inputs this module's messages refer to. */
export const DISTRIBUTION_INPUTS = {
  fastSnapshotRestoreAzs: 'fast-snapshot-restore-azs',
  waitForFastSnapshotRestore: 'wait-for-fast-snapshot-restore',
  copyToRegions: 'copy-to-regions',
  copyKmsKeyIds: 'copy-kms-key-ids',
  shareWithAccounts: 'share-with-accounts',
  ssmParameterName: 'ssm-parameter-name',
  kmsKeyId: 'kms-key-id',
} as const;
export const INPUT = DISTRIBUTION_INPUTS;

export interface DistributionConfig {
  /** Regions to copy the snapshot into (not the source region). */
  copyToRegions: string[];
  /** region -> KMS key to encrypt that region's copy with. */
  kmsKeyIds: Record<string, string>;
  /** 12-digit account IDs to give createVolumePermission, on the source and each copy. */
  shareWithAccounts: string[];
  /** SSM parameter to write the region's snapshot ID to, in every region. */
  ssmParameterName?: string;
  /** AZs of the source region to enable fast snapshot restore in. */
  fastSnapshotRestoreAzs: string[];
  waitForFastSnapshotRestore: boolean;
}

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/;
const ACCOUNT_ID = /^\d{12}$/;
const AZ_SUFFIX = /^(?:[a-z]|-[a-z0-9-]*[a-z])$/;
const PARAMETER_CHARS = /^[a-zA-Z0-9_.\-/]+$/;
/** SSM allows 1011 characters for a parameter name (2048 for the full ARN). */
const MAX_PARAMETER_NAME = 1011;
const MAX_PARAMETER_LEVELS = 15;

/**
 * Checks an SSM parameter name as SSM would, so a bad name fails before the
 * build: letters, digits and `_.-/`; a hierarchical name starts with '/', has
 * no empty level and at most 15 levels; no name may begin with 'aws' or 'ssm'.
 */
export function validateParameterName(name: string): void {
  const fail = (why: string): never => {
    throw new InputError(INPUT.ssmParameterName, `'${name}' ${why}`);
  };
  if (name === '') fail('is empty.');
  if (name.length > MAX_PARAMETER_NAME) fail(`is longer than ${MAX_PARAMETER_NAME} characters.`);
  if (!PARAMETER_CHARS.test(name)) {
    fail('may only contain letters, digits and the characters _ . - /');
  }
  if (name.includes('/')) {
    if (!name.startsWith('/')) {
      fail(
        "contains '/' so it is a hierarchy and must start with '/', e.g. /eks/node-cache/snapshot-id.",
      );
    }
    const levels = name.slice(1).split('/');
    if (levels.some((level) => level === '')) fail("has an empty level ('//' or a trailing '/').");
    if (levels.length > MAX_PARAMETER_LEVELS) {
      fail(`has ${levels.length} levels; SSM allows at most ${MAX_PARAMETER_LEVELS}.`);
    }
  }
  const first = name.replace(/^\//, '').toLowerCase();
  if (first.startsWith('aws') || first.startsWith('ssm')) {
    fail("begins with 'aws' or 'ssm', which SSM reserves for itself; choose another name.");
  }
}

/** The region a KMS key ARN names, or undefined for key IDs and aliases. */
function kmsKeyRegion(keyId: string): string | undefined {
  const match = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(keyId);
  return match?.[1];
}

/** Checks a distribution configuration against the source region; throws InputError. */
export function validateDistributionConfig(config: DistributionConfig, sourceRegion: string): void {
  for (const region of config.copyToRegions) {
    if (!REGION.test(region)) {
      throw new InputError(
        INPUT.copyToRegions,
        `'${region}' is not an AWS region name like eu-west-1.`,
      );
    }
    if (region === sourceRegion) {
      throw new InputError(
        INPUT.copyToRegions,
        `'${region}' is the region the snapshot is built in; list only the other regions.`,
      );
    }
  }
  for (const [region, keyId] of Object.entries(config.kmsKeyIds)) {
    if (!config.copyToRegions.includes(region)) {
      throw new InputError(
        INPUT.copyKmsKeyIds,
        `names region '${region}', which is not in ${INPUT.copyToRegions} (${config.copyToRegions.join(', ') || 'empty'}).`,
      );
    }
    if (keyId.trim() === '' || /\s/.test(keyId)) {
      throw new InputError(
        INPUT.copyKmsKeyIds,
        `the key for ${region} ('${keyId}') is not a KMS key.`,
      );
    }
    const keyRegion = kmsKeyRegion(keyId);
    if (keyRegion !== undefined && keyRegion !== region) {
      throw new InputError(
        INPUT.copyKmsKeyIds,
        `the key for ${region} is in ${keyRegion} (${keyId}); a copy must be encrypted with a key of its own region.`,
      );
    }
  }
  for (const account of config.shareWithAccounts) {
    if (!ACCOUNT_ID.test(account)) {
      throw new InputError(
        INPUT.shareWithAccounts,
        `'${account}' is not a 12-digit AWS account ID.`,
      );
    }
  }
  if (config.ssmParameterName !== undefined) validateParameterName(config.ssmParameterName);
  for (const az of config.fastSnapshotRestoreAzs) {
    if (!az.startsWith(sourceRegion) || !AZ_SUFFIX.test(az.slice(sourceRegion.length))) {
      throw new InputError(
        INPUT.fastSnapshotRestoreAzs,
        `'${az}' is not an Availability Zone of ${sourceRegion} (like ${sourceRegion}a), where the snapshot is built.`,
      );
    }
  }
}
