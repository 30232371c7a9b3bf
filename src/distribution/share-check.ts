/**
 * Can the snapshot be shared? Answered before any build: a snapshot encrypted
 * with the AWS managed key aws/ebs (explicitly, or through EBS encryption by
 * default) cannot be shared with other accounts.
 */
import {
  GetEbsDefaultKmsKeyIdCommand,
  GetEbsEncryptionByDefaultCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { ActionError, InputError } from '../core/errors.js';
import { describeAwsError } from '../aws/errors.js';
import { INPUT } from './config.js';

/** The parts of the action's configuration that decide whether sharing can work. */
export interface ShareCheckConfig {
  /** The source region. */
  region: string;
  shareWithAccounts: readonly string[];
  /** The build's volume encryption (inputs `encrypted` and `kms-key-id`). */
  volume: { encrypted: boolean; kmsKeyId?: string };
  copyToRegions?: readonly string[];
  /** region -> KMS key of that region's copy. */
  kmsKeyIds?: Readonly<Record<string, string>>;
}

/** Whether a key reference names the AWS managed EBS key, which cannot be shared. */
export function isDefaultEbsKey(keyId: string): boolean {
  return /(?:^|:)alias\/aws\/ebs$/.test(keyId.trim());
}

export const SHARE_FIX =
  'set kms-key-id to a customer managed key and grant the accounts use of it';

export function copyKeyFix(region: string): string {
  return `set a customer managed key for ${region} in ${INPUT.copyKmsKeyIds} and grant the accounts use of it`;
}

/**
 * Refuses, before anything is built, a request to share a snapshot that would
 * be encrypted with the AWS managed key aws/ebs: EBS does not allow sharing
 * those. Pure; see checkEncryptionByDefault for the account settings.
 */
export function checkShareable(config: ShareCheckConfig): void {
  if (config.shareWithAccounts.length === 0) return;
  const { volume } = config;
  if (volume.encrypted && (volume.kmsKeyId === undefined || isDefaultEbsKey(volume.kmsKeyId))) {
    throw new InputError(
      INPUT.shareWithAccounts,
      `the snapshot would be encrypted with the default EBS key (aws/ebs), and snapshots encrypted with it cannot be shared; ${SHARE_FIX}.`,
    );
  }
  for (const region of config.copyToRegions ?? []) {
    const keyId = config.kmsKeyIds?.[region];
    if (keyId !== undefined && isDefaultEbsKey(keyId)) {
      throw new InputError(
        INPUT.shareWithAccounts,
        `the copy in ${region} would be encrypted with the default EBS key (aws/ebs) and so cannot be shared; ${copyKeyFix(region)}.`,
      );
    }
  }
}

export interface EncryptionByDefault {
  region: string;
  /** EBS encryption by default is on in this region. */
  enabled: boolean;
  /** The region's default EBS key, when it was looked up. */
  defaultKmsKeyId?: string;
}

async function readDefaultKmsKey(
  ec2: EC2Client,
  region: string,
  signal: AbortSignal,
): Promise<string> {
  try {
    const out = await ec2.send(new GetEbsDefaultKmsKeyIdCommand({}), { abortSignal: signal });
    return out.KmsKeyId ?? 'alias/aws/ebs';
  } catch (error) {
    throw new ActionError(
      `Could not read the default EBS KMS key of ${region} (${describeAwsError(error)}). ` +
        `Sharing needs to know it: allow ec2:GetEbsDefaultKmsKeyId, or set a customer managed key explicitly.`,
      { cause: error },
    );
  }
}

async function readEncryptionEnabled(
  ec2: EC2Client,
  region: string,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    const out = await ec2.send(new GetEbsEncryptionByDefaultCommand({}), { abortSignal: signal });
    return out.EbsEncryptionByDefault === true;
  } catch (error) {
    throw new ActionError(
      `Could not read whether EBS encryption by default is on in ${region} (${describeAwsError(error)}). ` +
        `Sharing needs to know it: allow ec2:GetEbsEncryptionByDefault and ec2:GetEbsDefaultKmsKeyId.`,
      { cause: error },
    );
  }
}

/**
 * The account-level half of checkShareable: with EBS encryption by default on,
 * a snapshot (or a copy) without an explicit key is encrypted with the region's
 * default EBS key; when that is aws/ebs, it cannot be shared. Looks only where
 * no customer managed key is set, and only when sharing is requested. Returns
 * what it found, one entry per region it looked at.
 */
export async function checkEncryptionByDefault(
  ec2For: (region: string) => EC2Client,
  config: ShareCheckConfig,
  signal: AbortSignal,
): Promise<EncryptionByDefault[]> {
  checkShareable(config);
  if (config.shareWithAccounts.length === 0) return [];
  const found: EncryptionByDefault[] = [];

  // Source region: an explicit key (customer managed, checked above) settles it.
  let sourceEncrypted = config.volume.encrypted;
  if (config.volume.kmsKeyId === undefined) {
    const ec2 = ec2For(config.region);
    const enabled = await readEncryptionEnabled(ec2, config.region, signal);
    const state: EncryptionByDefault = { region: config.region, enabled };
    found.push(state);
    if (enabled) {
      sourceEncrypted = true;
      state.defaultKmsKeyId = await readDefaultKmsKey(ec2, config.region, signal);
      if (isDefaultEbsKey(state.defaultKmsKeyId)) {
        throw new InputError(
          INPUT.shareWithAccounts,
          `EBS encryption by default is on in ${config.region} with the default key (aws/ebs), so the snapshot would be encrypted with it and cannot be shared; ${SHARE_FIX}.`,
        );
      }
    }
  }

  // Copy regions without their own key: the copy is encrypted with that region's
  // default key if the source is encrypted or encryption by default is on there.
  const regions = (config.copyToRegions ?? []).filter((r) => config.kmsKeyIds?.[r] === undefined);
  const results = await Promise.all(
    regions.map(async (region): Promise<EncryptionByDefault> => {
      const ec2 = ec2For(region);
      const enabled = await readEncryptionEnabled(ec2, region, signal);
      const state: EncryptionByDefault = { region, enabled };
      if (enabled || sourceEncrypted) {
        state.defaultKmsKeyId = await readDefaultKmsKey(ec2, region, signal);
      }
      return state;
    }),
  );
  for (const state of results) {
    found.push(state);
    if (state.defaultKmsKeyId !== undefined && isDefaultEbsKey(state.defaultKmsKeyId)) {
      const why = sourceEncrypted
        ? 'the source snapshot is encrypted'
        : 'EBS encryption by default is on there';
      throw new InputError(
        INPUT.shareWithAccounts,
        `the copy in ${state.region} would be encrypted with that region's default key (aws/ebs) because ${why}, and it could not be shared; ${copyKeyFix(state.region)}.`,
      );
    }
  }
  return found;
}
