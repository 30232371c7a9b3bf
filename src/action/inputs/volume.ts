/**
 * The builder's data volume from the inputs: size, type, IOPS and throughput (with fast gp3
 * defaults), and encryption. The limits are EBS's (docs.aws.amazon.com/ebs/latest/userguide/
 * ebs-volume-types.html).
 */
import { InputError } from '../../core/errors.js';
import type { VolumeConfig, VolumeType } from '../../config/types.js';
import { oneOf, optional, optionalBoolean, optionalInteger, type InputReader } from './read.js';

const KMS_KEY =
  /^(?:arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key|alias)\/[\w/-]+|alias\/[\w/-]+|[0-9a-f-]{36}|mrk-[0-9a-f]{32})$/;

interface Performance {
  iops: number | undefined;
  throughput: number | undefined;
}

/** gp3: fast defaults, within 500 IOPS per GiB and 0.25 MiB/s per IOPS. */
function gp3Performance(sizeGiB: number, given: Performance): Performance {
  // Fast defaults: pulls write many small files, and the builder only lives for minutes.
  const iops = given.iops ?? Math.min(10000, sizeGiB * 500);
  const throughput = given.throughput ?? Math.min(1000, Math.floor(iops / 4));
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
  return { iops, throughput };
}

/** The IOPS and throughput a volume type takes (gp3 defaults filled in). */
function performance(type: VolumeType, sizeGiB: number, given: Performance): Performance {
  if (type === 'gp3') return gp3Performance(sizeGiB, given);
  if (type === 'gp2') {
    if (given.iops !== undefined)
      throw new InputError(
        'volume-iops',
        'gp2 volumes do not take provisioned IOPS; remove it or use gp3.',
      );
  } else if (given.iops === undefined) {
    throw new InputError('volume-iops', `${type} volumes need provisioned IOPS.`);
  }
  if (given.throughput !== undefined)
    throw new InputError('volume-throughput', 'only gp3 volumes take a throughput setting.');
  return given;
}

function checkEncryption(kmsKeyId: string | undefined, encrypted: boolean | undefined): void {
  if (kmsKeyId !== undefined && !KMS_KEY.test(kmsKeyId)) {
    throw new InputError(
      'kms-key-id',
      `'${kmsKeyId}' is not a KMS key ID, key ARN, alias or alias ARN.`,
    );
  }
  if (kmsKeyId !== undefined && encrypted === false) {
    throw new InputError('encrypted', "is false but 'kms-key-id' is set; drop one of them.");
  }
}

export function parseVolume(get: InputReader): VolumeConfig {
  const sizeGiB = optionalInteger(get, 'volume-size', 20, 16384) ?? 50;
  const type = oneOf<VolumeType>(get, 'volume-type', ['gp3', 'gp2', 'io1', 'io2'], 'gp3');
  const given: Performance = {
    iops: optionalInteger(get, 'volume-iops', 100, 256000),
    throughput: optionalInteger(get, 'volume-throughput', 125, 2000),
  };
  const kmsKeyId = optional(get, 'kms-key-id');
  const encryptedInput = optionalBoolean(get, 'encrypted');
  const { iops, throughput } = performance(type, sizeGiB, given);
  checkEncryption(kmsKeyId, encryptedInput);
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
