/**
 * The image the builder boots: Bottlerocket's public SSM parameter for the variant and the
 * instance type's architecture (read from EC2), or the AMI the user named; each failure says
 * which input to change.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import {
  bottlerocketAmiParameter,
  describeAmi,
  instanceTypeArchitecture,
  resolveBottlerocketAmi,
} from '../../../src/build/ami.js';
import { ActionError } from '../../../src/core/errors.js';
import { rejectionOf } from '../../../test-support/rejection.js';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const ec2 = new EC2Client({ region: 'us-west-2' });
const ssm = new SSMClient({ region: 'us-west-2' });
const signal = new AbortController().signal;
afterEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
});

const awsError = (name: string, message: string) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });

describe('bottlerocketAmiParameter', () => {
  it('is the public parameter of the variant and architecture', () => {
    expect(bottlerocketAmiParameter('aws-k8s-1.34', 'arm64')).toBe(
      '/aws/service/bottlerocket/aws-k8s-1.34/arm64/latest/image_id',
    );
    expect(bottlerocketAmiParameter('aws-k8s-1.34-nvidia', 'x86_64')).toBe(
      '/aws/service/bottlerocket/aws-k8s-1.34-nvidia/x86_64/latest/image_id',
    );
  });
});

describe('instanceTypeArchitecture', () => {
  const reports = (...archs: string[]) =>
    ec2Mock.on(DescribeInstanceTypesCommand).resolves({
      InstanceTypes: [{ ProcessorInfo: { SupportedArchitectures: archs as never[] } }],
    });

  it('asks EC2 about the instance type, and gives its architecture', async () => {
    reports('arm64');
    expect(await instanceTypeArchitecture(ec2, 'm7g.xlarge', signal)).toBe('arm64');
    expect(ec2Mock.commandCalls(DescribeInstanceTypesCommand)[0]?.args[0].input).toEqual({
      InstanceTypes: ['m7g.xlarge'],
    });
    reports('i386', 'x86_64');
    expect(await instanceTypeArchitecture(ec2, 'm6i.xlarge', signal)).toBe('x86_64');
  });

  it('refuses a type with no architecture Bottlerocket supports, saying what it reports', async () => {
    reports('i386');
    const error = await rejectionOf(instanceTypeArchitecture(ec2, 't1.micro', signal), ActionError);
    expect(error.message).toBe(
      "Input 'instance-type': 't1.micro' has no architecture Bottlerocket supports (it reports i386).",
    );
    ec2Mock.on(DescribeInstanceTypesCommand).resolves({ InstanceTypes: [] });
    const none = await rejectionOf(instanceTypeArchitecture(ec2, 'x9.huge', signal), ActionError);
    expect(none.message).toBe(
      "Input 'instance-type': 'x9.huge' has no architecture Bottlerocket supports (it reports none).",
    );
  });

  it('says a type the region does not offer is the input’s problem, with EC2’s words', async () => {
    const invalid = awsError(
      'InvalidInstanceType',
      'The following supplied instance types do not exist: [m9z.large]',
    );
    ec2Mock.on(DescribeInstanceTypesCommand).rejects(invalid);
    const error = await rejectionOf(
      instanceTypeArchitecture(ec2, 'm9z.large', signal),
      ActionError,
    );
    expect(error.message).toBe(
      "Input 'instance-type': 'm9z.large' is not offered in this region (The following supplied instance types do not exist: [m9z.large]).",
    );
    expect(error.cause).toBe(invalid);
  });

  it('passes on any other failure as it is', async () => {
    const denied = awsError('UnauthorizedOperation', 'not authorized');
    ec2Mock.on(DescribeInstanceTypesCommand).rejects(denied);
    const error = await rejectionOf(instanceTypeArchitecture(ec2, 'm6i.xlarge', signal));
    expect(error).toBe(denied);
  });
});

describe('resolveBottlerocketAmi', () => {
  const NAME = '/aws/service/bottlerocket/aws-k8s-1.34/arm64/latest/image_id';

  it('reads the AMI from the public parameter', async () => {
    ssmMock.on(GetParameterCommand, { Name: NAME }).resolves({ Parameter: { Value: 'ami-0bbb' } });
    expect(await resolveBottlerocketAmi(ssm, 'aws-k8s-1.34', 'arm64', 'us-west-2', signal)).toBe(
      'ami-0bbb',
    );
  });

  it('says which variant, architecture and region have no AMI, and what to set', async () => {
    const notFound = awsError('ParameterNotFound', '');
    ssmMock.on(GetParameterCommand).rejects(notFound);
    const error = await rejectionOf(
      resolveBottlerocketAmi(ssm, 'aws-k8s-1.34', 'arm64', 'eu-south-2', signal),
      ActionError,
    );
    expect(error.message).toBe(
      `No Bottlerocket AMI for variant 'aws-k8s-1.34' on arm64 in eu-south-2: SSM parameter ${NAME} does not exist. ` +
        "Check 'bottlerocket-variant' (for example aws-k8s-1.34 or aws-k8s-1.34-nvidia) or set 'ami-id'.",
    );
    expect(error.cause).toBe(notFound);
  });

  it('refuses a parameter without a value', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: '' } });
    const error = await rejectionOf(
      resolveBottlerocketAmi(ssm, 'aws-k8s-1.34', 'arm64', 'us-west-2', signal),
      ActionError,
    );
    expect(error.message).toBe(`SSM parameter ${NAME} has no value.`);
  });

  it('passes on any other failure as it is', async () => {
    const denied = awsError('AccessDeniedException', 'not authorized to perform ssm:GetParameter');
    ssmMock.on(GetParameterCommand).rejects(denied);
    const error = await rejectionOf(
      resolveBottlerocketAmi(ssm, 'aws-k8s-1.34', 'arm64', 'us-west-2', signal),
    );
    expect(error).toBe(denied);
  });
});

describe('describeAmi', () => {
  it('gives the architecture and name of the AMI named', async () => {
    ec2Mock.on(DescribeImagesCommand, { ImageIds: ['ami-0aaa'] }).resolves({
      Images: [{ ImageId: 'ami-0aaa', Architecture: 'arm64', Name: 'bottlerocket-aws-k8s-1.34' }],
    });
    expect(await describeAmi(ec2, 'ami-0aaa', signal)).toEqual({
      architecture: 'arm64',
      name: 'bottlerocket-aws-k8s-1.34',
    });
  });

  it('fills in what EC2 leaves out', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-0aaa' }] });
    expect(await describeAmi(ec2, 'ami-0aaa', signal)).toEqual({
      architecture: 'unknown',
      name: 'ami-0aaa',
    });
  });

  it('says an AMI that is not here, or not an AMI ID, was not found in this region', async () => {
    const message = "Input 'ami-id': ami-0aaa was not found in this region.";
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
    expect((await rejectionOf(describeAmi(ec2, 'ami-0aaa', signal), ActionError)).message).toBe(
      message,
    );
    for (const name of ['InvalidAMIID.NotFound', 'InvalidAMIID.Malformed']) {
      const cause = awsError(name, 'x');
      ec2Mock.on(DescribeImagesCommand).rejects(cause);
      const error = await rejectionOf(describeAmi(ec2, 'ami-0aaa', signal), ActionError);
      expect(error.message).toBe(message);
      expect(error.cause).toBe(cause);
    }
  });

  it('passes on any other failure as it is', async () => {
    const denied = awsError('UnauthorizedOperation', 'not authorized');
    ec2Mock.on(DescribeImagesCommand).rejects(denied);
    expect(await rejectionOf(describeAmi(ec2, 'ami-0aaa', signal))).toBe(denied);
  });
});
