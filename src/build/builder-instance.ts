/**
 * The builder: one Bottlerocket instance launched directly with RunInstances,
 * its data volume (/dev/xvdb) sized and provisioned for fast pulls, reachable
 * only through SSM (no SSH, IMDSv2 required), and always terminated at the end.
 */
import {
  DescribeInstancesCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type BlockDeviceMapping,
  type EC2Client,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { createHash } from 'node:crypto';
import { abortReason, requestSignal } from '../core/clock.js';
import type { Deps } from '../core/deps.js';
import { ActionError, errorMessage } from '../core/errors.js';
import { awsErrorName } from '../aws/errors.js';
import type { BuildConfig, Snapshotter, VolumeConfig } from '../config/types.js';
import { memoryLedger, type CreateLedger } from '../aws/create-ledger.js';
import { tagSpecifications } from '../aws/tags.js';
import { pollUntil } from '../aws/wait.js';
import { DATA_DEVICE } from '../core/bottlerocket.js';

/** Bottlerocket user data: the admin container (needed for `apiclient exec admin`) and the nodes' snapshotter. */
export function builderUserData(snapshotter: Snapshotter): string {
  const lines = [
    '# Written by bottlerocket-ebs-snapshot for a short-lived image builder.',
    '[settings.host-containers.admin]',
    'enabled = true',
  ];
  if (snapshotter !== 'overlayfs') {
    lines.push('', '[settings.container-runtime]', `snapshotter = "${snapshotter}"`);
  }
  return `${lines.join('\n')}\n`;
}

/** The data volume; from `baseSnapshotId` when building incrementally on an earlier snapshot. */
export function dataVolumeMapping(
  volume: VolumeConfig,
  baseSnapshotId?: string,
): BlockDeviceMapping {
  return {
    DeviceName: DATA_DEVICE,
    Ebs: {
      ...(baseSnapshotId !== undefined ? { SnapshotId: baseSnapshotId } : {}),
      VolumeSize: volume.sizeGiB,
      VolumeType: volume.type,
      DeleteOnTermination: true,
      ...(volume.iops !== undefined ? { Iops: volume.iops } : {}),
      ...(volume.throughput !== undefined ? { Throughput: volume.throughput } : {}),
      ...(volume.encrypted ? { Encrypted: true } : {}),
      ...(volume.kmsKeyId !== undefined ? { KmsKeyId: volume.kmsKeyId } : {}),
    },
  };
}

export interface LaunchCandidate {
  instanceType: string;
  subnetId?: string;
}

/** Every (type, subnet) pair in the user's order of preference. */
export function launchCandidates(config: BuildConfig): LaunchCandidate[] {
  const subnets = config.subnetIds.length > 0 ? config.subnetIds : [undefined];
  const candidates: LaunchCandidate[] = [];
  for (const instanceType of config.instanceTypes) {
    for (const subnetId of subnets) {
      candidates.push(subnetId === undefined ? { instanceType } : { instanceType, subnetId });
    }
  }
  return candidates;
}

export function runInstancesInput(
  config: BuildConfig,
  candidate: LaunchCandidate,
  imageId: string,
  tags: Record<string, string>,
  clientToken: string,
  baseSnapshotId?: string,
): RunInstancesCommandInput {
  const input: RunInstancesCommandInput = {
    ImageId: imageId,
    InstanceType: candidate.instanceType as RunInstancesCommandInput['InstanceType'],
    MinCount: 1,
    MaxCount: 1,
    ClientToken: clientToken,
    IamInstanceProfile: config.instanceProfile.arn
      ? { Arn: config.instanceProfile.arn }
      : { Name: config.instanceProfile.name },
    UserData: Buffer.from(builderUserData(config.snapshotter)).toString('base64'),
    MetadataOptions: {
      HttpTokens: 'required',
      HttpEndpoint: 'enabled',
      HttpPutResponseHopLimit: 2,
    },
    BlockDeviceMappings: [dataVolumeMapping(config.volume, baseSnapshotId)],
    InstanceInitiatedShutdownBehavior: 'terminate',
    TagSpecifications: tagSpecifications(['instance', 'volume', 'network-interface'], {
      Name: 'bottlerocket-ebs-snapshot builder',
      ...tags,
    }),
  };
  const groups = config.securityGroupIds.length > 0 ? config.securityGroupIds : undefined;
  if (config.associatePublicIpAddress !== undefined) {
    // A public IP choice can only be expressed on a network interface.
    input.NetworkInterfaces = [
      {
        DeviceIndex: 0,
        AssociatePublicIpAddress: config.associatePublicIpAddress,
        DeleteOnTermination: true,
        ...(candidate.subnetId ? { SubnetId: candidate.subnetId } : {}),
        ...(groups ? { Groups: groups } : {}),
      },
    ];
  } else {
    if (candidate.subnetId) input.SubnetId = candidate.subnetId;
    if (groups) input.SecurityGroupIds = groups;
  }
  return input;
}

/** How long the RunInstances request may take. */
const LAUNCH_REQUEST_TIMEOUT_MS = 120_000;

/** Errors where another instance type or subnet may succeed. */
const CAPACITY_ERRORS = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'Unsupported',
  'InsufficientFreeAddressesInSubnet',
  'InsufficientHostCapacity',
]);

export interface LaunchDeps extends Pick<Deps, 'logger' | 'signal'> {
  ec2: EC2Client;
  /** The AMI to use for an instance type (resolved per architecture). */
  imageFor: (instanceType: string) => Promise<string>;
  /** Called as soon as an instance exists, before anything else can fail. */
  onLaunched: (instanceId: string) => Promise<void> | void;
  /** Create the data volume from this snapshot (incremental build). */
  baseSnapshotId?: string;
  /** Notes a launch whose answer never came (the sweep by tag finds what it made). */
  ledger?: CreateLedger;
}

export interface LaunchedBuilder {
  instanceId: string;
  instanceType: string;
  subnetId?: string;
  imageId: string;
  availabilityZone?: string;
}

export async function launchBuilder(
  config: BuildConfig,
  tags: Record<string, string>,
  tokenSeed: string,
  deps: LaunchDeps,
): Promise<LaunchedBuilder> {
  const candidates = launchCandidates(config);
  const ledger = deps.ledger ?? memoryLedger();
  const failures: string[] = [];
  for (const [index, candidate] of candidates.entries()) {
    if (deps.signal.aborted) throw abortReason(deps.signal);
    const imageId = await deps.imageFor(candidate.instanceType);
    // The same token for the same run, attempt and candidate makes RunInstances idempotent across SDK retries.
    const clientToken = createHash('sha256')
      .update(`${tokenSeed}#${index}`)
      .digest('hex')
      .slice(0, 64);
    const input = runInstancesInput(
      config,
      candidate,
      imageId,
      tags,
      clientToken,
      deps.baseSnapshotId,
    );
    const where = `${candidate.instanceType}${candidate.subnetId ? ` in ${candidate.subnetId}` : ''}`;
    try {
      // Cut short by cancellation or the request bound: EC2 may have launched the instance
      // anyway; the ledger notes it and the sweep by invocation tag terminates it.
      const out = await ledger.track(() =>
        deps.ec2.send(new RunInstancesCommand(input), {
          abortSignal: requestSignal(LAUNCH_REQUEST_TIMEOUT_MS, deps.signal),
        }),
      );
      const instance = out.Instances?.[0];
      if (!instance?.InstanceId) throw new ActionError('RunInstances returned no instance.');
      await deps.onLaunched(instance.InstanceId);
      deps.logger.info(`Launched ${instance.InstanceId} (${where}, ${imageId}).`);
      const launched: LaunchedBuilder = {
        instanceId: instance.InstanceId,
        instanceType: candidate.instanceType,
        imageId,
      };
      const subnetId = candidate.subnetId ?? instance.SubnetId;
      if (subnetId) launched.subnetId = subnetId;
      if (instance.Placement?.AvailabilityZone)
        launched.availabilityZone = instance.Placement.AvailabilityZone;
      return launched;
    } catch (error) {
      if (deps.signal.aborted) throw abortReason(deps.signal);
      const name = awsErrorName(error) ?? '';
      if (CAPACITY_ERRORS.has(name)) {
        failures.push(`${where}: ${name}`);
        const next = candidates[index + 1];
        deps.logger.warning(
          `No capacity for ${where} (${name}: ${errorMessage(error)}).` +
            (next
              ? ` Trying ${next.instanceType}${next.subnetId ? ` in ${next.subnetId}` : ''}.`
              : ''),
        );
        continue;
      }
      throw explainLaunchError(error, config);
    }
  }
  throw new ActionError(
    `EC2 has no capacity for any builder option (${failures.join('; ')}). ` +
      "List more types in 'instance-type' and more subnets (other availability zones) in 'subnet-id', or retry later.",
  );
}

function explainLaunchError(error: unknown, config: BuildConfig): Error {
  if (error instanceof ActionError) return error;
  const name = awsErrorName(error) ?? 'Error';
  const message = errorMessage(error);
  const profile = config.instanceProfile.arn ?? config.instanceProfile.name ?? '';
  if (name === 'InvalidParameterValue' && /iamInstanceProfile/i.test(message)) {
    return new ActionError(
      `Input 'instance-profile': EC2 does not accept '${profile}' (${message}). ` +
        'Check that the instance profile exists in this account; a profile created moments ago can take a few seconds to be usable.',
      { cause: error },
    );
  }
  if (name === 'UnauthorizedOperation') {
    return new ActionError(
      `Not allowed to launch the builder: ${message}. The role needs ec2:RunInstances, ec2:CreateTags and ` +
        "iam:PassRole on the instance profile's role (see examples/iam-policy.json).",
      { cause: error },
    );
  }
  if (name === 'VPCIdNotSpecified' || name === 'MissingInput') {
    return new ActionError(
      `EC2 needs a subnet: this region has no default VPC (${message}). Set 'subnet-id' and 'security-group-ids'.`,
      { cause: error },
    );
  }
  return new ActionError(`RunInstances failed: ${name}: ${message}`, { cause: error });
}

export async function describeInstance(
  ec2: EC2Client,
  instanceId: string,
  signal: AbortSignal,
): Promise<Instance | undefined> {
  try {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), {
      abortSignal: signal,
    });
    return out.Reservations?.[0]?.Instances?.[0];
  } catch (error) {
    // Right after RunInstances the ID may not be visible yet (eventual consistency).
    if (awsErrorName(error) === 'InvalidInstanceID.NotFound') return undefined;
    throw error;
  }
}

export interface WaitDeps extends Pick<Deps, 'clock' | 'signal'> {
  ec2: EC2Client;
}

export async function waitForInstanceState(
  instanceId: string,
  wanted: 'running' | 'stopped',
  timeoutMs: number,
  deps: WaitDeps,
): Promise<Instance> {
  return pollUntil({
    what: `builder ${instanceId} to be ${wanted}`,
    timeoutMs,
    intervalMs: 500,
    maxIntervalMs: 5000,
    clock: deps.clock,
    signal: deps.signal,
    check: async () => {
      const instance = await describeInstance(deps.ec2, instanceId, deps.signal);
      const state = instance?.State?.Name;
      if (instance && state === wanted) return { done: true, value: instance };
      if (state === 'terminated' || state === 'shutting-down') {
        throw new ActionError(
          `The builder ${instanceId} was ${state} unexpectedly: ${instance?.StateReason?.Message ?? 'no reason given'}.`,
        );
      }
      return { done: false, detail: state ?? 'not visible yet' };
    },
  });
}

export function dataVolumeId(instance: Instance): string {
  const mapping = instance.BlockDeviceMappings?.find((m) => m.DeviceName === DATA_DEVICE);
  const volumeId = mapping?.Ebs?.VolumeId;
  if (!volumeId) {
    throw new ActionError(
      `The builder ${instance.InstanceId ?? ''} has no volume at ${DATA_DEVICE}; the AMI may not be a Bottlerocket image with a data volume.`,
    );
  }
  return volumeId;
}

export async function stopInstance(
  ec2: EC2Client,
  instanceId: string,
  signal: AbortSignal,
): Promise<void> {
  await ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }), { abortSignal: signal });
}

/** Terminates instances; already-gone ones are not an error. Returns the IDs EC2 acknowledged. */
export async function terminateInstances(
  ec2: EC2Client,
  instanceIds: string[],
  signal: AbortSignal,
): Promise<string[]> {
  if (instanceIds.length === 0) return [];
  try {
    const out = await ec2.send(new TerminateInstancesCommand({ InstanceIds: instanceIds }), {
      abortSignal: signal,
    });
    return (out.TerminatingInstances ?? []).flatMap((i) => (i.InstanceId ? [i.InstanceId] : []));
  } catch (error) {
    if (awsErrorName(error) === 'InvalidInstanceID.NotFound' && instanceIds.length === 1) return [];
    throw error;
  }
}
