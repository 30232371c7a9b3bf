/**
 * aws-sdk-client-mock set-ups for a builder that behaves like the real thing:
 * an instance that runs, an SSM agent that comes online, a pull script that is
 * actually executed with the instance stand-ins, a snapshot that completes.
 * Tests override single operations to make one thing go wrong.
 */
import {
  CreateSnapshotCommand,
  DeleteSnapshotCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Snapshot,
  type Tag,
} from '@aws-sdk/client-ec2';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { ECRClient } from '@aws-sdk/client-ecr';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import type { AwsClients } from '../src/aws/clients.js';
import type { Clock } from '../src/core/clock.js';
import { runScript, simulatedInstance, type StubImage } from './instance-sim.js';

export const INSTANCE_ID = 'i-0123456789abcdef0';
export const VOLUME_ID = 'vol-0123456789abcdef0';
export const SNAPSHOT_ID = 'snap-0123456789abcdef0';
/** Checkpoint snapshots are numbered from 1 after this prefix. */
export const CHECKPOINT_PREFIX = 'snap-0c0ffee00000000';
export const AMI_X86 = 'ami-0aaaaaaaaaaaaaaaa';
export const AMI_ARM = 'ami-0bbbbbbbbbbbbbbbb';

export interface MockedAws {
  clients: AwsClients;
  ec2: AwsClientStub<EC2Client>;
  ssm: AwsClientStub<SSMClient>;
  sts: AwsClientStub<STSClient>;
  /** Scripts sent with SendCommand. */
  scripts: string[];
  /** Snapshots a search by tags finds (earlier builds); tests push to it. */
  existingSnapshots: Snapshot[];
  restore(): void;
}

/** Plain SDK clients (their sends are what aws-sdk-client-mock intercepts), as AwsClients. */
export function sdkClients(region = 'us-west-2'): AwsClients {
  return {
    ec2: new EC2Client({ region }),
    ssm: new SSMClient({ region }),
    sts: new STSClient({ region }),
    ecrFor: (r) => new ECRClient({ region: r }),
    ec2For: (r) => new EC2Client({ region: r }),
    ssmFor: (r) => new SSMClient({ region: r }),
    destroy: () => undefined,
  };
}

export interface MockAwsOptions {
  /**
   * The pull command is not run: it reports InProgress for `ms` of this clock's time, then
   * Success with `stdout`. Pulls that take virtual time, so what runs beside them (checkpoint
   * snapshots) can be followed deterministically.
   */
  simulatedCommand?: { clock: Clock; ms: number; stdout: string };
}

export function mockAws(
  registry: StubImage[],
  env: Record<string, string> = {},
  options: MockAwsOptions = {},
): MockedAws {
  const ec2 = mockClient(EC2Client);
  const ssm = mockClient(SSMClient);
  const sts = mockClient(STSClient);
  const scripts: string[] = [];
  const existingSnapshots: Snapshot[] = [];
  let state = 'pending';
  const invocations = new Map<
    string,
    Promise<{ code: number | null; stdout: string; stderr: string }>
  >();
  const sentAt = new Map<string, number>();

  sts.on(GetCallerIdentityCommand).resolves({
    Account: '123456789012',
    Arn: 'arn:aws:sts::123456789012:assumed-role/snapshot-builder/gha',
  });
  ec2.on(DescribeInstanceTypesCommand).callsFake((input: { InstanceTypes?: string[] }) => {
    const type = input.InstanceTypes?.[0] ?? '';
    const arch = /^[a-z]+\d+g/.test(type) ? 'arm64' : 'x86_64';
    return {
      InstanceTypes: [{ InstanceType: type, ProcessorInfo: { SupportedArchitectures: [arch] } }],
    };
  });
  ec2.on(DescribeImagesCommand).resolves({
    Images: [
      {
        ImageId: AMI_X86,
        Architecture: 'x86_64',
        Name: 'bottlerocket-aws-k8s-1.34-x86_64-v1.57.0',
      },
    ],
  });
  ssm.on(GetParameterCommand).callsFake((input: { Name?: string }) => ({
    Parameter: { Name: input.Name, Value: input.Name?.includes('/arm64/') ? AMI_ARM : AMI_X86 },
  }));
  ec2.on(RunInstancesCommand).callsFake(() => {
    state = 'pending';
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
  ec2.on(DescribeInstancesCommand).callsFake(() => {
    if (state === 'pending') state = 'running';
    else if (state === 'stopping') state = 'stopped';
    return {
      Reservations: [
        {
          Instances: [
            {
              InstanceId: INSTANCE_ID,
              State: { Name: state },
              BlockDeviceMappings: [
                { DeviceName: '/dev/xvda', Ebs: { VolumeId: 'vol-0root000000000000' } },
                { DeviceName: '/dev/xvdb', Ebs: { VolumeId: VOLUME_ID } },
              ],
            },
          ],
        },
      ],
    };
  });
  ec2.on(StopInstancesCommand).callsFake(() => {
    state = 'stopping';
    return {};
  });
  ec2.on(TerminateInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
    state = 'terminated';
    return {
      TerminatingInstances: (input.InstanceIds ?? []).map((InstanceId) => ({ InstanceId })),
    };
  });
  ssm.on(DescribeInstanceInformationCommand).resolves({
    InstanceInformationList: [{ InstanceId: INSTANCE_ID, PingStatus: 'Online' }],
  });
  ssm.on(SendCommandCommand).callsFake((input: { Parameters?: Record<string, string[]> }) => {
    const script = (input.Parameters?.commands ?? []).join('\n');
    scripts.push(script);
    const id = `cmd-${scripts.length}`;
    if (options.simulatedCommand) {
      sentAt.set(id, options.simulatedCommand.clock.now());
      return { Command: { CommandId: id } };
    }
    const instance = simulatedInstance(registry, env);
    invocations.set(
      id,
      runScript(script, instance).finally(() => instance.cleanup()),
    );
    return { Command: { CommandId: id } };
  });
  ssm.on(GetCommandInvocationCommand).callsFake(async (input: { CommandId?: string }) => {
    const started = sentAt.get(input.CommandId ?? '');
    const simulated = options.simulatedCommand;
    if (simulated && started !== undefined) {
      return simulated.clock.now() < started + simulated.ms
        ? { Status: 'InProgress', StatusDetails: 'InProgress' }
        : {
            Status: 'Success',
            StatusDetails: 'Success',
            ResponseCode: 0,
            StandardOutputContent: simulated.stdout,
          };
    }
    const run = await invocations.get(input.CommandId ?? '');
    if (!run)
      throw Object.assign(new Error('no such invocation'), { name: 'InvocationDoesNotExist' });
    return {
      Status: run.code === 0 ? 'Success' : 'Failed',
      StatusDetails: run.code === 0 ? 'Success' : 'Failed',
      ResponseCode: run.code ?? -1,
      StandardOutputContent: run.stdout.slice(0, 24000),
      StandardErrorContent: run.stderr.slice(0, 8000),
    };
  });
  ssm.on(CancelCommandCommand).resolves({});
  // Checkpoint snapshots (taken while pulling) get IDs of their own and complete at once.
  let checkpoints = 0;
  ec2
    .on(CreateSnapshotCommand)
    .callsFake((input: { TagSpecifications?: Array<{ Tags?: Tag[] }> }) => {
      const role = input.TagSpecifications?.[0]?.Tags?.find(
        (t) => t.Key === 'bottlerocket-ebs-snapshot:role',
      )?.Value;
      if (role !== 'checkpoint') return { SnapshotId: SNAPSHOT_ID, State: 'pending' };
      checkpoints++;
      return { SnapshotId: `${CHECKPOINT_PREFIX}${checkpoints}`, State: 'pending' };
    });
  let polls = 0;
  ec2
    .on(DescribeSnapshotsCommand)
    .callsFake(
      (input: {
        SnapshotIds?: string[];
        Filters?: Array<{ Name?: string; Values?: string[] }>;
      }) => {
        if (!input.SnapshotIds) {
          // A search by tags (reuse, base snapshot): the account's earlier snapshots.
          const matches = existingSnapshots.filter((snap) =>
            (input.Filters ?? []).every((f) => {
              if (f.Name === 'status') return f.Values?.includes(snap.State ?? '');
              if (f.Name?.startsWith('tag:')) {
                const key = f.Name.slice(4);
                return snap.Tags?.some((t) => t.Key === key && f.Values?.includes(t.Value ?? ''));
              }
              return true;
            }),
          );
          return { Snapshots: matches };
        }
        const id = input.SnapshotIds[0] ?? '';
        if (id.startsWith(CHECKPOINT_PREFIX)) {
          return { Snapshots: [{ SnapshotId: id, State: 'completed', Progress: '100%' }] };
        }
        polls++;
        return {
          Snapshots: [
            polls < 3
              ? {
                  SnapshotId: SNAPSHOT_ID,
                  State: 'pending',
                  Progress: `${polls * 40}%`,
                  VolumeSize: 50,
                }
              : { SnapshotId: SNAPSHOT_ID, State: 'completed', Progress: '100%', VolumeSize: 50 },
          ],
        };
      },
    );
  ec2.on(DeleteSnapshotCommand).resolves({});

  const clients = sdkClients();
  return {
    clients,
    ec2,
    ssm,
    sts,
    scripts,
    existingSnapshots,
    restore: () => {
      ec2.restore();
      ssm.restore();
      sts.restore();
    },
  };
}
