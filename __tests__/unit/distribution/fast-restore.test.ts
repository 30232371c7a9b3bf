/**
 * src/distribution/fast-restore.ts: fast snapshot restore in the source region's AZs, enabled and
 * optionally followed to `enabled`.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  DescribeFastSnapshotRestoresCommand,
  EnableFastSnapshotRestoresCommand,
} from '@aws-sdk/client-ec2';
import {
  config,
  deps,
  restoreWorld,
  setup,
  SNAP,
  SRC,
  stub,
  type World,
} from '../../../test-support/distribution.js';
import { distributeSnapshot, type DistributionDeps } from '../../../src/distribution/index.js';
import { ActionError } from '../../../src/core/errors.js';
import { rejectionOf } from '../../../test-support/rejection.js';

afterEach(restoreWorld);

describe('distributeSnapshot', () => {
  describe('fast snapshot restore', () => {
    const AZS = ['us-west-2a', 'us-west-2b'];

    /** Distributes SNAP with fast snapshot restore in AZS, waiting for `enabled` or not. */
    const withFsr = (d: DistributionDeps, wait = false) =>
      distributeSnapshot(
        SNAP,
        SRC,
        config({ fastSnapshotRestoreAzs: AZS, waitForFastSnapshotRestore: wait }),
        d,
      );

    function enableOk(w: World): void {
      stub(w.ec2[SRC])
        .on(EnableFastSnapshotRestoresCommand)
        .resolves({
          Successful: AZS.map((az) => ({
            SnapshotId: SNAP,
            AvailabilityZone: az,
            State: 'enabling',
          })),
          Unsuccessful: [],
        });
    }

    it('enables it without waiting', async () => {
      const w = setup();
      enableOk(w);
      const { deps: d, logger } = deps(w);
      const result = await withFsr(d);
      expect(
        stub(w.ec2[SRC]).commandCalls(EnableFastSnapshotRestoresCommand)[0]?.args[0].input,
      ).toEqual({
        AvailabilityZones: AZS,
        SourceSnapshotIds: [SNAP],
      });
      expect(result.fastSnapshotRestore).toEqual([
        { az: 'us-west-2a', state: 'enabling' },
        { az: 'us-west-2b', state: 'enabling' },
      ]);
      expect(stub(w.ec2[SRC]).commandCalls(DescribeFastSnapshotRestoresCommand)).toHaveLength(0);
      expect(logger.messages('notice').join('\n')).toMatch(/60 minutes per TiB/);
    });

    it('waits through enabling and optimizing to enabled', async () => {
      const w = setup();
      enableOk(w);
      const sequence = [
        ['enabling', 'enabling'],
        ['optimizing', 'enabling'],
        ['enabled', 'optimizing'],
        ['enabled', 'enabled'],
      ];
      let i = 0;
      stub(w.ec2[SRC])
        .on(DescribeFastSnapshotRestoresCommand)
        .callsFake(() => {
          const states = sequence[Math.min(i++, sequence.length - 1)] ?? [];
          return {
            FastSnapshotRestores: AZS.map((az, j) => ({
              SnapshotId: SNAP,
              AvailabilityZone: az,
              State: states[j],
              StateTransitionReason: 'Client.UserInitiated - Lifecycle state transition',
            })),
          };
        });
      const { deps: d } = deps(w);
      const result = await withFsr(d, true);
      expect(result.fastSnapshotRestore).toEqual([
        { az: 'us-west-2a', state: 'enabled' },
        { az: 'us-west-2b', state: 'enabled' },
      ]);
      expect(i).toBe(4);
      expect(
        stub(w.ec2[SRC]).commandCalls(DescribeFastSnapshotRestoresCommand)[0]?.args[0].input,
      ).toEqual({
        Filters: [
          { Name: 'snapshot-id', Values: [SNAP] },
          { Name: 'availability-zone', Values: AZS },
        ],
      });
    });

    it('fails when it is never enabled within the bound', async () => {
      const w = setup();
      enableOk(w);
      stub(w.ec2[SRC])
        .on(DescribeFastSnapshotRestoresCommand)
        .resolves({
          FastSnapshotRestores: AZS.map((az) => ({
            SnapshotId: SNAP,
            AvailabilityZone: az,
            State: 'optimizing',
          })),
        });
      const { deps: d, clock } = deps(w, { timeoutMs: 45 * 60_000 });
      const start = clock.now();
      const error = await rejectionOf(withFsr(d, true));
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toMatch(/was not enabled in every AZ within 45m/);
      expect(error.message).toContain('us-west-2a optimizing');
      expect(error.message).toContain('wait-for-fast-snapshot-restore');
      expect(clock.now() - start).toBe(45 * 60_000);
    });

    it('fails when an AZ goes to disabling', async () => {
      const w = setup();
      enableOk(w);
      stub(w.ec2[SRC])
        .on(DescribeFastSnapshotRestoresCommand)
        .resolves({
          FastSnapshotRestores: [
            { SnapshotId: SNAP, AvailabilityZone: 'us-west-2a', State: 'enabled' },
            {
              SnapshotId: SNAP,
              AvailabilityZone: 'us-west-2b',
              State: 'disabling',
              StateTransitionReason: 'Server.InsufficientCapacity',
            },
          ],
        });
      const { deps: d } = deps(w);
      const error = await rejectionOf(withFsr(d, true));
      expect(error.message).toMatch(
        /in us-west-2b went to 'disabling' \(Server.InsufficientCapacity\)/,
      );
    });

    it('fails when an AZ reports a server-side failure reason', async () => {
      const w = setup();
      enableOk(w);
      stub(w.ec2[SRC])
        .on(DescribeFastSnapshotRestoresCommand)
        .resolves({
          FastSnapshotRestores: [
            {
              SnapshotId: SNAP,
              AvailabilityZone: 'us-west-2a',
              State: 'enabling',
              StateTransitionReason: 'Server.InternalError',
            },
          ],
        });
      const { deps: d } = deps(w);
      const error = await rejectionOf(withFsr(d, true));
      expect(error.message).toMatch(/us-west-2a went to 'enabling' \(Server.InternalError\)/);
    });

    it('reports AZs EnableFastSnapshotRestores refused', async () => {
      const w = setup();
      stub(w.ec2[SRC])
        .on(EnableFastSnapshotRestoresCommand)
        .resolves({
          Successful: [],
          Unsuccessful: [
            {
              SnapshotId: SNAP,
              FastSnapshotRestoreStateErrors: [
                {
                  AvailabilityZone: 'us-west-2a',
                  Error: { Code: 'FastSnapshotRestoreLimitExceeded', Message: 'limit of 5' },
                },
              ],
            },
          ],
        });
      const { deps: d } = deps(w);
      const error = await rejectionOf(withFsr(d));
      expect(error.message).toMatch(
        /could not be enabled for snap-\w+: us-west-2a: FastSnapshotRestoreLimitExceeded \(limit of 5\)/,
      );
    });
  });
});
