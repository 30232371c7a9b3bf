/**
 * Which Bottlerocket image the builder boots: the public SSM parameter for the
 * variant and the instance type's architecture, or the AMI the user named.
 */
import {
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  type EC2Client,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { ActionError, errorMessage } from '../core/errors.js';
import { awsErrorName } from '../aws/errors.js';

export type Architecture = 'x86_64' | 'arm64';

export function bottlerocketAmiParameter(variant: string, arch: Architecture): string {
  return `/aws/service/bottlerocket/${variant}/${arch}/latest/image_id`;
}

/** The architecture an instance type runs, from EC2 itself (no table to keep up to date). */
export async function instanceTypeArchitecture(
  ec2: EC2Client,
  instanceType: string,
  signal: AbortSignal,
): Promise<Architecture> {
  let archs: string[];
  try {
    const out = await ec2.send(
      new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as _InstanceType] }),
      {
        abortSignal: signal,
      },
    );
    archs = out.InstanceTypes?.[0]?.ProcessorInfo?.SupportedArchitectures ?? [];
  } catch (error) {
    if (awsErrorName(error) === 'InvalidInstanceType') {
      throw new ActionError(
        `Input 'instance-type': '${instanceType}' is not offered in this region (${errorMessage(error)}).`,
        { cause: error },
      );
    }
    throw error;
  }
  if (archs.includes('arm64')) return 'arm64';
  if (archs.includes('x86_64')) return 'x86_64';
  throw new ActionError(
    `Input 'instance-type': '${instanceType}' has no architecture Bottlerocket supports (it reports ${archs.join(', ') || 'none'}).`,
  );
}

export async function resolveBottlerocketAmi(
  ssm: SSMClient,
  variant: string,
  arch: Architecture,
  region: string,
  signal: AbortSignal,
): Promise<string> {
  const name = bottlerocketAmiParameter(variant, arch);
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name }), { abortSignal: signal });
    const value = out.Parameter?.Value;
    if (!value) throw new ActionError(`SSM parameter ${name} has no value.`);
    return value;
  } catch (error) {
    if (awsErrorName(error) === 'ParameterNotFound') {
      throw new ActionError(
        `No Bottlerocket AMI for variant '${variant}' on ${arch} in ${region}: SSM parameter ${name} does not exist. ` +
          "Check 'bottlerocket-variant' (for example aws-k8s-1.34 or aws-k8s-1.34-nvidia) or set 'ami-id'.",
        { cause: error },
      );
    }
    throw error;
  }
}

/** Checks a user-given AMI exists here and returns its architecture. */
export async function describeAmi(
  ec2: EC2Client,
  amiId: string,
  signal: AbortSignal,
): Promise<{ architecture: string; name: string }> {
  try {
    const out = await ec2.send(new DescribeImagesCommand({ ImageIds: [amiId] }), {
      abortSignal: signal,
    });
    const image = out.Images?.[0];
    if (!image) throw new ActionError(`Input 'ami-id': ${amiId} was not found in this region.`);
    return { architecture: image.Architecture ?? 'unknown', name: image.Name ?? amiId };
  } catch (error) {
    const name = awsErrorName(error);
    if (name === 'InvalidAMIID.NotFound' || name === 'InvalidAMIID.Malformed') {
      throw new ActionError(`Input 'ami-id': ${amiId} was not found in this region.`, {
        cause: error,
      });
    }
    throw error;
  }
}
