import { afterEach, describe, expect, it, jest } from '@jest/globals';
import {
  CreateSnapshotCommand,
  CreateTagsCommand,
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
  STATE_CHECKPOINTS,
  STATE_CLEAN,
  STATE_INSTANCE_IDS,
  STATE_PENDING_SNAPSHOT,
  type BuildDeps,
} from '../../src/build/index.js';
import { VirtualClock } from '../../test-support/virtual-clock.js';
import { MAX_USER_TAGS, parseInputs } from '../../src/action/inputs/index.js';
import type { BuildConfig } from '../../src/config/types.js';
import { MemoryLogger } from '../../test-support/memory-logger.js';
import type { RunContext } from '../../src/config/run-context.js';
import {
  AMI_ARM,
  CHECKPOINT_PREFIX,
  INSTANCE_ID,
  mockAws,
  SNAPSHOT_ID,
  VOLUME_ID,
  type MockedAws,
} from '../../test-support/aws-mocks.js';
import { successfulPullReport, type StubImage } from '../../test-support/instance-sim.js';
import { buildSummary } from '../../src/reporting/summary.js';
import { buildKey } from '../../src/cache/build-key.js';
import type { ResolveResult } from '../../src/cache/registry/index.js';
import { rejectionOf } from '../../test-support/rejection.js';

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
    // The pull script runs here in real time while the build's clock is virtual: a checkpoint
    // chain would race ahead of it. Checkpoints have their own tests with pulls in virtual time.
    'checkpoint-snapshots': 'false',
    ...inputs,
  };
  return parseInputs((name) => all[name] ?? '').config;
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
      [8, 'ok'],
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

    expect(logger.text()).toContain('[6/8] Pulling 2 images for 2 platforms');
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
    const error = await rejectionOf(buildSnapshot(config(), d));
    expect(error).toBeInstanceOf(BuildFailure);
    const message = (error as Error).message;
    expect(message).toContain('2 pulls failed');
    expect(message).toContain(
      `${APP} (linux/amd64): ctr: failed to resolve reference: unexpected status 403 Forbidden`,
    );
    expect(message).toContain(`${APP} (linux/arm64)`);
    expect((error as BuildFailure).phases.at(-1)).toMatchObject({ index: 6, outcome: 'failed' });
    expect(aws.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
    expect(aws.ec2.commandCalls(CreateSnapshotCommand)).toHaveLength(0);
    expect(state.get(STATE_INSTANCE_IDS)).toBe('');
  });

  it('points at volume-size when the data volume is full', async () => {
    aws = mockAws([
      REGISTRY[0]!,
      {
        ref: APP,
        platforms: ['linux/amd64', 'linux/arm64'],
        auth: 'ecr',
        error: 'failed to extract layer: write /var/lib/containerd/x: no space left on device',
      },
    ]);
    const error = await rejectionOf(buildSnapshot(config(), deps(aws).d));
    expect(error.message).toContain("raise 'volume-size'");
    expect(aws.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
  });

  it('points at on-missing-platform when an image lacks a platform', async () => {
    aws = mockAws([REGISTRY[0]!, { ref: APP, platforms: ['linux/amd64'], auth: 'ecr' }]);
    const error = await rejectionOf(buildSnapshot(config(), deps(aws).d));
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
    const error = await rejectionOf(buildSnapshot(config(), d));
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
    const error = await rejectionOf(buildSnapshot(config(), d));
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
    const error = await rejectionOf(buildSnapshot(config(), d));
    expect(error).toBeInstanceOf(BuildFailure);
    expect(error.message).toBe('The run was cancelled.');
    expect(aws.ssm.commandCalls(CancelCommandCommand)).toHaveLength(1);
    expect(aws.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
    expect(aws.ec2.commandCalls(CreateSnapshotCommand)).toHaveLength(0);
  });

  it('cuts off an SDK request in flight at timeout-minutes, and cleans up', async () => {
    aws = mockAws(REGISTRY);
    const mocked = aws;
    // A request that hangs until its abort signal fires (what the SDK's HTTP handler does).
    mocked.ssm.on(SendCommandCommand).callsFake(() => {
      const call = mocked.ssm.commandCalls(SendCommandCommand).at(-1);
      const options = (call?.args as unknown[] | undefined)?.[1] as
        { abortSignal?: AbortSignal } | undefined;
      return new Promise((_, reject) => {
        options?.abortSignal?.addEventListener('abort', () =>
          reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })),
        );
      });
    });
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const { d } = deps(aws);
      const build = rejectionOf(buildSnapshot(config({ 'timeout-minutes': '15' }), d));
      // Let the build reach the hanging request, then move the wall clock to the deadline.
      for (let i = 0; i < 200 && mocked.ssm.commandCalls(SendCommandCommand).length === 0; i++)
        await new Promise((r) => setImmediate(r));
      expect(mocked.ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
      jest.advanceTimersByTime(15 * 60_000);
      const error = await build;
      expect(error.message).toBe('timeout-minutes (15) was reached: the build was stopped.');
      expect(mocked.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
    } finally {
      jest.useRealTimers();
    }
  });

  it('stops at timeout-minutes, naming the bound', async () => {
    aws = mockAws(REGISTRY);
    aws.ssm
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'InProgress', StatusDetails: 'InProgress' });
    const { d, clock } = deps(aws);
    const start = clock.now();
    const error = await rejectionOf(buildSnapshot(config({ 'timeout-minutes': '15' }), d));
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

  it('cancellation cuts off a RunInstances in flight (the sweep finds what EC2 made); an ID that arrives is terminated', async () => {
    aws = mockAws(REGISTRY);
    const controller = new AbortController();
    aws.ec2.on(RunInstancesCommand).callsFake(() => {
      controller.abort(new Error('cancelled by the runner'));
      return { Instances: [{ InstanceId: INSTANCE_ID, State: { Name: 'pending' } }] };
    });
    const { d, state } = deps(aws, { signal: controller.signal });
    const error = await rejectionOf(buildSnapshot(config(), d));
    expect(error.message).toBe('The run was cancelled.');
    // The request is tied to cancellation: the SDK aborts it (this mock answers anyway).
    const call = aws.ec2.commandCalls(RunInstancesCommand)[0];
    const sent = (call?.args as unknown[] | undefined)?.[1] as
      { abortSignal?: AbortSignal } | undefined;
    expect(sent?.abortSignal?.aborted).toBe(true);
    expect(aws.ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input.InstanceIds).toEqual([
      INSTANCE_ID,
    ]);
    expect(state.get(STATE_INSTANCE_IDS)).toBe('');
    // Only a sweep by tag may say nothing is left.
    expect(state.get(STATE_CLEAN)).toBeUndefined();
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
    expect(saved.at(-1)).toEqual([STATE_INSTANCE_IDS, '']);
    expect(saved.map(([k]) => k)).not.toContain(STATE_CLEAN);
  });

  describe('checkpoint snapshots', () => {
    /** A build whose pulls take `pullMs` of virtual time (the command is simulated). */
    function slowPulls(pullMs: number) {
      const clock = new VirtualClock();
      const stdout = successfulPullReport(
        [APP, PAUSE].flatMap((_, index) =>
          ['linux/amd64', 'linux/arm64'].map((platform) => ({
            index,
            platform,
            ms: pullMs,
            digest: `sha256:${String(index).repeat(64)}`,
            size: '1.0 GiB',
          })),
        ),
      );
      aws = mockAws(REGISTRY, {}, { simulatedCommand: { clock, ms: pullMs, stdout } });
      return deps(aws, { clock });
    }
    const createdRoles = () =>
      (aws?.ec2.commandCalls(CreateSnapshotCommand) ?? []).map(
        (c) =>
          c.args[0].input.TagSpecifications?.[0]?.Tags?.find(
            (t) => t.Key === 'bottlerocket-ebs-snapshot:role',
          )?.Value,
      );

    it('takes them while pulling, then deletes them once the final snapshot completed', async () => {
      const { d, state, logger } = slowPulls(5 * 60_000);
      const result = await buildSnapshot(config({ 'checkpoint-snapshots': 'true' }), d);

      const roles = createdRoles();
      expect(roles.at(-1)).toBe('snapshot');
      const checkpoints = roles.slice(0, -1);
      expect(checkpoints.length).toBeGreaterThanOrEqual(10);
      expect(checkpoints.every((r) => r === 'checkpoint')).toBe(true);
      const first = aws?.ec2.commandCalls(CreateSnapshotCommand)[0]?.args[0].input;
      expect(first?.VolumeId).toBe(VOLUME_ID);
      expect(first?.Description).toMatch(/^Checkpoint \(deleted when the build ends\): /);
      const tags = Object.fromEntries(
        (first?.TagSpecifications?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value]),
      );
      // Run tag for the post step; never lineage or build key (reuse and retention ignore them).
      expect(tags['bottlerocket-ebs-snapshot:run']).toBe('acme/platform/4242/1');
      expect(tags['bottlerocket-ebs-snapshot:lineage']).toBeUndefined();
      expect(tags['bottlerocket-ebs-snapshot:build-key']).toBeUndefined();

      const ids = checkpoints.map((_, i) => `${CHECKPOINT_PREFIX}${i + 1}`);
      expect(result.snapshotId).toBe(SNAPSHOT_ID);
      expect(result.checkpoints?.ids).toEqual(ids);
      const deleted = aws?.ec2
        .commandCalls(DeleteSnapshotCommand)
        .map((c) => c.args[0].input.SnapshotId);
      expect(deleted).toEqual(ids);
      // Deleted only after the final snapshot was seen completed: its last look comes first.
      const calls = aws?.ec2.calls() ?? [];
      const firstDelete = calls.findIndex((c) => c.args[0] instanceof DeleteSnapshotCommand);
      const lastLookAtFinal = calls.findLastIndex(
        (c) =>
          c.args[0] instanceof DescribeSnapshotsCommand &&
          (c.args[0].input.SnapshotIds ?? []).includes(SNAPSHOT_ID),
      );
      expect(lastLookAtFinal).toBeGreaterThan(0);
      expect(firstDelete).toBeGreaterThan(lastLookAtFinal);
      expect(state.get(STATE_CHECKPOINTS)).toBe('');
      expect(logger.text()).toContain(`Deleted ${ids.length} checkpoint snapshot(s)`);
      expect(buildSummary(result)).toContain(
        `${ids.length} checkpoint snapshots copied the data volume`,
      );
    });

    it('takes none with checkpoint-snapshots: false', async () => {
      const { d } = slowPulls(5 * 60_000);
      const result = await buildSnapshot(config({ 'checkpoint-snapshots': 'false' }), d);
      expect(createdRoles()).toEqual(['snapshot']);
      expect(result.checkpoints).toBeUndefined();
      expect(buildSummary(result)).not.toContain('checkpoint');
    });

    it('deletes them when the build fails, with the unfinished final snapshot', async () => {
      const { d, state } = slowPulls(3 * 60_000);
      aws?.ec2
        .on(DescribeSnapshotsCommand, { SnapshotIds: [SNAPSHOT_ID] })
        .resolves({ Snapshots: [{ SnapshotId: SNAPSHOT_ID, State: 'error' }] });
      await rejectionOf(buildSnapshot(config({ 'checkpoint-snapshots': 'true' }), d));
      const checkpoints = createdRoles().filter((r) => r === 'checkpoint').length;
      expect(checkpoints).toBeGreaterThan(0);
      const deleted = aws?.ec2
        .commandCalls(DeleteSnapshotCommand)
        .map((c) => c.args[0].input.SnapshotId);
      expect(deleted?.sort()).toEqual(
        [
          SNAPSHOT_ID,
          ...Array.from({ length: checkpoints }, (_, i) => `${CHECKPOINT_PREFIX}${i + 1}`),
        ].sort(),
      );
      expect(state.get(STATE_CHECKPOINTS)).toBe('');
    });

    it('leaves what it could not delete to the post step, in state', async () => {
      const { d, state, logger } = slowPulls(2 * 60_000);
      aws?.ec2
        .on(DeleteSnapshotCommand)
        .rejects(Object.assign(new Error('not allowed'), { name: 'UnauthorizedOperation' }));
      const result = await buildSnapshot(config({ 'checkpoint-snapshots': 'true' }), d);
      const ids = result.checkpoints?.ids ?? [];
      expect(ids.length).toBeGreaterThan(0);
      expect(state.get(STATE_CHECKPOINTS)).toBe(ids.join(','));
      expect(logger.messages('warning').join('\n')).toContain(
        `Could not delete checkpoint snapshot ${ids[0] ?? ''}: not allowed. The post step will try again.`,
      );
    });
  });

  describe('reuse and incremental builds', () => {
    const digestOf = (n: string) => `sha256:${n.repeat(64)}`;
    const resolved = (c: BuildConfig, missing?: string): ResolveResult => ({
      resolved: c.images.map((image, i) => ({
        image,
        digest: digestOf(String(i + 1)),
        mediaType: 'application/vnd.oci.image.index.v1+json',
        platforms: c.platforms.map((platform) => ({
          platform,
          digest:
            missing === `${image.normalized} ${platform}`
              ? null
              : digestOf(`${i + 1}${platform.length}`[1] ?? 'f'),
        })),
      })),
      failures: [],
    });

    it('pulls and resolves images of a cached registry through the ECR pull-through cache, keeping their names', async () => {
      const GHCR = 'ghcr.io/acme/trainer:v7';
      const CACHED = '123456789012.dkr.ecr.us-west-2.amazonaws.com/ghcr/acme/trainer:v7';
      aws = mockAws([
        { ref: CACHED, platforms: ['linux/amd64', 'linux/arm64'], auth: 'ecr' },
        ...REGISTRY,
      ]);
      const c = config({ images: `${GHCR}\n${PAUSE}`, 'pull-through-cache': 'ghcr.io=ghcr' });
      const asked: string[] = [];
      const { d, logger } = deps(aws, {
        resolveDigests: async (images) => {
          asked.push(...images.map((i) => i.normalized));
          return resolved({ ...c, images: [...images] });
        },
      });
      const result = await buildSnapshot(c, d);
      expect(asked).toEqual([CACHED, PAUSE]);
      // The build key and the report speak of the images by their own names.
      expect(result.buildKey).toBe(buildKey(c, resolved(c).resolved));
      expect(result.images.map((i) => [i.reference, i.status])).toEqual([
        [GHCR, 'ok'],
        [GHCR, 'ok'],
        [PAUSE, 'ok'],
        [PAUSE, 'ok'],
      ]);
      expect(aws.scripts[0]).toContain(`SRCS=('${CACHED}' '${PAUSE}')`);
      expect(aws.scripts[0]).toContain(`REFS=('${GHCR}' '${PAUSE}')`);
      expect(logger.text()).toContain(
        `${GHCR} comes through the ECR pull-through cache: ${CACHED}`,
      );
    });

    it('reuses a completed snapshot with the same build key and launches nothing', async () => {
      aws = mockAws(REGISTRY);
      const c = config();
      const r = resolved(c);
      // Another lineage's snapshot with the same key (listed first) is not reused: that
      // lineage's retention may delete it.
      const keyed = (id: string, lineage: string) => ({
        SnapshotId: id,
        State: 'completed' as const,
        VolumeSize: 50,
        Tags: [
          { Key: 'bottlerocket-ebs-snapshot:build-key', Value: buildKey(c, r.resolved) },
          { Key: 'bottlerocket-ebs-snapshot:lineage', Value: lineage },
        ],
      });
      aws.existingSnapshots.push(
        keyed('snap-0bbbbbbbbbbbbbbbb', 'acme/other'),
        keyed('snap-0aaaaaaaaaaaaaaaa', 'acme/platform'),
      );
      const { d, state } = deps(aws, { resolveDigests: async () => r });
      const result = await buildSnapshot(c, d);
      expect(result.cacheHit).toBe(true);
      expect(result.snapshotId).toBe('snap-0aaaaaaaaaaaaaaaa');
      expect(result.images.every((i) => i.reused)).toBe(true);
      expect(result.phases.map((p) => p.outcome)).toEqual([
        'ok',
        'ok',
        'skipped',
        'skipped',
        'skipped',
        'skipped',
        'skipped',
        'skipped',
      ]);
      expect(aws.ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
      expect(state.get(STATE_INSTANCE_IDS)).toBeUndefined();
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

    it('fails before launching when the registry says an image lacks a platform', async () => {
      aws = mockAws(REGISTRY);
      const c = config();
      const error = await rejectionOf(
        buildSnapshot(
          c,
          deps(aws, { resolveDigests: async () => resolved(c, `${PAUSE} linux/arm64`) }).d,
        ),
      );
      expect(error.message).toContain(`${PAUSE} (linux/arm64)`);
      expect(error.message).toContain('on-missing-platform: skip');
      expect(aws.ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
    });

    it('says why a digest could not be resolved, and builds anyway without a key', async () => {
      aws = mockAws(REGISTRY);
      const c = config();
      const r = resolved(c);
      const { d } = deps(aws, {
        resolveDigests: async () => ({
          resolved: r.resolved.slice(1),
          failures: [
            { image: c.images[0]!, reason: 'not authorized: denied', kind: 'unauthorized' },
          ],
        }),
      });
      const result = await buildSnapshot(c, d);
      expect(result.buildKey).toBeUndefined();
      expect(result.warnings[0]).toContain(
        `Could not resolve ${APP} from the runner: not authorized: denied`,
      );
      expect(aws.ec2.commandCalls(RunInstancesCommand)).toHaveLength(1);
    });

    it('builds on the newest compatible snapshot of the lineage, pruning what is no longer listed', async () => {
      aws = mockAws(REGISTRY);
      const lineageTag = { Key: 'bottlerocket-ebs-snapshot:lineage', Value: 'acme/platform' };
      aws.existingSnapshots.push(
        {
          SnapshotId: 'snap-0000000000000old',
          State: 'completed',
          VolumeSize: 50,
          StartTime: new Date('2026-01-01'),
          Tags: [lineageTag],
        },
        {
          SnapshotId: 'snap-00000000000other',
          State: 'completed',
          VolumeSize: 50,
          StartTime: new Date('2026-03-01'),
          Tags: [lineageTag, { Key: 'bottlerocket-ebs-snapshot:snapshotter', Value: 'soci' }],
        },
        {
          SnapshotId: 'snap-000000000000newer',
          State: 'completed',
          VolumeSize: 40,
          StartTime: new Date('2026-02-01'),
          Tags: [lineageTag, { Key: 'bottlerocket-ebs-snapshot:snapshotter', Value: 'overlayfs' }],
        },
      );
      // As many user tags as allowed, a build key and an invocation: still within EC2's 50.
      const userTags = Array.from({ length: MAX_USER_TAGS }, (_, i) => `k${i}=v`).join('\n');
      const c = config({ tags: userTags });
      const result = await buildSnapshot(
        c,
        deps(aws, {
          context: { ...context, invocation: '0123456789ab' },
          resolveDigests: async () => resolved(c),
        }).d,
      );
      expect(result.buildKey).toBeDefined();
      expect(result.baseSnapshotId).toBe('snap-000000000000newer');
      expect(
        aws.ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input.BlockDeviceMappings?.[0]?.Ebs
          ?.SnapshotId,
      ).toBe('snap-000000000000newer');
      expect(aws.scripts[0]).toContain('PRUNE=1');
      const tags =
        aws.ec2.commandCalls(CreateSnapshotCommand)[0]?.args[0].input.TagSpecifications?.[0]?.Tags;
      expect(tags).toContainEqual({
        Key: 'bottlerocket-ebs-snapshot:base-snapshot',
        Value: 'snap-000000000000newer',
      });
      // A copy adds its source tag: one more must fit.
      expect(tags?.length).toBeLessThanOrEqual(49);
    });

    it('refuses a base-snapshot that does not fit, before launching', async () => {
      aws = mockAws(REGISTRY);
      aws.ec2.on(DescribeSnapshotsCommand, { SnapshotIds: ['snap-0bbbbbbbbbbbbbbbb'] }).resolves({
        Snapshots: [{ SnapshotId: 'snap-0bbbbbbbbbbbbbbbb', State: 'completed', VolumeSize: 200 }],
      });
      const error = await rejectionOf(
        buildSnapshot(config({ 'base-snapshot': 'snap-0bbbbbbbbbbbbbbbb' }), deps(aws).d),
      );
      expect(error.message).toBe(
        "Input 'base-snapshot': snap-0bbbbbbbbbbbbbbbb cannot be the base of this build: it is 200 GiB, larger than volume-size 50.",
      );
      expect(aws.ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
    });

    it('never builds on a base with base-snapshot: none', async () => {
      aws = mockAws(REGISTRY);
      aws.existingSnapshots.push({
        SnapshotId: 'snap-0000000000000old',
        State: 'completed',
        VolumeSize: 50,
        Tags: [{ Key: 'bottlerocket-ebs-snapshot:lineage', Value: 'acme/platform' }],
      });
      const result = await buildSnapshot(config({ 'base-snapshot': 'none' }), deps(aws).d);
      expect(result.baseSnapshotId).toBeUndefined();
      expect(aws.scripts[0]).toContain('PRUNE=0');
    });
  });
});
