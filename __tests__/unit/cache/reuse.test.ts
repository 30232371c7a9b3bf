/**
 * Finding earlier builds: a finished snapshot of this lineage with the same build key (reused,
 * nothing built), and the base a build starts from (the newest compatible one, or the one named).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { DescribeSnapshotsCommand, EC2Client, type Snapshot } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import {
  baseIncompatibility,
  chooseBaseSnapshot,
  encryptionTag,
  findSnapshotByKey,
} from '../../../src/cache/reuse.js';
import { ActionError } from '../../../src/core/errors.js';
import {
  STATE_BUILDING,
  STATE_COMPLETE,
  TAG_BUILD_KEY,
  TAG_ENCRYPTION,
  TAG_LINEAGE,
  TAG_SNAPSHOTTER,
  TAG_STATE,
  TAG_VARIANT,
} from '../../../src/aws/tags.js';
import { config } from '../../../test-support/build.js';
import { rejectionOf } from '../../../test-support/rejection.js';

const ec2Mock = mockClient(EC2Client);
const ec2 = new EC2Client({ region: 'us-west-2' });
const signal = new AbortController().signal;
afterEach(() => {
  ec2Mock.reset();
});

const LINEAGE = 'acme/platform';

function snapshot(id: string, day: number, extra: Partial<Snapshot> = {}): Snapshot {
  return {
    SnapshotId: id,
    State: 'completed',
    VolumeSize: 50,
    StartTime: new Date(Date.UTC(2026, 0, day)),
    Tags: [{ Key: TAG_LINEAGE, Value: LINEAGE }],
    ...extra,
  };
}
const tagged = (s: Snapshot, key: string, value: string): Snapshot => ({
  ...s,
  Tags: [...(s.Tags ?? []), { Key: key, Value: value }],
});

/** The tag filters of the n-th DescribeSnapshots call, as name → value. */
function filtersOf(call = 0): Record<string, string[] | undefined> {
  const input = ec2Mock.commandCalls(DescribeSnapshotsCommand)[call]?.args[0].input;
  return Object.fromEntries((input?.Filters ?? []).map((f) => [f.Name ?? '', f.Values]));
}

describe('findSnapshotByKey', () => {
  it('searches this account by build key and lineage, completed only', async () => {
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    expect(await findSnapshotByKey(ec2, 'key-1', LINEAGE, signal)).toBeUndefined();
    const input = ec2Mock.commandCalls(DescribeSnapshotsCommand)[0]?.args[0].input;
    expect(input?.OwnerIds).toEqual(['self']);
    expect(filtersOf()).toEqual({
      [`tag:${TAG_BUILD_KEY}`]: ['key-1'],
      [`tag:${TAG_LINEAGE}`]: [LINEAGE],
      status: ['completed'],
    });
  });

  it('gives the newest finished one, never one still tagged as building', async () => {
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        snapshot('snap-old', 1, { Tags: [{ Key: TAG_STATE, Value: STATE_COMPLETE }] }),
        snapshot('snap-building', 9, { Tags: [{ Key: TAG_STATE, Value: STATE_BUILDING }] }),
        snapshot('snap-new', 5),
        snapshot('snap-pending', 8, { State: 'pending' }),
      ],
    });
    const found = await findSnapshotByKey(ec2, 'key-1', LINEAGE, signal);
    expect(found?.SnapshotId).toBe('snap-new');
  });

  it('reads every page of the answer', async () => {
    ec2Mock
      .on(DescribeSnapshotsCommand)
      .resolvesOnce({ Snapshots: [snapshot('snap-1', 1)], NextToken: 'more' })
      .resolvesOnce({ Snapshots: [snapshot('snap-2', 2)] });
    expect((await findSnapshotByKey(ec2, 'k', LINEAGE, signal))?.SnapshotId).toBe('snap-2');
    expect(ec2Mock.commandCalls(DescribeSnapshotsCommand)[1]?.args[0].input.NextToken).toBe('more');
  });
});

describe('encryptionTag', () => {
  it('says none, the default key, or the key given', () => {
    expect(encryptionTag(config())).toBe('none');
    expect(encryptionTag(config({ encrypted: 'true' }))).toBe('default');
    expect(encryptionTag(config({ 'kms-key-id': 'alias/ebs' }))).toBe('alias/ebs');
  });
});

describe('baseIncompatibility', () => {
  const c = config();
  it('accepts a completed snapshot no larger than the volume, with matching tags', () => {
    const base = tagged(
      tagged(snapshot('snap-1', 1), TAG_SNAPSHOTTER, 'overlayfs'),
      TAG_VARIANT,
      'aws-k8s-1.34',
    );
    expect(baseIncompatibility(tagged(base, TAG_ENCRYPTION, 'none'), c)).toBeUndefined();
    // Untagged settings (older builds) do not count against it.
    expect(baseIncompatibility(snapshot('snap-2', 1, { VolumeSize: 20 }), c)).toBeUndefined();
  });

  it('says why a snapshot cannot be the base', () => {
    expect(baseIncompatibility(snapshot('s', 1, { State: 'pending' }), c)).toBe('it is pending');
    expect(baseIncompatibility(snapshot('s', 1, { State: undefined }), c)).toBe(
      'it is in an unknown state',
    );
    expect(baseIncompatibility(snapshot('s', 1, { VolumeSize: 51 }), c)).toBe(
      'it is 51 GiB, larger than volume-size 50',
    );
    expect(baseIncompatibility(tagged(snapshot('s', 1), TAG_SNAPSHOTTER, 'soci'), c)).toBe(
      'it was built for the soci snapshotter, not overlayfs',
    );
    expect(baseIncompatibility(tagged(snapshot('s', 1), TAG_VARIANT, 'aws-k8s-1.33'), c)).toBe(
      'it was built on aws-k8s-1.33, not aws-k8s-1.34',
    );
    expect(baseIncompatibility(tagged(snapshot('s', 1), TAG_ENCRYPTION, 'default'), c)).toBe(
      'its encryption settings differ',
    );
    expect(baseIncompatibility(snapshot('s', 1, { Encrypted: true }), c)).toBe(
      'it is encrypted and this build is not',
    );
  });

  it('takes an unencrypted base for an encrypted build, and compares the key', () => {
    const kms = config({ 'kms-key-id': 'alias/ebs' });
    expect(baseIncompatibility(snapshot('s', 1), kms)).toBeUndefined();
    expect(baseIncompatibility(tagged(snapshot('s', 1), TAG_ENCRYPTION, 'alias/ebs'), kms)).toBe(
      undefined,
    );
    expect(baseIncompatibility(tagged(snapshot('s', 1), TAG_ENCRYPTION, 'alias/other'), kms)).toBe(
      'its encryption settings differ',
    );
  });
});

describe('chooseBaseSnapshot', () => {
  it('builds on nothing with base-snapshot: none, without asking EC2', async () => {
    const choice = await chooseBaseSnapshot(
      ec2,
      config({ 'base-snapshot': 'none' }),
      LINEAGE,
      signal,
    );
    expect(choice).toEqual({ kind: 'none', reason: 'base-snapshot is none' });
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('with auto, takes the newest compatible finished snapshot of the lineage', async () => {
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        snapshot('snap-older', 1),
        tagged(snapshot('snap-newest', 9), TAG_SNAPSHOTTER, 'soci'),
        snapshot('snap-newer', 5),
        snapshot('snap-building', 8, { Tags: [{ Key: TAG_STATE, Value: STATE_BUILDING }] }),
      ],
    });
    const choice = await chooseBaseSnapshot(ec2, config(), LINEAGE, signal);
    expect(choice).toMatchObject({ kind: 'snapshot', how: 'auto' });
    expect(choice.kind === 'snapshot' && choice.snapshot.SnapshotId).toBe('snap-newer');
    expect(filtersOf()).toEqual({ [`tag:${TAG_LINEAGE}`]: [LINEAGE], status: ['completed'] });
  });

  it('with auto, says there is no earlier snapshot, or that none fits', async () => {
    ec2Mock.on(DescribeSnapshotsCommand).resolvesOnce({ Snapshots: [] });
    expect(await chooseBaseSnapshot(ec2, config(), LINEAGE, signal)).toEqual({
      kind: 'none',
      reason: "no earlier snapshot of lineage 'acme/platform'",
    });
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        snapshot('snap-big', 1, { VolumeSize: 100 }),
        snapshot('snap-enc', 2, { Encrypted: true }),
      ],
    });
    expect(await chooseBaseSnapshot(ec2, config(), LINEAGE, signal)).toEqual({
      kind: 'none',
      reason:
        "none of the 2 earlier snapshot(s) of lineage 'acme/platform' has compatible settings",
    });
  });

  it('takes the snapshot named, when it fits', async () => {
    const named = snapshot('snap-0bbbbbbbbbbbbbbbb', 1, { Tags: [] });
    ec2Mock
      .on(DescribeSnapshotsCommand, { SnapshotIds: ['snap-0bbbbbbbbbbbbbbbb'] })
      .resolves({ Snapshots: [named] });
    const choice = await chooseBaseSnapshot(
      ec2,
      config({ 'base-snapshot': 'snap-0bbbbbbbbbbbbbbbb' }),
      LINEAGE,
      signal,
    );
    expect(choice).toEqual({ kind: 'snapshot', snapshot: named, how: 'input' });
  });

  it('refuses a named snapshot that does not exist here, or does not fit', async () => {
    const c = config({ 'base-snapshot': 'snap-0bbbbbbbbbbbbbbbb' });
    ec2Mock
      .on(DescribeSnapshotsCommand)
      .rejectsOnce(Object.assign(new Error('does not exist'), { name: 'InvalidSnapshot.NotFound' }))
      .resolvesOnce({ Snapshots: [] })
      .resolvesOnce({ Snapshots: [snapshot('snap-0bbbbbbbbbbbbbbbb', 1, { State: 'error' })] });
    const missing = "Input 'base-snapshot': snap-0bbbbbbbbbbbbbbbb does not exist in this region.";
    expect(
      (await rejectionOf(chooseBaseSnapshot(ec2, c, LINEAGE, signal), ActionError)).message,
    ).toBe(missing);
    expect(
      (await rejectionOf(chooseBaseSnapshot(ec2, c, LINEAGE, signal), ActionError)).message,
    ).toBe(missing);
    expect(
      (await rejectionOf(chooseBaseSnapshot(ec2, c, LINEAGE, signal), ActionError)).message,
    ).toBe(
      "Input 'base-snapshot': snap-0bbbbbbbbbbbbbbbb cannot be the base of this build: it is error.",
    );
  });

  it('passes on any other failure to read the named snapshot', async () => {
    const denied = Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' });
    ec2Mock.on(DescribeSnapshotsCommand).rejects(denied);
    const error = await rejectionOf(
      chooseBaseSnapshot(
        ec2,
        config({ 'base-snapshot': 'snap-0bbbbbbbbbbbbbbbb' }),
        LINEAGE,
        signal,
      ),
    );
    expect(error.name).toBe('UnauthorizedOperation');
    expect(error).not.toBeInstanceOf(ActionError);
  });
});
