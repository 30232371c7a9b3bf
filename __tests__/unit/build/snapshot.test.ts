// Phases 7 and 8 (src/build/snapshot.ts): the snapshot's mode and tags, a snapshot that fails,
// and marking a build finished.
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  CreateSnapshotCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { buildSnapshot, STATE_PENDING_SNAPSHOT } from '../../../src/build/index.js';
import { mockAws, SNAPSHOT_ID, type MockedAws } from '../../../test-support/aws-mocks.js';
import { buildKey } from '../../../src/cache/build-key.js';
import { rejectionOf } from '../../../test-support/rejection.js';
import { config, deps, REGISTRY, resolved } from '../../../test-support/build.js';

let aws: MockedAws | undefined;
afterEach(() => aws?.restore());

describe('snapshotting', () => {
  it('fails when the snapshot goes to error, deletes it, and terminates', async () => {
    aws = mockAws(REGISTRY);
    aws.ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [{ SnapshotId: SNAPSHOT_ID, State: 'error', StateMessage: 'internal error' }],
    });
    const { d, state } = deps(aws);
    const error = await rejectionOf(buildSnapshot(config(), d));
    expect(error.message).toBe(`Snapshot ${SNAPSHOT_ID} failed (state 'error': internal error).`);
    expect(aws.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
    expect(aws.ec2.commandCalls(DeleteSnapshotCommand)[0]?.args[0].input).toEqual({
      SnapshotId: SNAPSHOT_ID,
    });
    expect(state.get(STATE_PENDING_SNAPSHOT)).toBe('');
  });

  it('keeps the instance running for a live snapshot and quiesces containerd instead', async () => {
    aws = mockAws(REGISTRY);
    const result = await buildSnapshot(config({ 'snapshot-mode': 'live' }), deps(aws).d);
    expect(result.snapshotId).toBe(SNAPSHOT_ID);
    expect(aws.ec2.commandCalls(StopInstancesCommand)).toHaveLength(0);
    expect(aws.scripts[0]).toContain('QUIESCE=1');
  });

  it('never reuses or builds on a snapshot whose build did not finish, and marks its own finished', async () => {
    aws = mockAws(REGISTRY);
    const c = config();
    const r = resolved(c);
    // A killed run's snapshot: same key and lineage, completed by EC2, but still "building".
    aws.existingSnapshots.push({
      SnapshotId: 'snap-0aaaaaaaaaaaaaaaa',
      State: 'completed',
      VolumeSize: 50,
      Tags: [
        { Key: 'bottlerocket-ebs-snapshot:build-key', Value: buildKey(c, r.resolved) },
        { Key: 'bottlerocket-ebs-snapshot:lineage', Value: 'acme/platform' },
        { Key: 'bottlerocket-ebs-snapshot:state', Value: 'building' },
      ],
    });
    const result = await buildSnapshot(c, deps(aws, { resolveDigests: async () => r }).d);
    expect(result.cacheHit).toBe(false);
    expect(result.baseSnapshotId).toBeUndefined();
    const created = aws.ec2.commandCalls(CreateSnapshotCommand)[0]?.args[0].input;
    expect(created?.TagSpecifications?.[0]?.Tags).toContainEqual({
      Key: 'bottlerocket-ebs-snapshot:state',
      Value: 'building',
    });
    // Marked finished once it completed: then, and only then.
    const marks = aws.ec2.commandCalls(CreateTagsCommand).map((call) => call.args[0].input);
    expect(marks).toEqual([
      {
        Resources: [result.snapshotId],
        Tags: [{ Key: 'bottlerocket-ebs-snapshot:state', Value: 'complete' }],
      },
    ]);
  });

  it('warns, and still outputs the snapshot, when it cannot be marked finished', async () => {
    aws = mockAws(REGISTRY);
    aws.ec2
      .on(CreateTagsCommand)
      .rejects(Object.assign(new Error('not allowed'), { name: 'UnauthorizedOperation' }));
    const c = config();
    const { d } = deps(aws, { resolveDigests: async () => resolved(c) });
    const result = await buildSnapshot(c, d);
    expect(result.snapshotId).toMatch(/^snap-/);
    expect(result.warnings.join('\n')).toMatch(
      /Could not tag snap-\S+ as a finished build \(CreateTags: UnauthorizedOperation.*later runs will not reuse it/,
    );
  });

  it('builds when the key differs, and tags the snapshot with the key and lineage', async () => {
    aws = mockAws(REGISTRY);
    const c = config({ name: 'ml-nodes' });
    const r = resolved(c);
    aws.existingSnapshots.push({
      SnapshotId: 'snap-0aaaaaaaaaaaaaaaa',
      State: 'completed',
      VolumeSize: 50,
      Tags: [{ Key: 'bottlerocket-ebs-snapshot:build-key', Value: 'something-else' }],
    });
    const result = await buildSnapshot(c, deps(aws, { resolveDigests: async () => r }).d);
    expect(result.cacheHit).toBe(false);
    expect(result.buildKey).toBe(buildKey(c, r.resolved));
    const tags =
      aws.ec2.commandCalls(CreateSnapshotCommand)[0]?.args[0].input.TagSpecifications?.[0]?.Tags;
    expect(tags).toEqual(
      expect.arrayContaining([
        { Key: 'bottlerocket-ebs-snapshot:build-key', Value: buildKey(c, r.resolved) },
        { Key: 'bottlerocket-ebs-snapshot:lineage', Value: 'ml-nodes' },
        { Key: 'bottlerocket-ebs-snapshot:encryption', Value: 'none' },
      ]),
    );
  });
});
