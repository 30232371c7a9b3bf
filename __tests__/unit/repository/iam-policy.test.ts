/**
 * The example IAM policies under an IAM evaluator (@cloud-copilot/iam-simulate): what the
 * action must not be able to do is denied; the calls moto cannot run (fast snapshot
 * restore, the default EBS key) are allowed; the trust policy accepts both GitHub subject
 * formats for the example repository only. The calls are the SDK's own requests, captured
 * as they would go out, mapped by test-support/iam-authorization.ts. That every call of
 * the bundle tests is allowed is checked by the bundle tests themselves (their "IAM" test).
 */
import { describe, expect, it } from '@jest/globals';
import {
  CopySnapshotCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DisableFastSnapshotRestoresCommand,
  EC2Client,
  EnableFastSnapshotRestoresCommand,
  GetEbsDefaultKmsKeyIdCommand,
  ModifySnapshotAttributeCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { PutParameterCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordedCall, type ApiCall } from '../../../test-support/counting-proxy.js';
import {
  ACCOUNT,
  authorizationsOf,
  OIDC_PROVIDER,
  type CallFacts,
} from '../../../test-support/iam-authorization.js';
import {
  evaluate,
  evaluateCalls,
  examplePolicies,
  type Decision,
} from '../../../test-support/iam-evaluate.js';
import { REPO_ROOT } from '../../../test-support/runner.js';

const REGION = 'us-west-2';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const policies = examplePolicies();

const OURS = { 'bottlerocket-ebs-snapshot:repository': 'acme/platform' };
const THEIRS = { 'bottlerocket-ebs-snapshot:repository': 'acme/other' };
const builder = (repo = OURS) => ({ ...repo, 'bottlerocket-ebs-snapshot:role': 'builder' });
const snapshot = (repo = OURS) => ({ ...repo, 'bottlerocket-ebs-snapshot:role': 'snapshot' });
const tagList = (tags: Record<string, string>) =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

/** Any SDK v3 command object; the client it is sent with is named beside it. */
type SdkCommand = object;

class Captured extends Error {
  constructor(readonly call: ApiCall) {
    super('captured');
  }
}

/** The request the SDK would send for a command, recorded as the emulator's proxy records it. */
async function wire(
  client: 'ec2' | 'ssm' | 'ecr',
  command: SdkCommand,
  facts: CallFacts = {},
  region = REGION,
): Promise<ApiCall> {
  const requestHandler = {
    handle: async (request: { headers: Record<string, string>; body?: unknown }) => {
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]),
      );
      const body =
        request.body instanceof Uint8Array
          ? Buffer.from(
              request.body.buffer,
              request.body.byteOffset,
              request.body.byteLength,
            ).toString()
          : String(request.body ?? '');
      throw new Captured(recordedCall(headers, body, client));
    },
  };
  const options = { region, credentials, requestHandler, maxAttempts: 1 };
  const sdk =
    client === 'ec2'
      ? new EC2Client(options)
      : client === 'ssm'
        ? new SSMClient(options)
        : new ECRClient(options);
  try {
    await (sdk.send as (c: unknown) => Promise<unknown>)(command);
  } catch (error) {
    if (error instanceof Captured)
      return { ...error.call, extra: facts as Record<string, unknown> };
    throw error;
  } finally {
    sdk.destroy();
  }
  throw new Error('the SDK sent nothing');
}

async function decide(call: ApiCall): Promise<Decision[]> {
  return evaluateCalls([call], policies);
}

/** Overall: Denied if any authorization of the call is. */
async function outcome(call: ApiCall): Promise<string> {
  const decisions = await decide(call);
  expect(decisions.length).toBeGreaterThan(0);
  const denied = decisions.find((d) => d.result !== 'Allowed');
  return denied
    ? `${denied.result} (${denied.request.action} on ${denied.request.resource})`
    : 'Allowed';
}

const launch = (overrides: Partial<ConstructorParameters<typeof RunInstancesCommand>[0]> = {}) =>
  new RunInstancesCommand({
    ImageId: 'ami-0abc',
    InstanceType: 'm6i.xlarge',
    MinCount: 1,
    MaxCount: 1,
    IamInstanceProfile: { Name: 'snapshot-builder-instance' },
    TagSpecifications: ['instance', 'volume', 'network-interface'].map((t) => ({
      ResourceType: t as 'instance',
      Tags: tagList(builder()),
    })),
    ...overrides,
  });
const launchFacts = (overrides: CallFacts = {}): CallFacts => ({
  tags: { 'ami-0abc': {} },
  imageOwners: { 'ami-0abc': 'amazon' },
  profileRoles: {
    'snapshot-builder-instance': `arn:aws:iam::${ACCOUNT}:role/snapshot-builder-instance`,
  },
  ...overrides,
});

describe('the example permissions policy', () => {
  it('allows what the action sends that moto cannot run: fast snapshot restore and the default EBS key', async () => {
    const facts = { tags: { 'snap-0aaa': snapshot() } };
    for (const command of [
      new EnableFastSnapshotRestoresCommand({
        SourceSnapshotIds: ['snap-0aaa'],
        AvailabilityZones: ['us-west-2a'],
      }),
      new DisableFastSnapshotRestoresCommand({
        SourceSnapshotIds: ['snap-0aaa'],
        AvailabilityZones: ['us-west-2a'],
      }),
      new GetEbsDefaultKmsKeyIdCommand({}),
    ])
      expect(await outcome(await wire('ec2', command, facts))).toBe('Allowed');
  });

  it('authorizes a copy against both the source and the new snapshot, which only has request tags', async () => {
    const call = await wire(
      'ec2',
      new CopySnapshotCommand({
        SourceRegion: REGION,
        SourceSnapshotId: 'snap-0aaa',
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(snapshot()) }],
      }),
      { tags: { 'snap-0aaa': snapshot() } },
      'eu-west-1',
    );
    const decisions = await decide(call);
    expect(decisions.map((d) => `${d.request.action} ${d.request.resource} ${d.result}`)).toEqual([
      `ec2:CopySnapshot arn:aws:ec2:${REGION}::snapshot/snap-0aaa Allowed`,
      'ec2:CopySnapshot arn:aws:ec2:eu-west-1::snapshot/new Allowed',
      'ec2:CreateTags arn:aws:ec2:eu-west-1::snapshot/new Allowed',
    ]);
  });

  it.each<[string, 'ec2' | 'ssm', () => SdkCommand, CallFacts]>([
    [
      'terminating an instance without our tags',
      'ec2',
      () => new TerminateInstancesCommand({ InstanceIds: ['i-0aaa'] }),
      { tags: { 'i-0aaa': {} } },
    ],
    [
      "terminating another repository's builder",
      'ec2',
      () => new TerminateInstancesCommand({ InstanceIds: ['i-0aaa'] }),
      { tags: { 'i-0aaa': builder(THEIRS) } },
    ],
    [
      'stopping an instance without our tags',
      'ec2',
      () => new StopInstancesCommand({ InstanceIds: ['i-0aaa'] }),
      { tags: { 'i-0aaa': { Name: 'web' } } },
    ],
    [
      'sending a command to an instance without our tags',
      'ssm',
      () => new SendCommandCommand({ InstanceIds: ['i-0aaa'], DocumentName: 'AWS-RunShellScript' }),
      { tags: { 'i-0aaa': {} } },
    ],
    [
      "sending a command to another repository's builder",
      'ssm',
      () => new SendCommandCommand({ InstanceIds: ['i-0aaa'], DocumentName: 'AWS-RunShellScript' }),
      { tags: { 'i-0aaa': builder(THEIRS) } },
    ],
    [
      'sending another document to our builder',
      'ssm',
      () =>
        new SendCommandCommand({
          InstanceIds: ['i-0aaa'],
          DocumentName: 'AWS-RunPowerShellScript',
        }),
      { tags: { 'i-0aaa': builder() } },
    ],
    [
      'snapshotting a volume without our tags',
      'ec2',
      () =>
        new CreateSnapshotCommand({
          VolumeId: 'vol-0aaa',
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(snapshot()) }],
        }),
      { tags: { 'vol-0aaa': {} } },
    ],
    [
      "snapshotting another repository's builder volume",
      'ec2',
      () =>
        new CreateSnapshotCommand({
          VolumeId: 'vol-0aaa',
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(snapshot()) }],
        }),
      { tags: { 'vol-0aaa': builder(THEIRS) } },
    ],
    [
      'deleting a snapshot without our tags',
      'ec2',
      () => new DeleteSnapshotCommand({ SnapshotId: 'snap-0aaa' }),
      { tags: { 'snap-0aaa': {} } },
    ],
    [
      "deleting another repository's snapshot",
      'ec2',
      () => new DeleteSnapshotCommand({ SnapshotId: 'snap-0aaa' }),
      { tags: { 'snap-0aaa': snapshot(THEIRS) } },
    ],
    [
      'relabelling our checkpoint as a snapshot (a tag other than the finished mark)',
      'ec2',
      () =>
        new CreateTagsCommand({
          Resources: ['snap-0aaa'],
          Tags: [{ Key: 'bottlerocket-ebs-snapshot:role', Value: 'snapshot' }],
        }),
      { tags: { 'snap-0aaa': { ...OURS, 'bottlerocket-ebs-snapshot:role': 'checkpoint' } } },
    ],
    [
      "marking another repository's snapshot finished",
      'ec2',
      () =>
        new CreateTagsCommand({
          Resources: ['snap-0aaa'],
          Tags: [{ Key: 'bottlerocket-ebs-snapshot:state', Value: 'complete' }],
        }),
      { tags: { 'snap-0aaa': snapshot(THEIRS) } },
    ],
    [
      'sharing our snapshot with everyone (public)',
      'ec2',
      () =>
        new ModifySnapshotAttributeCommand({
          SnapshotId: 'snap-0aaa',
          Attribute: 'createVolumePermission',
          OperationType: 'add',
          GroupNames: ['all'],
        }),
      { tags: { 'snap-0aaa': snapshot() } },
    ],
    [
      "sharing another repository's snapshot",
      'ec2',
      () =>
        new ModifySnapshotAttributeCommand({
          SnapshotId: 'snap-0aaa',
          Attribute: 'createVolumePermission',
          OperationType: 'add',
          UserIds: ['111122223333'],
        }),
      { tags: { 'snap-0aaa': snapshot(THEIRS) } },
    ],
    [
      "copying another repository's snapshot",
      'ec2',
      () =>
        new CopySnapshotCommand({
          SourceRegion: REGION,
          SourceSnapshotId: 'snap-0aaa',
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(snapshot()) }],
        }),
      { tags: { 'snap-0aaa': snapshot(THEIRS) } },
    ],
    [
      "turning on fast snapshot restore (billed per hour) for another repository's snapshot",
      'ec2',
      () =>
        new EnableFastSnapshotRestoresCommand({
          SourceSnapshotIds: ['snap-0aaa'],
          AvailabilityZones: ['us-west-2a'],
        }),
      { tags: { 'snap-0aaa': snapshot(THEIRS) } },
    ],
    [
      'launching with another role (iam:PassRole)',
      'ec2',
      () => launch({ IamInstanceProfile: { Name: 'admin' } }),
      launchFacts({ profileRoles: { admin: `arn:aws:iam::${ACCOUNT}:role/admin` } }),
    ],
    [
      'launching a p5.48xlarge',
      'ec2',
      () => launch({ InstanceType: 'p5.48xlarge' }),
      launchFacts(),
    ],
    [
      'launching from an image another account owns',
      'ec2',
      () => launch(),
      launchFacts({ imageOwners: { 'ami-0abc': '444455556666' } }),
    ],
    [
      "launching an instance tagged as another repository's builder",
      'ec2',
      () =>
        launch({
          TagSpecifications: ['instance', 'volume', 'network-interface'].map((t) => ({
            ResourceType: t as 'instance',
            Tags: tagList(builder(THEIRS)),
          })),
        }),
      launchFacts(),
    ],
    [
      "building on another repository's snapshot",
      'ec2',
      () =>
        launch({
          BlockDeviceMappings: [{ DeviceName: '/dev/xvdb', Ebs: { SnapshotId: 'snap-0aaa' } }],
        }),
      launchFacts({ tags: { 'ami-0abc': {}, 'snap-0aaa': snapshot(THEIRS) } }),
    ],
    [
      'writing a parameter outside the placeholder path',
      'ssm',
      () => new PutParameterCommand({ Name: '/prod/db/password', Value: 'x', Type: 'String' }),
      {},
    ],
  ])('denies %s', async (_what, client, command, facts) => {
    expect(await outcome(await wire(client, command(), facts))).toMatch(/Denied/);
  });

  it('the same launch, snapshot, share and parameter calls with our tags are allowed (the denials are the conditions, not the shape)', async () => {
    const calls = [
      await wire('ec2', launch(), launchFacts()),
      await wire(
        'ec2',
        launch({
          BlockDeviceMappings: [{ DeviceName: '/dev/xvdb', Ebs: { SnapshotId: 'snap-0aaa' } }],
        }),
        launchFacts({ tags: { 'ami-0abc': {}, 'snap-0aaa': OURS } }),
      ),
      await wire('ec2', new TerminateInstancesCommand({ InstanceIds: ['i-0aaa'] }), {
        tags: { 'i-0aaa': builder() },
      }),
      await wire(
        'ssm',
        new SendCommandCommand({ InstanceIds: ['i-0aaa'], DocumentName: 'AWS-RunShellScript' }),
        { tags: { 'i-0aaa': builder() } },
      ),
      await wire(
        'ec2',
        new ModifySnapshotAttributeCommand({
          SnapshotId: 'snap-0aaa',
          Attribute: 'createVolumePermission',
          OperationType: 'add',
          UserIds: ['111122223333'],
        }),
        { tags: { 'snap-0aaa': snapshot() } },
      ),
      await wire(
        'ssm',
        new PutParameterCommand({
          Name: '/eks/node-cache/snapshot-id',
          Value: 'snap-0aaa',
          Type: 'String',
          Overwrite: true,
        }),
      ),
    ];
    for (const role of ['snapshot', 'checkpoint'])
      calls.push(
        await wire('ec2', new DeleteSnapshotCommand({ SnapshotId: 'snap-0aaa' }), {
          tags: { 'snap-0aaa': { ...OURS, 'bottlerocket-ebs-snapshot:role': role } },
        }),
      );
    calls.push(
      await wire(
        'ec2',
        new CreateTagsCommand({
          Resources: ['snap-0aaa'],
          Tags: [{ Key: 'bottlerocket-ebs-snapshot:state', Value: 'complete' }],
        }),
        { tags: { 'snap-0aaa': snapshot() } },
      ),
    );
    calls.push(await wire('ecr', new GetAuthorizationTokenCommand({})));
    for (const call of calls) expect(await outcome(call)).toBe('Allowed');
  });

  it("allows the registry API's reads on the account's ECR repositories for digest lookups, not another account's", async () => {
    // The runner reads manifests with the registry HTTP API and an ECR token; ECR authorizes
    // them as ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the repository (ECR guide,
    // "Private repository policies"). No SDK call, so no recorded one: evaluated directly.
    const read = (action: string, account: string) =>
      evaluate(
        {
          kind: 'identity',
          call: 'registry API (runner)',
          action,
          resource: `arn:aws:ecr:us-west-2:${account}:repository/app`,
          context: {},
        },
        policies,
      ).then((d) => d.result);
    expect(await read('ecr:BatchGetImage', ACCOUNT)).toBe('Allowed');
    expect(await read('ecr:GetDownloadUrlForLayer', ACCOUNT)).toBe('Allowed');
    expect(await read('ecr:BatchGetImage', '444455556666')).toBe('ImplicitlyDenied');
  });

  it('denies a public share explicitly, whatever else allows sharing', async () => {
    const call = await wire(
      'ec2',
      new ModifySnapshotAttributeCommand({
        SnapshotId: 'snap-0aaa',
        Attribute: 'createVolumePermission',
        OperationType: 'add',
        GroupNames: ['all'],
        UserIds: ['111122223333'],
      }),
      { tags: { 'snap-0aaa': snapshot() } },
    );
    const decisions = await decide(call);
    expect(
      decisions.map((d) => [
        d.request.context['ec2:Add/group'] ?? d.request.context['ec2:Add/userId'],
        d.result,
        d.statements,
      ]),
    ).toEqual([
      ['111122223333', 'Allowed', ['DistributeOwnSnapshots']],
      ['all', 'ExplicitlyDenied', ['NeverSharePublicly']],
    ]);
  });

  it('names an operation it has no authorization row for', async () => {
    const call = await wire('ec2', new DeleteSnapshotCommand({ SnapshotId: 'snap-0aaa' }));
    expect(() => authorizationsOf({ ...call, operation: 'DeleteVpc' })).toThrow(
      /ec2:DeleteVpc has no row in OPERATIONS/,
    );
  });
});

describe('the example trust policy', () => {
  const assume = (sub: string, aud = 'sts.amazonaws.com') =>
    evaluate(
      {
        kind: 'trust',
        call: 'sts:AssumeRoleWithWebIdentity',
        principal: OIDC_PROVIDER,
        action: 'sts:AssumeRoleWithWebIdentity',
        resource: `arn:aws:iam::${ACCOUNT}:role/snapshot-builder`,
        context: {
          'token.actions.githubusercontent.com:sub': sub,
          'token.actions.githubusercontent.com:aud': aud,
        },
      },
      policies,
    ).then((d) => d.result);

  it('accepts the example repository on main in both subject formats', async () => {
    expect(await assume('repo:acme/platform:ref:refs/heads/main')).toBe('Allowed');
    expect(await assume('repo:acme@1234567/platform@89101112:ref:refs/heads/main')).toBe('Allowed');
  });

  it.each([
    ['another repository', 'repo:acme/other:ref:refs/heads/main'],
    ['another repository, immutable format', 'repo:acme@1234567/other@5:ref:refs/heads/main'],
    ['another owner', 'repo:evil/platform:ref:refs/heads/main'],
    ['another branch', 'repo:acme/platform:ref:refs/heads/feature'],
    ['a pull request', 'repo:acme/platform:pull_request'],
  ])('rejects %s', async (_what, sub) => {
    expect(await assume(sub)).toBe('ImplicitlyDenied');
  });

  it('rejects another audience', async () => {
    expect(await assume('repo:acme/platform:ref:refs/heads/main', 'https://github.com/acme')).toBe(
      'ImplicitlyDenied',
    );
  });
});

describe('the evaluator (AGPL-3.0)', () => {
  it('is a devDependency that neither src/ nor the bundle contains', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies).filter((d) => d.startsWith('@cloud-copilot/'))).toEqual(
      [],
    );
    expect(pkg.devDependencies['@cloud-copilot/iam-simulate']).toBeDefined();
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? sources(join(dir, e.name)) : [join(dir, e.name)],
      );
    for (const file of [...sources(join(REPO_ROOT, 'src')), ...sources(join(REPO_ROOT, 'dist'))])
      expect([file, readFileSync(file, 'utf8').includes('cloud-copilot')]).toEqual([file, false]);
  });
});
