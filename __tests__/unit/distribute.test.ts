import { afterEach, describe, expect, it } from '@jest/globals';
import {
  CopySnapshotCommand,
  DeleteSnapshotCommand,
  DescribeFastSnapshotRestoresCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  EnableFastSnapshotRestoresCommand,
  GetEbsDefaultKmsKeyIdCommand,
  GetEbsEncryptionByDefaultCommand,
  ModifySnapshotAttributeCommand,
  type CopySnapshotCommandInput,
  type DescribeSnapshotsCommandInput,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { VirtualClock } from '../../test-support/virtual-clock.js';
import {
  checkEncryptionByDefault,
  checkShareable,
  distributeSnapshot,
  isDefaultEbsKey,
  TAG_SOURCE,
  validateDistributionConfig,
  validateParameterName,
  type DistributionConfig,
  type DistributionDeps,
  type ShareCheckConfig,
} from '../../src/distribution/index.js';
import { AbortedError, ActionError, InputError } from '../../src/core/errors.js';
import { MemoryLogger } from '../../test-support/memory-logger.js';
import { TAG_REPOSITORY, TAG_RUN } from '../../src/aws/tags.js';
import { rejectionOf } from '../../test-support/rejection.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const SRC = 'us-west-2';
const EU = 'eu-west-1';
const USE1 = 'us-east-1';
const SNAP = 'snap-0123456789abcdef0';
const ACCOUNT = '111122223333';
const CMK = 'arn:aws:kms:us-west-2:123456789012:key/11111111-2222-3333-4444-555555555555';
const EU_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-2222-3333-4444-555555555555';
const PARAM = '/eks/node-cache/snapshot-id';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

const SOURCE_TAGS = [
  { Key: 'team', Value: 'platform' },
  { Key: TAG_REPOSITORY, Value: 'acme/platform' },
  { Key: TAG_RUN, Value: 'acme/platform/42/1' },
  { Key: 'aws:backup:source', Value: 'x' },
];

function copyId(region: string): string {
  return `snap-copy-${region}`;
}

interface World {
  ec2: Record<string, AwsClientStub<EC2Client>>;
  ssm: Record<string, AwsClientStub<SSMClient>>;
  ec2For: (region: string) => EC2Client;
  ssmFor: (region: string) => SSMClient;
  events: string[];
  restore(): void;
}

let world: World | undefined;
afterEach(() => {
  world?.restore();
  world = undefined;
});

/**
 * One mocked EC2 and SSM client per region. The source snapshot is completed;
 * copies are created on CopySnapshot and complete on their second check.
 */
function setup(options: { source?: Partial<Snapshot>; copyPolls?: number } = {}): World {
  const ec2: World['ec2'] = {};
  const ssm: World['ssm'] = {};
  const ec2Clients: Record<string, EC2Client> = {};
  const ssmClients: Record<string, SSMClient> = {};
  const events: string[] = [];
  for (const region of [SRC, EU, USE1]) {
    ec2Clients[region] = new EC2Client({ region, credentials });
    ssmClients[region] = new SSMClient({ region, credentials });
    const e = mockClient(ec2Clients[region]);
    const s = mockClient(ssmClients[region]);
    ec2[region] = e;
    ssm[region] = s;
    const polls = new Map<string, number>();
    e.on(DescribeSnapshotsCommand).callsFake((input: DescribeSnapshotsCommandInput) => {
      if (input.Filters) return { Snapshots: [] }; // no earlier copy
      const id = input.SnapshotIds?.[0] ?? '';
      if (region === SRC && id === SNAP) {
        return {
          Snapshots: [
            {
              SnapshotId: SNAP,
              State: 'completed',
              Progress: '100%',
              Description: 'Bottlerocket aws-k8s-1.34 data volume with 2 images: a, b',
              Encrypted: false,
              Tags: SOURCE_TAGS,
              ...options.source,
            },
          ],
        };
      }
      if (id === copyId(region)) {
        const n = (polls.get(id) ?? 0) + 1;
        polls.set(id, n);
        const done = n >= (options.copyPolls ?? 2);
        if (done) events.push(`completed:${region}`);
        return {
          Snapshots: [
            {
              SnapshotId: id,
              State: done ? 'completed' : 'pending',
              Progress: done ? '100%' : '30%',
              Encrypted: options.source?.Encrypted ?? false,
            },
          ],
        };
      }
      throw Object.assign(new Error(`The snapshot '${id}' does not exist.`), {
        name: 'InvalidSnapshot.NotFound',
      });
    });
    e.on(CopySnapshotCommand).callsFake(() => {
      events.push(`copy:${region}`);
      return { SnapshotId: copyId(region) };
    });
    e.on(ModifySnapshotAttributeCommand).resolves({});
    e.on(DeleteSnapshotCommand).resolves({});
    s.on(PutParameterCommand).resolves({ Version: 3, Tier: 'Standard' });
  }
  const w: World = {
    ec2,
    ssm,
    events,
    ec2For: (region) => {
      const client = ec2Clients[region];
      if (!client) throw new Error(`no client for ${region}`);
      return client;
    },
    ssmFor: (region) => {
      const client = ssmClients[region];
      if (!client) throw new Error(`no client for ${region}`);
      return client;
    },
    restore: () => {
      for (const m of [...Object.values(ec2), ...Object.values(ssm)]) m.restore();
    },
  };
  world = w;
  return w;
}

/** The abort signal a mocked `send` was given (its second argument). */
function signalOf(call: { args: readonly unknown[] } | undefined): AbortSignal | undefined {
  const options = call?.args[1] as { abortSignal?: AbortSignal } | undefined;
  return options?.abortSignal;
}

function stub<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('missing mock');
  return value;
}

function config(overrides: Partial<DistributionConfig> = {}): DistributionConfig {
  return {
    copyToRegions: [],
    kmsKeyIds: {},
    shareWithAccounts: [],
    fastSnapshotRestoreAzs: [],
    waitForFastSnapshotRestore: false,
    ...overrides,
  };
}

function deps(w: World, extra: { signal?: AbortSignal; timeoutMs?: number } = {}) {
  const clock = new VirtualClock();
  const logger = new MemoryLogger();
  return {
    clock,
    logger,
    deps: {
      ec2For: w.ec2For,
      ssmFor: w.ssmFor,
      clock,
      logger,
      timeoutMs: extra.timeoutMs ?? 30 * 60_000,
      ...(extra.signal ? { signal: extra.signal } : {}),
    },
  };
}

describe('validateParameterName', () => {
  it.each(['/eks/node-cache/snapshot-id', 'node-cache-snapshot', '/a.b_c-d/e', '/awesome/x'])(
    'accepts %s',
    (name) => {
      expect(() => validateParameterName(name)).not.toThrow();
    },
  );

  it.each<[string, string, RegExp]>([
    ['eks/node-cache', 'eks/node-cache', /must start with '\/'/],
    ['/aws/service/x', '/aws/service/x', /reserves/],
    ['awsThing', 'awsThing', /reserves/],
    ['SSM-param', 'SSM-param', /reserves/],
    ['/ssm/x', '/ssm/x', /reserves/],
    ['/a//b', '/a//b', /empty level/],
    ['/a/b/', '/a/b/', /empty level/],
    ['/a b', '/a b', /letters, digits/],
    ['an empty name', '', /empty/],
    ['16 levels', `/${Array.from({ length: 16 }, () => 'x').join('/')}`, /16 levels/],
    ['1101 characters', `/${'x'.repeat(1100)}`, /longer than 1011/],
  ])('refuses %s', (_label, name, message) => {
    const error = (() => {
      try {
        validateParameterName(name);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).input).toBe('ssm-parameter-name');
    expect((error as Error).message).toMatch(message);
  });
});

describe('validateDistributionConfig', () => {
  it('accepts a full configuration', () => {
    expect(() =>
      validateDistributionConfig(
        config({
          copyToRegions: [EU, USE1],
          kmsKeyIds: { [EU]: EU_KEY, [USE1]: 'alias/snapshots' },
          shareWithAccounts: [ACCOUNT],
          ssmParameterName: PARAM,
          fastSnapshotRestoreAzs: ['us-west-2a', 'us-west-2b'],
        }),
        SRC,
      ),
    ).not.toThrow();
  });

  it.each<[Partial<DistributionConfig>, string, RegExp]>([
    [{ copyToRegions: [SRC] }, 'copy-to-regions', /region the snapshot is built in/],
    [{ copyToRegions: ['europe'] }, 'copy-to-regions', /not an AWS region/],
    [{ kmsKeyIds: { [EU]: EU_KEY } }, 'copy-kms-key-ids', /not in copy-to-regions/],
    [
      { copyToRegions: [USE1], kmsKeyIds: { [USE1]: EU_KEY } },
      'copy-kms-key-ids',
      /key for us-east-1 is in eu-west-1/,
    ],
    [{ shareWithAccounts: ['12345'] }, 'share-with-accounts', /12-digit/],
    [{ ssmParameterName: 'aws-x' }, 'ssm-parameter-name', /reserves/],
    [{ fastSnapshotRestoreAzs: ['eu-west-1a'] }, 'fast-snapshot-restore-azs', /us-west-2/],
    [{ fastSnapshotRestoreAzs: ['us-west-2'] }, 'fast-snapshot-restore-azs', /Availability Zone/],
  ])('refuses %j', (overrides, input, message) => {
    let caught: unknown;
    try {
      validateDistributionConfig(config(overrides), SRC);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).input).toBe(input);
    expect((caught as Error).message).toMatch(message);
  });
});

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
      await checkEncryptionByDefault(w.ec2For, { ...shareConfig(), shareWithAccounts: [] }),
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
    await expect(checkEncryptionByDefault(w.ec2For, shareConfig())).resolves.toEqual([
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
      checkEncryptionByDefault(w.ec2For, {
        ...shareConfig(),
        volume: { encrypted: true, kmsKeyId: CMK },
        copyToRegions: [EU, USE1],
        kmsKeyIds: { [USE1]: 'alias/snapshots' },
      }),
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
    const error = await rejectionOf(checkEncryptionByDefault(w.ec2For, shareConfig()));
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toMatch(/ec2:GetEbsEncryptionByDefault/);
  });
});

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

  it('names the permission when PutParameter is denied', async () => {
    const w = setup();
    stub(w.ssm[SRC])
      .on(PutParameterCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const { deps: d } = deps(w);
    const error = await rejectionOf(
      distributeSnapshot(SNAP, SRC, config({ ssmParameterName: PARAM }), d),
    );
    expect(error.message).toMatch(
      /Writing SSM parameter \/eks\/node-cache\/snapshot-id in us-west-2 failed .*ssm:PutParameter on arn:aws:ssm:us-west-2:<account>:parameter\/eks\/node-cache\/snapshot-id/,
    );
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
    // The clean-up call is sent without the (aborted) signal.
    expect(signalOf(del[0])).toBeUndefined();
  });

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
