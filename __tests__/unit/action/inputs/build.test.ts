// src/action/inputs/build.ts: the build's inputs, read in order, each refusal naming its input.
import { describe, expect, it } from '@jest/globals';
import { parseInputs } from '../../../../src/action/inputs/build.js';
import { readerOf, refusalOf } from '../../../../test-support/action-inputs.js';

function parse(inputs: Record<string, string>) {
  return parseInputs(readerOf(inputs));
}

describe('parseInputs', () => {
  it('applies the documented defaults', () => {
    const { config } = parse({});
    expect(config).toMatchObject({
      platforms: ['linux/amd64'],
      bottlerocketVariant: 'aws-k8s-1.34',
      instanceTypes: ['m6i.xlarge'],
      instanceProfile: { name: 'snapshot-builder-instance' },
      subnetIds: [],
      securityGroupIds: [],
      volume: { sizeGiB: 50, type: 'gp3', iops: 10000, throughput: 1000, encrypted: false },
      snapshotter: 'overlayfs',
      onMissingPlatform: 'fail',
      timeoutMinutes: 45,
      pullConcurrency: 4,
      snapshotMode: 'stop',
      credentials: {
        roleSessionName: 'bottlerocket-ebs-snapshot',
        roleDurationSeconds: 3600,
        audience: 'sts.amazonaws.com',
      },
    });
    expect(config.images.map((i) => i.normalized)).toEqual(['docker.io/library/busybox:latest']);
    expect(config.associatePublicIpAddress).toBeUndefined();
    expect(config.credentials.roleToAssume).toBeUndefined();
  });

  it('reads lists in any of the accepted forms', () => {
    const { config, warnings } = parse({
      images:
        '# the app\npublic.ecr.aws/eks-distro/kubernetes/pause:3.2, busybox\n\ndocker.io/library/busybox:latest\n',
      platforms: 'linux/amd64\narm64',
      'instance-type': 'm6i.xlarge, m7g.xlarge',
      'subnet-id': 'subnet-0123456789abcdef0\nsubnet-0fedcba9876543210',
      'security-group-ids': 'sg-0123456789abcdef0',
      'associate-public-ip-address': 'true',
      tags: 'team=ml\ncost-center = 42',
      'instance-profile': 'arn:aws:iam::123456789012:instance-profile/builder',
      'role-to-assume': 'arn:aws:iam::123456789012:role/snapshot-builder',
    });
    expect(config.images).toHaveLength(2);
    expect(warnings).toEqual([
      "Input 'images': dropped duplicates docker.io/library/busybox:latest.",
    ]);
    expect(config.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    expect(config.instanceTypes).toEqual(['m6i.xlarge', 'm7g.xlarge']);
    expect(config.subnetIds).toHaveLength(2);
    expect(config.associatePublicIpAddress).toBe(true);
    expect(config.tags).toEqual({ team: 'ml', 'cost-center': '42' });
    expect(config.instanceProfile).toEqual({
      arn: 'arn:aws:iam::123456789012:instance-profile/builder',
    });
    expect(config.credentials.roleToAssume).toBe('arn:aws:iam::123456789012:role/snapshot-builder');
  });

  it.each([
    [{ images: '' }, 'images', 'is required'],
    [{ images: 'busybox;rm -rf /' }, 'images', "';'"],
    [{ images: 'busybox $(id)' }, 'images', 'whitespace'],
    [{ images: '# only a comment' }, 'images', 'lists no image'],
    [{ platforms: 'linux/s390x' }, 'platforms', "'linux/s390x' is not supported"],
    [{ 'bottlerocket-variant': 'aws k8s' }, 'bottlerocket-variant', "'aws k8s'"],
    [{ 'ami-id': 'ami-xyz' }, 'ami-id', "'ami-xyz'"],
    [{ 'instance-type': 'huge' }, 'instance-type', "'huge'"],
    [{ 'bottlerocket-variant': 'aws-k8s-1.34-nvidia' }, 'instance-type', 'has no NVIDIA GPU'],
    [{ 'instance-profile': '' }, 'instance-profile', 'is required'],
    [
      { 'instance-profile': 'arn:aws:iam::1:role/x' },
      'instance-profile',
      'not an instance profile ARN',
    ],
    [{ 'subnet-id': 'subnet-1' }, 'subnet-id', "'subnet-1'"],
    [{ 'security-group-ids': 'default' }, 'security-group-ids', "'default'"],
    [{ 'associate-public-ip-address': 'maybe' }, 'associate-public-ip-address', 'true or false'],
    [{ snapshotter: 'stargz' }, 'snapshotter', 'overlayfs, soci'],
    [{ 'on-missing-platform': 'ignore' }, 'on-missing-platform', 'fail, skip'],
    [{ 'timeout-minutes': '1' }, 'timeout-minutes', 'between 5 and 360'],
    [{ 'pull-concurrency': '0' }, 'pull-concurrency', 'between 1 and 32'],
    [{ 'snapshot-mode': 'freeze' }, 'snapshot-mode', 'stop, live'],
  ])('refuses %j naming the input', (inputs, input, text) => {
    const error = refusalOf(() => parse(inputs));
    expect(error.input).toBe(input);
    expect(error.message).toContain(`Input '${input}'`);
    expect(error.message).toContain(text);
  });
});
