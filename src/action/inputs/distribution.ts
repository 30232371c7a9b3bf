/**
 * The distribution's inputs: copies to other regions (with their KMS keys), sharing, the SSM
 * parameter, fast snapshot restore, and how many snapshots of the lineage to keep. The
 * distribution part validates what depends on the region (validateDistributionConfig).
 */
import { InputError } from '../../core/errors.js';
import { splitList } from '../../config/image-ref.js';
import { validateDistributionConfig, validateParameterName } from '../../distribution/index.js';
import { listOf, optional, optionalInteger, parseBoolean, read, type InputReader } from './read.js';
import type { DistributionConfig } from '../../distribution/index.js';
import type { DistributionInputs } from './types.js';

const ACCOUNT_ID = /^\d{12}$/;
const AZ = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+[a-z]$|^[a-z]{3}\d+-az\d+$/;

function parseKmsKeyIds(get: InputReader): Record<string, string> {
  const kmsKeyIds: Record<string, string> = {};
  for (const line of splitList(get('copy-kms-key-ids'))) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new InputError('copy-kms-key-ids', `'${line}' is not region=key.`);
    kmsKeyIds[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return kmsKeyIds;
}

export function parseDistributionInputs(get: InputReader, region: string): DistributionInputs {
  const kmsKeyIds = parseKmsKeyIds(get);
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

/** Whether the inputs ask for any distribution at all (retention aside). */
export function distributes(distribution: DistributionConfig): boolean {
  return (
    distribution.copyToRegions.length +
      distribution.shareWithAccounts.length +
      distribution.fastSnapshotRestoreAzs.length >
      0 || distribution.ssmParameterName !== undefined
  );
}
