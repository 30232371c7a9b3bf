/**
 * The distribution tests' world: one mocked EC2 and SSM client per region, a source snapshot,
 * copies that complete on their second check, and the deps and configuration to distribute with.
 * Shared by __tests__/unit/distribution/*.test.ts (each runs `afterEach(restoreWorld)`).
 */
import {
  CopySnapshotCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  ModifySnapshotAttributeCommand,
  type DescribeSnapshotsCommandInput,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { VirtualClock } from './virtual-clock.js';
import { MemoryLogger } from './memory-logger.js';
import type { DistributionConfig } from '../src/distribution/index.js';
import { TAG_REPOSITORY, TAG_RUN } from '../src/aws/tags.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export const SRC = 'us-west-2';
export const EU = 'eu-west-1';
export const USE1 = 'us-east-1';
export const SNAP = 'snap-0123456789abcdef0';
export const ACCOUNT = '111122223333';
export const CMK = 'arn:aws:kms:us-west-2:123456789012:key/11111111-2222-3333-4444-555555555555';
export const EU_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-2222-3333-4444-555555555555';
export const PARAM = '/eks/node-cache/snapshot-id';
export const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export const SOURCE_TAGS = [
  { Key: 'team', Value: 'platform' },
  { Key: TAG_REPOSITORY, Value: 'acme/platform' },
  { Key: TAG_RUN, Value: 'acme/platform/42/1' },
  { Key: 'aws:backup:source', Value: 'x' },
];

export function copyId(region: string): string {
  return `snap-copy-${region}`;
}

export interface World {
  ec2: Record<string, AwsClientStub<EC2Client>>;
  ssm: Record<string, AwsClientStub<SSMClient>>;
  ec2For: (region: string) => EC2Client;
  ssmFor: (region: string) => SSMClient;
  events: string[];
  restore(): void;
}

let world: World | undefined;
/** Restores the mocks of the last setup(); each test file runs it after each test. */
export function restoreWorld(): void {
  world?.restore();
  world = undefined;
}

/**
 * One mocked EC2 and SSM client per region. The source snapshot is completed;
 * copies are created on CopySnapshot and complete on their second check.
 */
export function setup(options: { source?: Partial<Snapshot>; copyPolls?: number } = {}): World {
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
export function signalOf(call: { args: readonly unknown[] } | undefined): AbortSignal | undefined {
  const options = call?.args[1] as { abortSignal?: AbortSignal } | undefined;
  return options?.abortSignal;
}

export function stub<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('missing mock');
  return value;
}

export function config(overrides: Partial<DistributionConfig> = {}): DistributionConfig {
  return {
    copyToRegions: [],
    kmsKeyIds: {},
    shareWithAccounts: [],
    fastSnapshotRestoreAzs: [],
    waitForFastSnapshotRestore: false,
    ...overrides,
  };
}

export function deps(w: World, extra: { signal?: AbortSignal; timeoutMs?: number } = {}) {
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
      signal: extra.signal ?? new AbortController().signal,
    },
  };
}
