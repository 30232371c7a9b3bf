/**
 * src/distribution/index.ts: the parts of a distribution run in parallel, in a stable order, and
 * fail together.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  CopySnapshotCommand,
  DescribeSnapshotsCommand,
  ModifySnapshotAttributeCommand,
  type CopySnapshotCommandInput,
} from '@aws-sdk/client-ec2';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import {
  ACCOUNT,
  config,
  copyId,
  deps,
  EU,
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
import { InputError } from '../../../src/core/errors.js';
import { TAG_REPOSITORY, TAG_RUN } from '../../../src/aws/tags.js';
import { rejectionOf } from '../../../test-support/rejection.js';

afterEach(restoreWorld);

describe('distributeSnapshot', () => {
  it('copies in parallel, shares and publishes in every region', async () => {
    const w = setup();
    const ac = new AbortController();
    const { deps: d, logger } = deps(w, { signal: ac.signal });
    const result = await distributeSnapshot(
      SNAP,
      SRC,
      config({ copyToRegions: [EU, USE1], shareWithAccounts: [ACCOUNT], ssmParameterName: PARAM }),
      d,
    );

    expect(result).toEqual({
      snapshotIds: { [SRC]: SNAP, [EU]: copyId(EU), [USE1]: copyId(USE1) },
      shared: [ACCOUNT],
      parameters: [
        { region: SRC, name: PARAM, version: 3 },
        { region: EU, name: PARAM, version: 3 },
        { region: USE1, name: PARAM, version: 3 },
      ],
      fastSnapshotRestore: [],
    });
    // Both copies were started before either completed.
    const firstDone = w.events.findIndex((e) => e.startsWith('completed:'));
    expect(w.events.slice(0, firstDone).sort()).toEqual([`copy:${EU}`, `copy:${USE1}`]);

    for (const region of [EU, USE1]) {
      const calls = stub(w.ec2[region]).commandCalls(CopySnapshotCommand);
      expect(calls).toHaveLength(1);
      const input = calls[0]?.args[0].input as CopySnapshotCommandInput;
      expect(input).toEqual({
        SourceRegion: SRC,
        SourceSnapshotId: SNAP,
        Description: 'Bottlerocket aws-k8s-1.34 data volume with 2 images: a, b',
        TagSpecifications: [
          {
            ResourceType: 'snapshot',
            Tags: [
              { Key: 'team', Value: 'platform' },
              { Key: TAG_REPOSITORY, Value: 'acme/platform' },
              { Key: TAG_RUN, Value: 'acme/platform/42/1' },
              { Key: TAG_SOURCE, Value: `${SRC}/${SNAP}` },
            ],
          },
        ],
      });
      // It looked for an earlier copy first.
      expect(stub(w.ec2[region]).commandCalls(DescribeSnapshotsCommand)[0]?.args[0].input).toEqual({
        OwnerIds: ['self'],
        Filters: [
          { Name: `tag:${TAG_SOURCE}`, Values: [`${SRC}/${SNAP}`] },
          { Name: 'status', Values: ['pending', 'completed'] },
        ],
        MaxResults: 1000,
      });
    }
    for (const region of [SRC, EU, USE1]) {
      const id = region === SRC ? SNAP : copyId(region);
      expect(
        stub(w.ec2[region]).commandCalls(ModifySnapshotAttributeCommand)[0]?.args[0].input,
      ).toEqual({
        SnapshotId: id,
        Attribute: 'createVolumePermission',
        OperationType: 'add',
        UserIds: [ACCOUNT],
      });
      const put = stub(w.ssm[region]).commandCalls(PutParameterCommand);
      expect(put).toHaveLength(1);
      expect(put[0]?.args[0].input).toMatchObject({
        Name: PARAM,
        Value: id,
        Type: 'String',
        Overwrite: true,
      });
      expect(put[0]?.args[0].input.Description).toMatch(/acme\/platform/);
      // Every call carries the abort signal.
      for (const call of [...stub(w.ec2[region]).calls(), ...stub(w.ssm[region]).calls()]) {
        expect(signalOf(call)).toBe(ac.signal);
      }
    }
    expect(logger.messages('notice')).toEqual([]);
  });

  it('waits for a source snapshot that is still pending', async () => {
    const w = setup();
    let polls = 0;
    stub(w.ec2[SRC])
      .on(DescribeSnapshotsCommand)
      .callsFake(() => ({
        Snapshots: [
          { SnapshotId: SNAP, State: ++polls < 3 ? 'pending' : 'completed', Progress: '50%' },
        ],
      }));
    const { deps: d, clock } = deps(w);
    const start = clock.now();
    const result = await distributeSnapshot(SNAP, SRC, config({ ssmParameterName: PARAM }), d);
    expect(result.snapshotIds).toEqual({ [SRC]: SNAP });
    expect(polls).toBe(3);
    expect(clock.now()).toBeGreaterThan(start);
  });

  it('lists every failure when several parts fail', async () => {
    const w = setup();
    for (const region of [EU, USE1]) {
      stub(w.ec2[region])
        .on(CopySnapshotCommand)
        .rejects(Object.assign(new Error('Too many copies'), { name: 'ResourceLimitExceeded' }));
    }
    const { deps: d } = deps(w);
    const error = await rejectionOf(
      distributeSnapshot(SNAP, SRC, config({ copyToRegions: [EU, USE1] }), d),
    );
    expect(error.message).toMatch(
      /failed in 2 places: \[eu-west-1\] .*Too many copies.* \[us-east-1\]/,
    );
  });

  it('refuses a bad configuration before calling AWS', async () => {
    const w = setup();
    const { deps: d } = deps(w);
    await expect(
      distributeSnapshot(SNAP, SRC, config({ copyToRegions: [SRC] }), d),
    ).rejects.toThrow(InputError);
    expect(stub(w.ec2[SRC]).calls()).toHaveLength(0);
  });
});
