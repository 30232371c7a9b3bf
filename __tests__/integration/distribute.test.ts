/**
 * Distribution and retention against moto_server with real SDK clients, one per
 * region, all pointed at the same moto endpoint.
 *
 * What moto 5.2.1 does here (checked by these tests):
 * - CopySnapshot works across regions; the copy is `completed` at once, is
 *   encrypted when the source is (or when KmsKeyId is given), and carries only
 *   the tags sent in TagSpecifications (as in AWS, the source's are not copied).
 * - StartTime has whole-second resolution, so snapshots created within the same
 *   second tie; the retention test spaces its snapshots by more than a second.
 * - OwnerIds is ignored by DescribeSnapshots (moto's public AMI snapshots are
 *   listed too); tag filters work, including keys with ':'.
 * - ModifySnapshotAttribute honours OperationType + UserIds (the
 *   CreateVolumePermission.Add form is ignored silently).
 * - SSM parameters work per region, with versions.
 * - GetEbsEncryptionByDefault works; GetEbsDefaultKmsKeyId, Enable/Disable/
 *   DescribeFastSnapshotRestores are not implemented (HTTP 500). Fast snapshot
 *   restore is covered by the unit tests only; for retention, the FSR check is
 *   answered by a client middleware that reports no FSR (see noFsr).
 * - A volume created from a snapshot is `available` at once, so the
 *   "volume being created" rule is covered by the unit tests only.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  type Tag,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { VirtualClock } from '../../test-support/virtual-clock.js';
import {
  checkEncryptionByDefault,
  distributeSnapshot,
  TAG_SOURCE,
  type DistributionConfig,
} from '../../src/distribution/index.js';
import { MemoryLogger } from '../../test-support/memory-logger.js';
import { applyRetention } from '../../src/cache/retention.js';
import { TAG_LINEAGE, TAG_REPOSITORY } from '../../src/aws/tags.js';
import { startMoto, type Moto } from '../../test-support/moto.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
jest.setTimeout(60_000);

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const SRC = 'us-west-2';
const EU = 'eu-west-1';
const USE1 = 'us-east-1';
const ACCOUNT = '111122223333';
const PARAM = '/eks/node-cache/snapshot-id';
const REPO = 'acme/platform';
const LINEAGE = 'acme/platform:nodes';

let moto: Moto;
const ec2Clients = new Map<string, EC2Client>();
const ssmClients = new Map<string, SSMClient>();

/**
 * moto does not implement DescribeFastSnapshotRestores: answer it here with
 * "no fast snapshot restore", as AWS does for a snapshot without any.
 */
function noFsr(client: EC2Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'DescribeFastSnapshotRestoresCommand') {
        return { output: { FastSnapshotRestores: [], $metadata: {} }, response: {} };
      }
      return next(args);
    },
    { step: 'initialize', name: 'motoNoFastSnapshotRestore' },
  );
}

function ec2For(region: string): EC2Client {
  let client = ec2Clients.get(region);
  if (!client) {
    client = new EC2Client({ region, endpoint: moto.url, credentials, maxAttempts: 1 });
    noFsr(client);
    ec2Clients.set(region, client);
  }
  return client;
}

function ssmFor(region: string): SSMClient {
  let client = ssmClients.get(region);
  if (!client) {
    client = new SSMClient({ region, endpoint: moto.url, credentials, maxAttempts: 1 });
    ssmClients.set(region, client);
  }
  return client;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function createSnapshot(region: string, tags: Record<string, string>): Promise<string> {
  const ec2 = ec2For(region);
  const volume = await ec2.send(
    new CreateVolumeCommand({ AvailabilityZone: `${region}a`, Size: 20, VolumeType: 'gp3' }),
  );
  const snapshot = await ec2.send(
    new CreateSnapshotCommand({
      VolumeId: volume.VolumeId,
      Description: 'Bottlerocket aws-k8s-1.34 data volume with 1 image: busybox',
      TagSpecifications: [
        {
          ResourceType: 'snapshot',
          Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        },
      ],
    }),
  );
  if (!snapshot.SnapshotId) throw new Error('no snapshot ID');
  return snapshot.SnapshotId;
}

async function describe1(region: string, id: string) {
  const out = await ec2For(region).send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }));
  const snapshot = out.Snapshots?.[0];
  if (!snapshot) throw new Error(`${id} not found in ${region}`);
  return snapshot;
}

function tagMap(tags: Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

async function exists(region: string, id: string): Promise<boolean> {
  try {
    await describe1(region, id);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  moto = await startMoto();
}, 30_000);

afterAll(async () => {
  for (const c of [...ec2Clients.values(), ...ssmClients.values()]) c.destroy();
  await moto?.stop();
}, 20_000);

describe('distributeSnapshot against moto', () => {
  const config: DistributionConfig = {
    copyToRegions: [EU, USE1],
    kmsKeyIds: {},
    shareWithAccounts: [ACCOUNT],
    ssmParameterName: PARAM,
    fastSnapshotRestoreAzs: [],
    waitForFastSnapshotRestore: false,
  };
  let source: string;
  let firstCopies: Record<string, string>;

  beforeAll(async () => {
    await moto.reset();
    source = await createSnapshot(SRC, {
      team: 'platform',
      [TAG_REPOSITORY]: REPO,
      [TAG_LINEAGE]: LINEAGE,
    });
  });

  it('checks encryption by default in each region (off in moto)', async () => {
    const found = await checkEncryptionByDefault(
      ec2For,
      {
        region: SRC,
        shareWithAccounts: [ACCOUNT],
        volume: { encrypted: false },
        copyToRegions: [EU, USE1],
      },
      new AbortController().signal,
    );
    expect(found).toEqual([
      { region: SRC, enabled: false },
      { region: EU, enabled: false },
      { region: USE1, enabled: false },
    ]);
  });

  it('copies to two regions, shares every snapshot and publishes the parameter in each region', async () => {
    const logger = new MemoryLogger();
    const result = await distributeSnapshot(source, SRC, config, {
      ec2For,
      ssmFor,
      clock: new VirtualClock(),
      logger,
      timeoutMs: 10 * 60_000,
      signal: new AbortController().signal,
    });
    expect(Object.keys(result.snapshotIds).sort()).toEqual([EU, USE1, SRC].sort());
    expect(result.snapshotIds[SRC]).toBe(source);
    expect(result.shared).toEqual([ACCOUNT]);
    expect(result.parameters).toEqual([
      { region: SRC, name: PARAM, version: 1 },
      { region: EU, name: PARAM, version: 1 },
      { region: USE1, name: PARAM, version: 1 },
    ]);
    firstCopies = result.snapshotIds;

    for (const region of [EU, USE1]) {
      const id = result.snapshotIds[region] ?? '';
      expect(id).toMatch(/^snap-/);
      expect(id).not.toBe(source);
      const copy = await describe1(region, id);
      expect(copy.State).toBe('completed');
      expect(copy.Description).toBe('Bottlerocket aws-k8s-1.34 data volume with 1 image: busybox');
      expect(tagMap(copy.Tags)).toEqual({
        team: 'platform',
        [TAG_REPOSITORY]: REPO,
        [TAG_LINEAGE]: LINEAGE,
        [TAG_SOURCE]: `${SRC}/${source}`,
      });
      // The copy is not visible in the source region.
      expect(await exists(SRC, id)).toBe(false);
    }
    for (const [region, id] of Object.entries(result.snapshotIds)) {
      const attribute = await ec2For(region).send(
        new DescribeSnapshotAttributeCommand({
          SnapshotId: id,
          Attribute: 'createVolumePermission',
        }),
      );
      expect(attribute.CreateVolumePermissions).toEqual([{ UserId: ACCOUNT }]);
      const parameter = await ssmFor(region).send(new GetParameterCommand({ Name: PARAM }));
      expect(parameter.Parameter?.Value).toBe(id);
      expect(parameter.Parameter?.Type).toBe('String');
    }
  });

  it('reuses the copies on a second run and overwrites the parameter', async () => {
    const result = await distributeSnapshot(source, SRC, config, {
      ec2For,
      ssmFor,
      clock: new VirtualClock(),
      logger: new MemoryLogger(),
      timeoutMs: 10 * 60_000,
      signal: new AbortController().signal,
    });
    expect(result.snapshotIds).toEqual(firstCopies);
    expect(result.parameters.map((p) => p.version)).toEqual([2, 2, 2]);
    for (const region of [EU, USE1]) {
      const copies = await ec2For(region).send(
        new DescribeSnapshotsCommand({
          Filters: [{ Name: `tag:${TAG_SOURCE}`, Values: [`${SRC}/${source}`] }],
        }),
      );
      expect(copies.Snapshots).toHaveLength(1);
    }
  });

  it('encrypts a copy with the key given for its region', async () => {
    const key = `arn:aws:kms:${EU}:123456789012:key/11111111-2222-3333-4444-555555555555`;
    const other = await createSnapshot(SRC, { [TAG_REPOSITORY]: REPO });
    const result = await distributeSnapshot(
      other,
      SRC,
      { ...config, copyToRegions: [EU], kmsKeyIds: { [EU]: key }, shareWithAccounts: [] },
      {
        ec2For,
        ssmFor,
        clock: new VirtualClock(),
        logger: new MemoryLogger(),
        timeoutMs: 60_000,
        signal: new AbortController().signal,
      },
    );
    const copy = await describe1(EU, result.snapshotIds[EU] ?? '');
    expect(copy.Encrypted).toBe(true);
    expect(copy.KmsKeyId).toBe(key);
  });
});

describe('applyRetention against moto', () => {
  it('keeps the newest N of a lineage in each region and never touches another lineage', async () => {
    await moto.reset();
    const tags = { [TAG_REPOSITORY]: REPO, [TAG_LINEAGE]: LINEAGE };
    const otherLineage = { [TAG_REPOSITORY]: REPO, [TAG_LINEAGE]: 'acme/platform:gpu' };
    const otherRepo = { [TAG_REPOSITORY]: 'someone/else', [TAG_LINEAGE]: LINEAGE };

    // Oldest first, more than a second apart: moto's StartTime has whole seconds.
    const a = await createSnapshot(SRC, tags);
    const gpuOld = await createSnapshot(SRC, otherLineage);
    const foreign = await createSnapshot(SRC, otherRepo);
    await sleep(1100);
    const b = await createSnapshot(SRC, tags);
    await sleep(1100);
    const c = await createSnapshot(SRC, tags);
    const gpuNew = await createSnapshot(SRC, otherLineage);
    await sleep(1100);
    const d = await createSnapshot(SRC, tags);
    await sleep(1100);
    const latest = await createSnapshot(SRC, tags);

    const starts = await Promise.all([a, b, c, d, latest].map((id) => describe1(SRC, id)));
    const times = starts.map((s) => s.StartTime?.getTime() ?? 0);
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    expect(new Set(times).size).toBe(times.length);

    // Copies of a, b and latest in eu-west-1, in that order, with the same tags.
    const distribute = (id: string) =>
      distributeSnapshot(
        id,
        SRC,
        {
          copyToRegions: [EU],
          kmsKeyIds: {},
          shareWithAccounts: [],
          fastSnapshotRestoreAzs: [],
          waitForFastSnapshotRestore: false,
        },
        {
          ec2For,
          ssmFor,
          clock: new VirtualClock(),
          logger: new MemoryLogger(),
          timeoutMs: 60_000,
          signal: new AbortController().signal,
        },
      );
    const euA = (await distribute(a)).snapshotIds[EU] ?? '';
    await sleep(1100);
    const euB = (await distribute(b)).snapshotIds[EU] ?? '';
    await sleep(1100);
    const euLatest = (await distribute(latest)).snapshotIds[EU] ?? '';

    const logger = new MemoryLogger();
    const results = await applyRetention({
      lineage: LINEAGE,
      repository: REPO,
      keep: 2,
      newSnapshotIds: { [SRC]: latest, [EU]: euLatest },
      referenced: new Set([b]),
      ec2For,
      logger,
      signal: new AbortController().signal,
    });

    const us = results.find((r) => r.region === SRC);
    const eu = results.find((r) => r.region === EU);
    expect(us?.deleted.sort()).toEqual([a, c].sort());
    expect(us?.kept).toEqual([
      { id: latest, reason: 'the snapshot of this run' },
      { id: d, reason: 'one of the newest 2' },
      { id: b, reason: 'referenced by a manifest' },
    ]);
    expect(eu?.deleted).toEqual([euA]);
    expect(eu?.kept.map((k) => k.id)).toEqual([euLatest, euB]);

    for (const id of [a, c]) expect(await exists(SRC, id)).toBe(false);
    for (const id of [b, d, latest, gpuOld, gpuNew, foreign]) {
      expect(await exists(SRC, id)).toBe(true);
    }
    expect(await exists(EU, euA)).toBe(false);
    expect(await exists(EU, euB)).toBe(true);
    expect(await exists(EU, euLatest)).toBe(true);
    expect(logger.messages('warning')).toEqual([]);
  }, 60_000);
});
