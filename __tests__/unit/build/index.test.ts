// buildSnapshot as a whole: the phases in order, what it creates and reports, and how cancellation
// ends it (src/build/index.ts). Each phase's own cases are in the test file of its module.
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  CreateSnapshotCommand,
  DeleteSnapshotCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CancelCommandCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import {
  buildSnapshot,
  BuildFailure,
  STATE_CLEAN,
  STATE_INSTANCE_IDS,
  STATE_PENDING_SNAPSHOT,
} from '../../../src/build/index.js';
import {
  INSTANCE_ID,
  mockAws,
  SNAPSHOT_ID,
  VOLUME_ID,
  type MockedAws,
} from '../../../test-support/aws-mocks.js';
import { rejectionOf } from '../../../test-support/rejection.js';
import { APP, config, deps, PAUSE, REGISTRY } from '../../../test-support/build.js';

let aws: MockedAws | undefined;
afterEach(() => aws?.restore());

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
});
