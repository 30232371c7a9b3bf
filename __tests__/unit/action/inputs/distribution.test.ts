// src/action/inputs/distribution.ts: copies, sharing, parameter, fast restore and retention.
import { describe, expect, it } from '@jest/globals';
import { parseDistributionInputs } from '../../../../src/action/inputs/distribution.js';
import { readerOf, refusalOf } from '../../../../test-support/action-inputs.js';

function parse(inputs: Record<string, string>) {
  return parseDistributionInputs(readerOf(inputs), 'us-west-2');
}

describe('parseDistributionInputs', () => {
  it('reads copies, sharing, parameter, fast restore and retention', () => {
    const distribution = parse({
      'copy-to-regions': 'eu-west-1, us-east-1',
      'copy-kms-key-ids': 'eu-west-1=alias/ebs-eu',
      'share-with-accounts': '210987654321',
      'ssm-parameter-name': '/eks/node-cache/snapshot-id',
      'fast-snapshot-restore-azs': 'us-west-2a,us-west-2b',
      'wait-for-fast-snapshot-restore': 'true',
      'keep-snapshots': '3',
      'kms-key-id': 'alias/ebs-shared',
    });
    expect(distribution).toEqual({
      copyToRegions: ['eu-west-1', 'us-east-1'],
      kmsKeyIds: { 'eu-west-1': 'alias/ebs-eu' },
      shareWithAccounts: ['210987654321'],
      ssmParameterName: '/eks/node-cache/snapshot-id',
      fastSnapshotRestoreAzs: ['us-west-2a', 'us-west-2b'],
      waitForFastSnapshotRestore: true,
      keepSnapshots: 3,
    });
  });

  it.each([
    [{ 'share-with-accounts': '1234' }, 'share-with-accounts', 'not a 12-digit AWS account ID'],
    [{ 'copy-to-regions': 'us-west-2' }, 'copy-to-regions', 'the region the snapshot is built in'],
    [{ 'copy-kms-key-ids': 'eu-west-1' }, 'copy-kms-key-ids', 'is not region=key'],
    [
      { 'fast-snapshot-restore-azs': 'us-west-2' },
      'fast-snapshot-restore-azs',
      'availability zone',
    ],
    [{ 'keep-snapshots': '0' }, 'keep-snapshots', 'between 1 and 1000'],
  ])('refuses %j naming the input', (inputs, input, text) => {
    const error = refusalOf(() => parse(inputs));
    expect(error.input).toBe(input);
    expect(error.message).toContain(text);
  });
});
