/** src/distribution/share.ts: sharing the snapshot and each copy with other accounts. */
import { afterEach, describe, expect, it } from '@jest/globals';
import { ModifySnapshotAttributeCommand } from '@aws-sdk/client-ec2';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import {
  ACCOUNT,
  CMK,
  config,
  deps,
  PARAM,
  restoreWorld,
  setup,
  SNAP,
  SRC,
  stub,
} from '../../../test-support/distribution.js';
import { distributeSnapshot } from '../../../src/distribution/index.js';
import { ActionError } from '../../../src/core/errors.js';
import { rejectionOf } from '../../../test-support/rejection.js';

afterEach(restoreWorld);

describe('distributeSnapshot: sharing', () => {
  it('explains why a snapshot encrypted with the default key cannot be shared', async () => {
    const w = setup({
      source: { Encrypted: true, KmsKeyId: 'arn:aws:kms:us-west-2:123456789012:key/default' },
    });
    stub(w.ec2[SRC])
      .on(ModifySnapshotAttributeCommand)
      .rejects(
        Object.assign(new Error('Encrypted snapshots with EBS default key cannot be shared'), {
          name: 'OperationNotPermitted',
        }),
      );
    const { deps: d } = deps(w);
    const error = await rejectionOf(
      distributeSnapshot(
        SNAP,
        SRC,
        config({ shareWithAccounts: [ACCOUNT], ssmParameterName: PARAM }),
        d,
      ),
    );
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toMatch(
      /Sharing snapshot snap-\w+ in us-west-2 with 111122223333 failed/,
    );
    expect(error.message).toContain('cannot be shared with other accounts');
    expect(error.message).toContain('set kms-key-id to a customer managed key');
    // Not published when sharing failed.
    expect(stub(w.ssm[SRC]).commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('tells the accounts they need the customer managed key', async () => {
    const w = setup({ source: { Encrypted: true, KmsKeyId: CMK } });
    const { deps: d, logger } = deps(w);
    await distributeSnapshot(SNAP, SRC, config({ shareWithAccounts: [ACCOUNT] }), d);
    expect(logger.messages('notice').join('\n')).toMatch(
      new RegExp(`encrypted with ${CMK}: accounts 111122223333 .*kms:Decrypt`),
    );
  });
});
