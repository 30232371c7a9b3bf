/**
 * src/distribution/copy.ts: copies in other regions, encrypted with the region's key, reused from
 * an earlier run, and deleted when they will not complete.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  CopySnapshotCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  type DescribeSnapshotsCommandInput,
} from '@aws-sdk/client-ec2';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import {
  CMK,
  config,
  copyId,
  deps,
  EU,
  EU_KEY,
  PARAM,
  restoreWorld,
  setup,
  signalOf,
  SNAP,
  SRC,
  stub,
  USE1,
} from '../../../test-support/distribution.js';
import { distributeSnapshot, TAG_SOURCE } from '../../../src/distribution/index.js';
import { AbortedError, ActionError } from '../../../src/core/errors.js';
import { rejectionOf } from '../../../test-support/rejection.js';

afterEach(restoreWorld);

describe('distributeSnapshot: copies', () => {
  it('encrypts copies with the region key, or the region default key with a notice', async () => {
    const w = setup({ source: { Encrypted: true, KmsKeyId: CMK } });
    const { deps: d, logger } = deps(w);
    await distributeSnapshot(
      SNAP,
      SRC,
      config({ copyToRegions: [EU, USE1], kmsKeyIds: { [EU]: EU_KEY } }),
      d,
    );
    expect(stub(w.ec2[EU]).commandCalls(CopySnapshotCommand)[0]?.args[0].input).toMatchObject({
      Encrypted: true,
      KmsKeyId: EU_KEY,
    });
    const use1 = stub(w.ec2[USE1]).commandCalls(CopySnapshotCommand)[0]?.args[0].input;
    expect(use1?.Encrypted).toBe(true);
    expect(use1).not.toHaveProperty('KmsKeyId');
    expect(logger.messages('notice').join('\n')).toMatch(
      /no KMS key is set for us-east-1 .*us-east-1's default EBS key/,
    );
  });

  it('encrypts the copy of an unencrypted snapshot when a key is given for the region', async () => {
    const w = setup();
    const { deps: d } = deps(w);
    await distributeSnapshot(
      SNAP,
      SRC,
      config({ copyToRegions: [EU], kmsKeyIds: { [EU]: EU_KEY } }),
      d,
    );
    expect(stub(w.ec2[EU]).commandCalls(CopySnapshotCommand)[0]?.args[0].input).toMatchObject({
      Encrypted: true,
      KmsKeyId: EU_KEY,
    });
  });

  it('fails when a copy goes to error, deletes it, and still finishes the other region', async () => {
    const w = setup({ source: { Encrypted: true, KmsKeyId: CMK } });
    stub(w.ec2[EU])
      .on(DescribeSnapshotsCommand, { SnapshotIds: [copyId(EU)] })
      .resolves({
        Snapshots: [
          {
            SnapshotId: copyId(EU),
            State: 'error',
            StateMessage: 'Given key ID is not accessible',
            Encrypted: true,
          },
        ],
      });
    const { deps: d } = deps(w);
    const error = await rejectionOf(
      distributeSnapshot(
        SNAP,
        SRC,
        config({ copyToRegions: [EU, USE1], kmsKeyIds: { [EU]: EU_KEY }, ssmParameterName: PARAM }),
        d,
      ),
    );
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toMatch(
      /Copy snap-copy-eu-west-1 of snap-0123456789abcdef0 in eu-west-1 failed/,
    );
    expect(error.message).toContain('Given key ID is not accessible');
    expect(error.message).toContain(`KMS key ${EU_KEY}`);
    expect(error.message).toContain(CMK);
    expect(stub(w.ec2[EU]).commandCalls(DeleteSnapshotCommand)[0]?.args[0].input).toEqual({
      SnapshotId: copyId(EU),
    });
    expect(stub(w.ssm[EU]).commandCalls(PutParameterCommand)).toHaveLength(0);
    // The other region and the source were completed.
    expect(stub(w.ssm[USE1]).commandCalls(PutParameterCommand)).toHaveLength(1);
    expect(stub(w.ssm[SRC]).commandCalls(PutParameterCommand)).toHaveLength(1);
    expect(stub(w.ec2[USE1]).commandCalls(DeleteSnapshotCommand)).toHaveLength(0);
  });

  it('names the region and key when CopySnapshot is denied the KMS key', async () => {
    const w = setup({ source: { Encrypted: true, KmsKeyId: CMK } });
    stub(w.ec2[EU])
      .on(CopySnapshotCommand)
      .rejects(
        Object.assign(new Error('User is not authorized to perform kms:CreateGrant on the key'), {
          name: 'AccessDeniedException',
        }),
      );
    const { deps: d } = deps(w);
    const error = await rejectionOf(
      distributeSnapshot(
        SNAP,
        SRC,
        config({ copyToRegions: [EU], kmsKeyIds: { [EU]: EU_KEY } }),
        d,
      ),
    );
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toMatch(/CopySnapshot of snap-\w+ from us-west-2 to eu-west-1 failed/);
    expect(error.message).toContain(`encrypted with KMS key ${EU_KEY}`);
    expect(error.message).toContain('kms:CreateGrant');
    expect(stub(w.ec2[EU]).commandCalls(DeleteSnapshotCommand)).toHaveLength(0);
  });

  it('gives up on a copy that does not complete within the bound, and deletes it', async () => {
    const w = setup({ copyPolls: Number.POSITIVE_INFINITY });
    const { deps: d, clock } = deps(w, { timeoutMs: 20 * 60_000 });
    const start = clock.now();
    const error = await rejectionOf(
      distributeSnapshot(SNAP, SRC, config({ copyToRegions: [EU] }), d),
    );
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toMatch(
      /Timed out after 20m waiting for copy snap-copy-eu-west-1 .* in eu-west-1/,
    );
    expect(error.message).toContain('pending 30%');
    expect(clock.now() - start).toBe(20 * 60_000);
    expect(stub(w.ec2[EU]).commandCalls(DeleteSnapshotCommand)).toHaveLength(1);
  });

  it('reuses a copy made by an earlier run', async () => {
    const w = setup();
    stub(w.ec2[EU])
      .on(DescribeSnapshotsCommand)
      .callsFake((input: DescribeSnapshotsCommandInput) => {
        if (input.Filters?.[0]?.Name !== `tag:${TAG_SOURCE}`) throw new Error('unexpected call');
        return {
          Snapshots: [
            {
              SnapshotId: 'snap-earlier',
              State: 'completed',
              Tags: [{ Key: TAG_SOURCE, Value: `${SRC}/${SNAP}` }],
            },
          ],
        };
      });
    const { deps: d } = deps(w);
    const result = await distributeSnapshot(
      SNAP,
      SRC,
      config({ copyToRegions: [EU], ssmParameterName: PARAM }),
      d,
    );
    expect(result.snapshotIds[EU]).toBe('snap-earlier');
    expect(stub(w.ec2[EU]).commandCalls(CopySnapshotCommand)).toHaveLength(0);
    expect(stub(w.ssm[EU]).commandCalls(PutParameterCommand)[0]?.args[0].input.Value).toBe(
      'snap-earlier',
    );
  });

  it('stops with AbortedError when cancelled while waiting for a copy, deleting the copy', async () => {
    const w = setup({ copyPolls: Number.POSITIVE_INFINITY });
    const ac = new AbortController();
    let checks = 0;
    stub(w.ec2[EU])
      .on(DescribeSnapshotsCommand, { SnapshotIds: [copyId(EU)] })
      .callsFake(() => {
        if (++checks === 2) ac.abort(new AbortedError('The run was cancelled.'));
        return { Snapshots: [{ SnapshotId: copyId(EU), State: 'pending', Progress: '5%' }] };
      });
    const { deps: d } = deps(w, { signal: ac.signal });
    const error = await rejectionOf(
      distributeSnapshot(SNAP, SRC, config({ copyToRegions: [EU] }), d),
    );
    expect(error).toBeInstanceOf(AbortedError);
    expect(error.message).toBe('The run was cancelled.');
    const del = stub(w.ec2[EU]).commandCalls(DeleteSnapshotCommand);
    expect(del).toHaveLength(1);
    // The clean-up call is sent without the (aborted) signal: with one nothing aborts.
    expect(signalOf(del[0])).not.toBe(ac.signal);
    expect(signalOf(del[0])?.aborted).toBe(false);
  });
});
