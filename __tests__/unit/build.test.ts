import { afterEach, describe, expect, it } from '@jest/globals';
import {
  CreateSnapshotCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import {
  buildSnapshot,
  BuildFailure,
  STATE_CLEAN,
  STATE_INSTANCE_IDS,
  STATE_PENDING_SNAPSHOT,
  type BuildDeps,
} from '../../src/build.js';
import { VirtualClock } from '../../src/clock.js';
import { parseInputs, type BuildConfig } from '../../src/inputs.js';
import { MemoryLogger } from '../../src/logger.js';
import type { RunContext } from '../../src/run-context.js';
import {
  AMI_ARM,
  INSTANCE_ID,
  mockAws,
  SNAPSHOT_ID,
  VOLUME_ID,
  type MockedAws,
} from '../../test-support/aws-mocks.js';
import type { StubImage } from '../../test-support/instance-sim.js';

const PAUSE = 'public.ecr.aws/eks-distro/kubernetes/pause:3.2';
const APP = '123456789012.dkr.ecr.us-west-2.amazonaws.com/app:abc123';
const REGISTRY: StubImage[] = [
  { ref: PAUSE, platforms: ['linux/amd64', 'linux/arm64'], size: '301.6 KiB' },
  { ref: APP, platforms: ['linux/amd64', 'linux/arm64'], auth: 'ecr', size: '1.2 GiB' },
];

const context: RunContext = {
  repository: 'acme/platform',
  runId: '4242',
  runAttempt: '1',
  serverUrl: 'https://github.com',
  oidcAvailable: true,
};

function config(inputs: Record<string, string> = {}): BuildConfig {
  const all: Record<string, string> = {
    images: `${APP}\n${PAUSE}`,
    platforms: 'linux/amd64,linux/arm64',
    'aws-region': 'us-west-2',
    'instance-profile': 'snapshot-builder-instance',
    ...inputs,
  };
  return parseInputs((name) => all[name] ?? '').config;
}

/** The error a build fails with (the test fails if it succeeds). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected the build to fail');
}

let aws: MockedAws | undefined;
afterEach(() => aws?.restore());

function deps(mocked: MockedAws, extra: Partial<BuildDeps> = {}) {
  const state = new Map<string, string>();
  const logger = new MemoryLogger();
  const clock = new VirtualClock();
  const d: BuildDeps = {
    clients: mocked.clients,
    clock,
    logger,
    signal: new AbortController().signal,
    context,
    state: { save: (k, v) => state.set(k, v) },
    ...extra,
  };
  return { d, state, logger, clock };
}

describe('buildSnapshot', () => {
  it('launches, pulls, snapshots, terminates, and reports', async () => {
    aws = mockAws(REGISTRY);
    const { d, state, logger } = deps(aws);
    const result = await buildSnapshot(config(), d);

    expect(result.snapshotId).toBe(SNAPSHOT_ID);
    expect(result.volumeSizeGiB).toBe(50);
    expect(result.builderInstanceId).toBe(INSTANCE_ID);
    expect(result.images.map((i) => [i.reference, i.platform, i.status])).toEqual([
      [APP, 'linux/amd64', 'ok'],
      [APP, 'linux/arm64', 'ok'],
      [PAUSE, 'linux/amd64', 'ok'],
      [PAUSE, 'linux/arm64', 'ok'],
    ]);
    expect(result.images[0]?.size).toBe(Math.round(1.2 * 1024 ** 3));
    expect(result.phases.map((p) => [p.index, p.outcome])).toEqual([
      [1, 'ok'],
      [2, 'ok'],
      [3, 'ok'],
      [4, 'ok'],
      [5, 'ok'],
      [6, 'ok'],
      [7, 'ok'],
    ]);

    const run = aws.ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input;
    expect(run?.MetadataOptions?.HttpTokens).toBe('required');
    expect(run?.KeyName).toBeUndefined();
    expect(run?.IamInstanceProfile).toEqual({ Name: 'snapshot-builder-instance' });
    expect(run?.BlockDeviceMappings).toEqual([
      {
        DeviceName: '/dev/xvdb',
        Ebs: {
          VolumeSize: 50,
          VolumeType: 'gp3',
          DeleteOnTermination: true,
          Iops: 10000,
          Throughput: 1000,
        },
      },
    ]);
    expect(Buffer.from(run?.UserData ?? '', 'base64').toString()).toContain(
      '[settings.host-containers.admin]\nenabled = true',
    );
    const instanceTags = run?.TagSpecifications?.find((t) => t.ResourceType === 'instance')?.Tags;
    expect(instanceTags).toEqual(
      expect.arrayContaining([
        { Key: 'bottlerocket-ebs-snapshot:run', Value: 'acme/platform/4242/1' },
      ]),
    );
    expect(run?.TagSpecifications?.map((t) => t.ResourceType)).toEqual([
      'instance',
      'volume',
      'network-interface',
    ]);

    // stop (consistent volume), snapshot the data volume, terminate, then wait for completion
    const order = [...aws.ec2.calls(), ...aws.ssm.calls()].length;
    expect(order).toBeGreaterThan(0);
    expect(aws.ec2.commandCalls(StopInstancesCommand)).toHaveLength(1);
    const snap = aws.ec2.commandCalls(CreateSnapshotCommand)[0]?.args[0].input;
    expect(snap?.VolumeId).toBe(VOLUME_ID);
    expect(snap?.Description?.length).toBeLessThanOrEqual(255);
    const snapTags = Object.fromEntries(
      (snap?.TagSpecifications?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value]),
    );
    expect(snapTags).toMatchObject({
      'bottlerocket-ebs-snapshot:run': 'acme/platform/4242/1',
      'bottlerocket-ebs-snapshot:variant': 'aws-k8s-1.34',
      'bottlerocket-ebs-snapshot:platforms': 'linux/amd64,linux/arm64',
      'bottlerocket-ebs-snapshot:snapshotter': 'overlayfs',
    });
    expect(snapTags['bottlerocket-ebs-snapshot:images']).toContain(PAUSE);
    expect(aws.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
    expect(aws.ec2.commandCalls(DeleteSnapshotCommand)).toHaveLength(0);
    expect(state.get(STATE_INSTANCE_IDS)).toBe('');
    expect(state.get(STATE_PENDING_SNAPSHOT)).toBe('');

    // SSM command: short comment, bounded execution, no credentials in parameters
    const send = aws.ssm.commandCalls(SendCommandCommand)[0]?.args[0].input;
    expect(send?.DocumentName).toBe('AWS-RunShellScript');
    expect(send?.Comment?.length).toBeLessThanOrEqual(100);
    expect(Number(send?.Parameters?.executionTimeout?.[0])).toBeGreaterThan(0);
    const params = JSON.stringify(send?.Parameters);
    expect(params).not.toMatch(/--user AWS:[A-Za-z0-9]/);
    expect(params).not.toMatch(/AKIA|ASIA|aws_secret|SessionToken/i);

    expect(logger.text()).toContain('[5/7] Pulling 2 images for 2 platforms');
  });

  it('falls back to the next instance type when EC2 has no capacity, with the AMI of its architecture', async () => {
    aws = mockAws(REGISTRY);
    aws.ec2
      .on(RunInstancesCommand)
      .rejectsOnce(
        Object.assign(new Error('We currently do not have sufficient m6i.xlarge capacity'), {
          name: 'InsufficientInstanceCapacity',
        }),
      )
      .resolves({ Instances: [{ InstanceId: INSTANCE_ID }] });
    const { d, logger } = deps(aws);
    const result = await buildSnapshot(config({ 'instance-type': 'm6i.xlarge, m7g.xlarge' }), d);
    expect(result.instanceType).toBe('m7g.xlarge');
    expect(result.imageId).toBe(AMI_ARM);
    const calls = aws.ec2
      .commandCalls(RunInstancesCommand)
      .map((c) => c.args[0].input.InstanceType);
    expect(calls).toEqual(['m6i.xlarge', 'm7g.xlarge']);
    expect(logger.messages('warning').join('\n')).toContain('No capacity for m6i.xlarge');
  });

  it('fails with every failed image named, and leaves nothing behind', async () => {
    aws = mockAws([
      REGISTRY[0]!,
      {
        ref: APP,
        platforms: ['linux/amd64'],
        auth: 'ecr',
        error: 'failed to resolve reference: unexpected status 403 Forbidden',
      },
    ]);
    const { d, state } = deps(aws);
    const error = await failure(buildSnapshot(config(), d));
    expect(error).toBeInstanceOf(BuildFailure);
    const message = (error as Error).message;
    expect(message).toContain('2 pulls failed');
    expect(message).toContain(
      `${APP} (linux/amd64): ctr: failed to resolve reference: unexpected status 403 Forbidden`,
    );
    expect(message).toContain(`${APP} (linux/arm64)`);
    expect((error as BuildFailure).phases.at(-1)).toMatchObject({ index: 5, outcome: 'failed' });
    expect(aws.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
    expect(aws.ec2.commandCalls(CreateSnapshotCommand)).toHaveLength(0);
    expect(state.get(STATE_INSTANCE_IDS)).toBe('');
  });

  it('points at on-missing-platform when an image lacks a platform', async () => {
    aws = mockAws([REGISTRY[0]!, { ref: APP, platforms: ['linux/amd64'], auth: 'ecr' }]);
    const error = await failure(buildSnapshot(config(), deps(aws).d));
    expect(error.message).toContain('no match for platform');
    expect(error.message).toContain('on-missing-platform: skip');
  });

  it('skips a missing platform with a warning when asked', async () => {
    aws = mockAws([REGISTRY[0]!, { ref: APP, platforms: ['linux/amd64'], auth: 'ecr' }]);
    const { d } = deps(aws);
    const result = await buildSnapshot(config({ 'on-missing-platform': 'skip' }), d);
    expect(result.warnings).toEqual([
      `Skipped ${APP} (linux/arm64): the image has no linux/arm64 variant (on-missing-platform: skip).`,
    ]);
    expect(result.images.filter((i) => i.status === 'skip')).toHaveLength(1);
  });

  it('gives up on SSM within its bound, explains the usual causes, and terminates', async () => {
    aws = mockAws(REGISTRY);
    aws.ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const { d, clock } = deps(aws, { bounds: { ssmOnlineMs: 10 * 60_000 } });
    const start = clock.now();
    const error = await failure(buildSnapshot(config(), d));
    expect(error.message).toContain(
      'waiting for the builder i-0123456789abcdef0 to come online in SSM',
    );
    expect(error.message).toContain('AmazonSSMManagedInstanceCore');
    expect(clock.now() - start).toBeGreaterThanOrEqual(10 * 60_000);
    expect(clock.now() - start).toBeLessThan(12 * 60_000);
    expect(aws.ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(aws.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
  });

  it('fails when the snapshot goes to error, deletes it, and terminates', async () => {
    aws = mockAws(REGISTRY);
    aws.ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [{ SnapshotId: SNAPSHOT_ID, State: 'error', StateMessage: 'internal error' }],
    });
    const { d, state } = deps(aws);
    const error = await failure(buildSnapshot(config(), d));
    expect(error.message).toBe(`Snapshot ${SNAPSHOT_ID} failed (state 'error': internal error).`);
    expect(aws.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
    expect(aws.ec2.commandCalls(DeleteSnapshotCommand)[0]?.args[0].input).toEqual({
      SnapshotId: SNAPSHOT_ID,
    });
    expect(state.get(STATE_PENDING_SNAPSHOT)).toBe('');
  });

  it('on cancellation mid-pull: cancels the SSM command, terminates, and says it was cancelled', async () => {
    aws = mockAws(REGISTRY);
    const controller = new AbortController();
    aws.ssm.on(GetCommandInvocationCommand).callsFake(() => {
      controller.abort(new Error('SIGINT'));
      return { Status: 'InProgress', StatusDetails: 'InProgress' };
    });
    const { d } = deps(aws, { signal: controller.signal });
    const error = await failure(buildSnapshot(config(), d));
    expect(error).toBeInstanceOf(BuildFailure);
    expect(error.message).toBe('The run was cancelled.');
    expect(aws.ssm.commandCalls(CancelCommandCommand)).toHaveLength(1);
    expect(aws.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
    expect(aws.ec2.commandCalls(CreateSnapshotCommand)).toHaveLength(0);
  });

  it('stops at timeout-minutes, naming the bound', async () => {
    aws = mockAws(REGISTRY);
    aws.ssm
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'InProgress', StatusDetails: 'InProgress' });
    const { d, clock } = deps(aws);
    const start = clock.now();
    const error = await failure(buildSnapshot(config({ 'timeout-minutes': '15' }), d));
    expect(error.message).toContain('timeout-minutes (15)');
    expect(clock.now() - start).toBeLessThanOrEqual(16 * 60_000);
    expect(aws.ssm.commandCalls(CancelCommandCommand)).toHaveLength(1);
    expect(aws.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
  });

  it('keeps the instance running for a live snapshot and quiesces containerd instead', async () => {
    aws = mockAws(REGISTRY);
    const result = await buildSnapshot(config({ 'snapshot-mode': 'live' }), deps(aws).d);
    expect(result.snapshotId).toBe(SNAPSHOT_ID);
    expect(aws.ec2.commandCalls(StopInstancesCommand)).toHaveLength(0);
    expect(aws.scripts[0]).toContain('QUIESCE=1');
  });

  it('records the builder in state as soon as it exists, for the post step', async () => {
    aws = mockAws(REGISTRY);
    const saved: Array<[string, string]> = [];
    aws.ssm
      .on(SendCommandCommand)
      .rejects(Object.assign(new Error('boom'), { name: 'InternalServerError' }));
    const { d } = deps(aws, { state: { save: (k, v) => saved.push([k, v]) } });
    await buildSnapshot(config(), d).catch(() => undefined);
    expect(saved).toContainEqual([STATE_INSTANCE_IDS, INSTANCE_ID]);
    expect(saved.slice(-2)).toEqual([
      [STATE_INSTANCE_IDS, ''],
      [STATE_CLEAN, 'true'],
    ]);
  });
});
