/**
 * The AWS side of a whole main step and its post step, on top of mockAws (aws-mocks.ts): the
 * builder instance as EC2 reports it to the sweeps by tag too (a terminated instance is no
 * longer found by a search on instance-state-name, as in EC2), no stray volumes, and a switch
 * that makes terminating it fail, so a main step can leave it behind for the post step; and
 * `mainStep`, a main step of one image on the in-memory runtime over it.
 */
import {
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  INSTANCE_ID,
  mockAws,
  VOLUME_ID,
  type MockAwsOptions,
  type MockedAws,
} from './aws-mocks.js';
import { SendCommandCommand } from '@aws-sdk/client-ssm';
import { MemoryRuntime } from './action-runtime.js';
import { successfulPullReport, type StubImage } from './instance-sim.js';
import { VirtualClock } from './virtual-clock.js';

export interface Builder {
  /** As DescribeInstances reports it; 'none' before RunInstances. */
  state: string;
  /** TerminateInstances fails with this error name while set. */
  terminateFails?: string;
}

export interface MockedRun extends MockedAws {
  builder: Builder;
}

function describeBuilder(builder: Builder) {
  return {
    Reservations: [
      {
        Instances: [
          {
            InstanceId: INSTANCE_ID,
            State: { Name: builder.state },
            BlockDeviceMappings: [
              { DeviceName: '/dev/xvda', Ebs: { VolumeId: 'vol-0root000000000000' } },
              { DeviceName: '/dev/xvdb', Ebs: { VolumeId: VOLUME_ID } },
            ],
          },
        ],
      },
    ],
  };
}

export function mockRun(registry: StubImage[], options: MockAwsOptions = {}): MockedRun {
  const aws = mockAws(registry, {}, options);
  const builder: Builder = { state: 'none' };
  aws.ec2.on(RunInstancesCommand).callsFake(() => {
    builder.state = 'pending';
    return {
      Instances: [
        {
          InstanceId: INSTANCE_ID,
          State: { Name: 'pending' },
          Placement: { AvailabilityZone: 'us-west-2a' },
        },
      ],
    };
  });
  aws.ec2
    .on(DescribeInstancesCommand)
    .callsFake((input: { Filters?: Array<{ Name?: string; Values?: string[] }> }) => {
      if (builder.state === 'pending') builder.state = 'running';
      else if (builder.state === 'stopping') builder.state = 'stopped';
      const states = input.Filters?.find((f) => f.Name === 'instance-state-name')?.Values;
      if (builder.state === 'none' || (states && !states.includes(builder.state))) {
        return { Reservations: [] };
      }
      return describeBuilder(builder);
    });
  aws.ec2.on(StopInstancesCommand).callsFake(() => {
    builder.state = 'stopping';
    return {};
  });
  aws.ec2.on(TerminateInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
    if (builder.terminateFails) {
      throw Object.assign(new Error('terminate failed'), { name: builder.terminateFails });
    }
    builder.state = 'terminated';
    return {
      TerminatingInstances: (input.InstanceIds ?? []).map((InstanceId) => ({ InstanceId })),
    };
  });
  aws.ec2.on(DescribeVolumesCommand).resolves({ Volumes: [] });
  return { ...aws, builder };
}

export const PAUSE = 'public.ecr.aws/eks-distro/kubernetes/pause:3.2';
export const PAUSE_DIGEST = `sha256:${'a'.repeat(64)}`;
const REGISTRY: StubImage[] = [{ ref: PAUSE, platforms: ['linux/amd64'], size: '301.6 KiB' }];
export const MAIN_INPUTS = {
  images: PAUSE,
  'aws-region': 'us-west-2',
  'instance-profile': 'snapshot-builder-instance',
};

const open: MockedRun[] = [];

/**
 * A main step that pulls the pause image in `pullMs` of virtual time, with the registries out
 * of reach (the build goes ahead without looking for reuse). `restoreMainSteps` after each test.
 */
export function mainStep(
  inputs: Record<string, string> = {},
  pullMs = 60_000,
): { rt: MemoryRuntime; aws: MockedRun } {
  const clock = new VirtualClock();
  const stdout = successfulPullReport([
    { index: 0, platform: 'linux/amd64', ms: pullMs, digest: PAUSE_DIGEST, size: '301.6 KiB' },
  ]);
  const aws = mockRun(REGISTRY, { simulatedCommand: { clock, ms: pullMs, stdout } });
  open.push(aws);
  const rt = new MemoryRuntime({
    inputs: { ...MAIN_INPUTS, ...inputs },
    clients: aws.clients,
    clock,
    fetch: () => Promise.reject(new Error('no network in this test')),
  });
  return { rt, aws };
}

/** SendCommand answers this: the build fails at the pull phase. */
export const SSM_BROKE = 'the SSM service broke';

/**
 * A main step whose build fails (SendCommand refused) and whose builder cannot be terminated
 * (until the test clears `aws.builder.terminateFails`): it leaves the builder for the post step.
 */
export function failingMainStep(inputs: Record<string, string> = {}, pullMs = 60_000) {
  const step = mainStep(inputs, pullMs);
  step.aws.ssm
    .on(SendCommandCommand)
    .rejects(Object.assign(new Error(SSM_BROKE), { name: 'InternalServerError' }));
  step.aws.builder.terminateFails = 'UnauthorizedOperation';
  return step;
}

export function restoreMainSteps(): void {
  for (const aws of open.splice(0)) aws.restore();
}
