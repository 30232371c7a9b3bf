/**
 * src/distribution/share-check.ts: refusing, before any build, to share a snapshot encrypted with
 * the default EBS key (explicitly or through encryption by default).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  GetEbsDefaultKmsKeyIdCommand,
  GetEbsEncryptionByDefaultCommand,
} from '@aws-sdk/client-ec2';
import {
  ACCOUNT,
  CMK,
  EU,
  restoreWorld,
  setup,
  signalOf,
  SRC,
  stub,
  USE1,
} from '../../../test-support/distribution.js';
import {
  checkEncryptionByDefault,
  checkShareable,
  isDefaultEbsKey,
  type ShareCheckConfig,
} from '../../../src/distribution/index.js';
import { ActionError, InputError } from '../../../src/core/errors.js';
import { rejectionOf } from '../../../test-support/rejection.js';

afterEach(restoreWorld);

/** A signal nobody aborts, for the calls that are not about cancellation. */
const signal = new AbortController().signal;

describe('checkShareable', () => {
  const base: ShareCheckConfig = {
    region: SRC,
    shareWithAccounts: [ACCOUNT],
    volume: { encrypted: false },
  };

  it('recognizes the default EBS key by alias and alias ARN', () => {
    expect(isDefaultEbsKey('alias/aws/ebs')).toBe(true);
    expect(isDefaultEbsKey('arn:aws:kms:us-west-2:123456789012:alias/aws/ebs')).toBe(true);
    expect(isDefaultEbsKey(CMK)).toBe(false);
    expect(isDefaultEbsKey('alias/aws/ebs-custom')).toBe(false);
  });

  it('allows unencrypted snapshots, customer managed keys and no sharing at all', () => {
    expect(() => checkShareable(base)).not.toThrow();
    expect(() =>
      checkShareable({ ...base, volume: { encrypted: true, kmsKeyId: CMK } }),
    ).not.toThrow();
    expect(() =>
      checkShareable({ ...base, shareWithAccounts: [], volume: { encrypted: true } }),
    ).not.toThrow();
  });

  it('refuses sharing a snapshot encrypted with the default key', () => {
    for (const volume of [{ encrypted: true }, { encrypted: true, kmsKeyId: 'alias/aws/ebs' }]) {
      let caught: unknown;
      try {
        checkShareable({ ...base, volume });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InputError);
      expect((caught as InputError).input).toBe('share-with-accounts');
      expect((caught as Error).message).toContain(
        'cannot be shared; set kms-key-id to a customer managed key and grant the accounts use of it',
      );
    }
  });

  it('refuses a copy whose region key is the default key', () => {
    expect(() =>
      checkShareable({
        ...base,
        volume: { encrypted: true, kmsKeyId: CMK },
        copyToRegions: [EU],
        kmsKeyIds: { [EU]: 'alias/aws/ebs' },
      }),
    ).toThrow(/copy in eu-west-1 .*default EBS key.*copy-kms-key-ids/);
  });
});

describe('checkEncryptionByDefault', () => {
  it('makes no call when nothing is shared', async () => {
    const w = setup();
    expect(
      await checkEncryptionByDefault(w.ec2For, { ...shareConfig(), shareWithAccounts: [] }, signal),
    ).toEqual([]);
    expect(stub(w.ec2[SRC]).calls()).toHaveLength(0);
  });

  function shareConfig(): ShareCheckConfig {
    return { region: SRC, shareWithAccounts: [ACCOUNT], volume: { encrypted: false } };
  }

  it('refuses when encryption by default uses aws/ebs in the source region', async () => {
    const w = setup();
    const ac = new AbortController();
    stub(w.ec2[SRC])
      .on(GetEbsEncryptionByDefaultCommand)
      .resolves({ EbsEncryptionByDefault: true });
    stub(w.ec2[SRC]).on(GetEbsDefaultKmsKeyIdCommand).resolves({ KmsKeyId: 'alias/aws/ebs' });
    const error = await rejectionOf(checkEncryptionByDefault(w.ec2For, shareConfig(), ac.signal));
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(/encryption by default is on in us-west-2/);
    expect(error.message).toContain('set kms-key-id to a customer managed key');
    for (const call of stub(w.ec2[SRC]).calls()) {
      expect(signalOf(call)).toBe(ac.signal);
    }
  });

  it('accepts encryption by default with a customer managed default key', async () => {
    const w = setup();
    stub(w.ec2[SRC])
      .on(GetEbsEncryptionByDefaultCommand)
      .resolves({ EbsEncryptionByDefault: true });
    stub(w.ec2[SRC]).on(GetEbsDefaultKmsKeyIdCommand).resolves({ KmsKeyId: CMK });
    await expect(checkEncryptionByDefault(w.ec2For, shareConfig(), signal)).resolves.toEqual([
      { region: SRC, enabled: true, defaultKmsKeyId: CMK },
    ]);
  });

  it('skips the source region when kms-key-id is set, and checks copy regions without a key', async () => {
    const w = setup();
    stub(w.ec2[EU])
      .on(GetEbsEncryptionByDefaultCommand)
      .resolves({ EbsEncryptionByDefault: false });
    stub(w.ec2[EU])
      .on(GetEbsDefaultKmsKeyIdCommand)
      .resolves({ KmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:alias/aws/ebs' });
    const error = await rejectionOf(
      checkEncryptionByDefault(
        w.ec2For,
        {
          ...shareConfig(),
          volume: { encrypted: true, kmsKeyId: CMK },
          copyToRegions: [EU, USE1],
          kmsKeyIds: { [USE1]: 'alias/snapshots' },
        },
        signal,
      ),
    );
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(/copy in eu-west-1 .*source snapshot is encrypted/);
    expect(stub(w.ec2[SRC]).calls()).toHaveLength(0);
    expect(stub(w.ec2[USE1]).calls()).toHaveLength(0);
  });

  it('names the permission when the setting cannot be read', async () => {
    const w = setup();
    stub(w.ec2[SRC])
      .on(GetEbsEncryptionByDefaultCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' }));
    const error = await rejectionOf(checkEncryptionByDefault(w.ec2For, shareConfig(), signal));
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toMatch(/ec2:GetEbsEncryptionByDefault/);
  });
});
