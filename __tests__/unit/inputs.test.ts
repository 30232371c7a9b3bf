import { describe, expect, it } from '@jest/globals';
import { InputError, InputErrors } from '../../src/core/errors.js';
import {
  parseActionInputs,
  parseAllActionInputs,
  parseInputs,
  parseTags,
} from '../../src/action/inputs.js';

const BASE: Record<string, string> = {
  images: 'busybox',
  'aws-region': 'us-west-2',
  'instance-profile': 'snapshot-builder-instance',
};

function parse(inputs: Record<string, string>) {
  const all = { ...BASE, ...inputs };
  return parseInputs((name) => all[name] ?? '');
}

/** The InputError a parse fails with (the test fails if it does not). */
function refusalOf(parse: () => unknown): InputError {
  try {
    parse();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

function parseAction(inputs: Record<string, string>) {
  const all = { ...BASE, ...inputs };
  return parseActionInputs((name) => all[name] ?? '').config;
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

  it('sizes gp3 performance to the volume and accepts io2 with IOPS', () => {
    expect(parse({ 'volume-size': '20' }).config.volume).toMatchObject({
      iops: 10000,
      throughput: 1000,
    });
    expect(parse({ 'volume-type': 'io2', 'volume-iops': '16000' }).config.volume).toEqual({
      sizeGiB: 50,
      type: 'io2',
      iops: 16000,
      encrypted: false,
    });
    expect(parse({ 'kms-key-id': 'alias/ebs' }).config.volume).toMatchObject({
      encrypted: true,
      kmsKeyId: 'alias/ebs',
    });
  });

  it.each([
    [{ images: '' }, 'images', 'is required'],
    [{ images: 'busybox;rm -rf /' }, 'images', "';'"],
    [{ images: 'busybox $(id)' }, 'images', 'whitespace'],
    [{ images: '# only a comment' }, 'images', 'lists no image'],
    [{ 'aws-region': 'mars-1' }, 'aws-region', "'mars-1'"],
    [{ 'aws-region': '' }, 'aws-region', 'is required'],
    [{ platforms: 'linux/s390x' }, 'platforms', "'linux/s390x' is not supported"],
    [{ 'role-to-assume': 'snapshot-builder' }, 'role-to-assume', 'is not an IAM role ARN'],
    [{ 'role-session-name': 'a' }, 'role-session-name', '2-64 characters'],
    [{ 'role-duration-seconds': '60' }, 'role-duration-seconds', 'between 900 and 43200'],
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
    [{ 'volume-size': '10' }, 'volume-size', 'between 20 and 16384'],
    [{ 'volume-size': '50GiB' }, 'volume-size', 'whole number'],
    [{ 'volume-type': 'st1' }, 'volume-type', 'gp3, gp2, io1, io2'],
    [{ 'volume-iops': '2000' }, 'volume-iops', '3000 to 25000'],
    [{ 'volume-iops': '4000', 'volume-throughput': '1001' }, 'volume-throughput', 'at most 0.25'],
    [{ 'volume-type': 'gp2', 'volume-iops': '3000' }, 'volume-iops', 'gp2'],
    [{ 'volume-type': 'io2' }, 'volume-iops', 'need provisioned IOPS'],
    [{ 'kms-key-id': 'my key' }, 'kms-key-id', "'my key'"],
    [{ 'kms-key-id': 'alias/x', encrypted: 'false' }, 'encrypted', "'kms-key-id' is set"],
    [{ snapshotter: 'stargz' }, 'snapshotter', 'overlayfs, soci'],
    [{ 'on-missing-platform': 'ignore' }, 'on-missing-platform', 'fail, skip'],
    [{ 'timeout-minutes': '1' }, 'timeout-minutes', 'between 5 and 360'],
    [{ 'pull-concurrency': '0' }, 'pull-concurrency', 'between 1 and 32'],
    [{ 'snapshot-mode': 'freeze' }, 'snapshot-mode', 'stop, live'],
    [{ tags: 'novalue' }, 'tags', 'is not key=value'],
  ])('refuses %j naming the input', (inputs, input, text) => {
    const error = refusalOf(() => parse(inputs));
    expect(error.input).toBe(input);
    expect(error.message).toContain(`Input '${input}'`);
    expect(error.message).toContain(text);
  });
});

describe('parseTags', () => {
  it('refuses reserved prefixes and too many tags', () => {
    expect(() => parseTags('aws:createdBy=me')).toThrow("reserved prefix 'aws:'");
    expect(() => parseTags('bottlerocket-ebs-snapshot:run=x')).toThrow(
      'that the action sets itself',
    );
    expect(() => parseTags(Array.from({ length: 35 }, (_, i) => `k${i}=v`).join('\n'))).toThrow(
      'at most 34 tags',
    );
    expect(
      Object.keys(parseTags(Array.from({ length: 34 }, (_, i) => `k${i}=v`).join('\n'))),
    ).toHaveLength(34);
    expect(() => parseTags(`k=${'v'.repeat(257)}`)).toThrow('not a valid EC2 tag value');
  });
});

describe('parseActionInputs', () => {
  it('builds without manifest updates by default', () => {
    const config = parseAction({});
    expect(config.build?.images).toHaveLength(1);
    expect(config.update).toBeUndefined();
    expect(config.aws.region).toBe('us-west-2');
  });

  it('promotes an existing snapshot when snapshot-id is given', () => {
    const config = parseAction({
      images: '',
      'snapshot-id': 'snap-0123456789abcdef0',
      'update-files': 'clusters/*.yaml',
    });
    expect(config.build).toBeUndefined();
    expect(config.snapshotId).toBe('snap-0123456789abcdef0');
    expect(config.update?.patterns).toEqual(['clusters/*.yaml']);
  });

  it('reads janitor mode: cleanup-older-than alone, in aws-region and copy-to-regions', () => {
    const config = parseAction({
      images: '',
      'cleanup-older-than': '6h',
      'copy-to-regions': 'eu-west-1, us-west-2',
    });
    expect(config.build).toBeUndefined();
    expect(config.janitor).toEqual({
      olderThanMs: 6 * 3_600_000,
      regions: ['us-west-2', 'eu-west-1'],
    });
    expect(parseAction({ images: '', 'cleanup-older-than': '2d' }).janitor?.olderThanMs).toBe(
      2 * 86_400_000,
    );
  });

  it.each([
    [{ 'cleanup-older-than': '6h' }, "remove 'images'"],
    [{ images: '', 'cleanup-older-than': '30m' }, 'is under an hour'],
    [{ images: '', 'cleanup-older-than': 'soon' }, 'is not an age like 90m, 6h or 2d'],
    [{ images: '', 'cleanup-older-than': '6h', 'update-files': 'a.yaml' }, "remove 'update-files'"],
  ])('refuses janitor inputs %j', (inputs, text) => {
    const error = refusalOf(() => parseAction(inputs));
    expect(error.input).toBe('cleanup-older-than');
    expect(error.message).toContain(text);
  });

  it('reads the pull request shape, with a branch fixed by the configuration', () => {
    const inputs = {
      'update-files': 'clusters/**/*.yaml\n# a comment\nkarpenter/*.yaml',
      'update-targets': 'prefetch-mng, bottlerocket',
      'create-pull-request': 'true',
      'github-token': 'ghs_x',
      'pull-request-labels': 'a,b',
      'pull-request-draft': 'true',
      'volume-initialization-rate': '200',
    };
    const a = parseAction(inputs).update;
    const b = parseAction(inputs).update;
    expect(a?.patterns).toEqual(['clusters/**/*.yaml', 'karpenter/*.yaml']);
    expect(a?.targets).toEqual(['prefetch-mng', 'bottlerocket']);
    expect(a?.volumeInitializationRate).toBe(200);
    expect(a?.maxFileBytes).toBe(4 * 1024 * 1024);
    expect(parseAction({ ...inputs, 'update-files-max-size': '16' }).update?.maxFileBytes).toBe(
      16 * 1024 * 1024,
    );
    expect(a?.pullRequest).toMatchObject({ token: 'ghs_x', labels: ['a', 'b'], draft: true });
    expect(a?.pullRequest?.branch).toMatch(/^bottlerocket-ebs-snapshot\/update-[0-9a-f]{8}$/);
    expect(b?.pullRequest?.branch).toBe(a?.pullRequest?.branch);
    expect(
      parseAction({ ...inputs, 'update-targets': 'other' }).update?.pullRequest?.branch,
    ).not.toBe(a?.pullRequest?.branch);
  });

  it.each([
    [{ images: '', 'snapshot-id': 'snap-1' }, 'snapshot-id', 'is not a snapshot ID'],
    [
      { 'snapshot-id': 'snap-0123456789abcdef0', 'update-files': 'a.yaml' },
      'snapshot-id',
      "together with 'images'",
    ],
    [
      { images: '', 'snapshot-id': 'snap-0123456789abcdef0' },
      'snapshot-id',
      'nothing to do with the snapshot',
    ],
    [{ 'create-pull-request': 'true' }, 'create-pull-request', "'update-files' lists no file"],
    [{ 'update-targets': 'x' }, 'update-targets', "needs 'update-files'"],
    [
      { 'update-files': 'a.yaml', 'volume-initialization-rate': '50' },
      'volume-initialization-rate',
      'between 100 and 300',
    ],
    [{ 'update-files': '../outside/prod.yaml' }, 'update-files', "contains a '..' segment"],
    [{ 'update-files': 'a.yaml\n/etc/passwd' }, 'update-files', 'is an absolute path'],
    [{ 'update-files': '!../x/*.yaml' }, 'update-files', "contains a '..' segment"],
    [
      { 'update-files': 'a.yaml', 'update-files-max-size': '1024' },
      'update-files-max-size',
      'between 1 and 256',
    ],
    [{ 'update-files': 'a.yaml', 'create-pull-request': 'true' }, 'github-token', 'is required'],
    [
      { 'update-files': 'a.yaml', 'create-pull-request': 'yes please' },
      'create-pull-request',
      'true or false',
    ],
    [
      {
        'update-files': 'a.yaml',
        'create-pull-request': 'true',
        'github-token': 't',
        'pull-request-branch': 'bad..name',
      },
      'pull-request-branch',
      'not a valid branch',
    ],
    [
      {
        'update-files': 'a.yaml',
        'create-pull-request': 'true',
        'github-token': 't',
        'pull-request-base': 'has space',
      },
      'pull-request-base',
      'not a valid branch',
    ],
  ])('refuses %j naming the input', (inputs, input, text) => {
    const error = refusalOf(() => parseAction(inputs));
    expect(error.input).toBe(input);
    expect(error.message).toContain(text);
  });
});

describe('distribution inputs', () => {
  it('reads copies, sharing, parameter, fast restore and retention', () => {
    const { distribution } = parseAction({
      'copy-to-regions': 'eu-west-1, us-east-1',
      'copy-kms-key-ids': 'eu-west-1=alias/ebs-eu',
      'share-with-accounts': '210987654321',
      'ssm-parameter-name': '/eks/node-cache/snapshot-id',
      'fast-snapshot-restore-azs': 'us-west-2a,us-west-2b',
      'wait-for-fast-snapshot-restore': 'true',
      'keep-snapshots': '3',
      'kms-key-id': 'alias/ebs-shared',
    });
    expect(distribution).toEqual({
      copyToRegions: ['eu-west-1', 'us-east-1'],
      kmsKeyIds: { 'eu-west-1': 'alias/ebs-eu' },
      shareWithAccounts: ['210987654321'],
      ssmParameterName: '/eks/node-cache/snapshot-id',
      fastSnapshotRestoreAzs: ['us-west-2a', 'us-west-2b'],
      waitForFastSnapshotRestore: true,
      keepSnapshots: 3,
    });
  });

  it('lets a promotion only distribute', () => {
    const config = parseAction({
      images: '',
      'snapshot-id': 'snap-0123456789abcdef0',
      'copy-to-regions': 'eu-west-1',
    });
    expect(config.distribution.copyToRegions).toEqual(['eu-west-1']);
    expect(config.update).toBeUndefined();
  });

  it.each([
    [
      { 'share-with-accounts': '210987654321', encrypted: 'true' },
      'share-with-accounts',
      'cannot be shared',
    ],
    [{ 'share-with-accounts': '1234' }, 'share-with-accounts', 'not a 12-digit AWS account ID'],
    [{ 'copy-to-regions': 'us-west-2' }, 'copy-to-regions', 'the region the snapshot is built in'],
    [{ 'copy-kms-key-ids': 'eu-west-1' }, 'copy-kms-key-ids', 'is not region=key'],
    [
      { 'fast-snapshot-restore-azs': 'us-west-2' },
      'fast-snapshot-restore-azs',
      'availability zone',
    ],
    [{ 'keep-snapshots': '0' }, 'keep-snapshots', 'between 1 and 1000'],
    [
      {
        images: '',
        'snapshot-id': 'snap-0123456789abcdef0',
        'update-files': 'a.yaml',
        'keep-snapshots': '2',
      },
      'keep-snapshots',
      'applies to builds',
    ],
  ])('refuses %j naming the input', (inputs, input, text) => {
    const error = refusalOf(() => parseAction(inputs));
    expect(error.input).toBe(input);
    expect(error.message).toContain(text);
  });
});

describe('parseAllActionInputs', () => {
  const all = (inputs: Record<string, string>, base = BASE) => {
    const merged = { ...base, ...inputs };
    return () => parseAllActionInputs((name) => merged[name] ?? '');
  };

  it('reports every bad input at once, each named, in one error', () => {
    const error = refusalOf(
      all({
        images: 'busybox:1; rm -rf /',
        'volume-size': '5',
        platforms: 'windows/amd64',
        'pull-concurrency': '900',
      }),
    );
    expect(error).toBeInstanceOf(InputErrors);
    const names = (error as InputErrors).errors.map((e) => e.input).sort();
    expect(names).toEqual(['images', 'platforms', 'pull-concurrency', 'volume-size']);
    expect(error.message).toMatch(/^4 inputs are wrong:\n- Input '/);
    for (const name of names) expect(error.message).toContain(`- Input '${name}':`);
  });

  it('reports a missing required input with the others', () => {
    const error = refusalOf(all({ 'volume-size': '5' }, { images: 'busybox' }));
    const names = (error as InputErrors).errors.map((e) => e.input).sort();
    expect(names).toEqual(['aws-region', 'instance-profile', 'volume-size']);
  });

  it('reports one bad input exactly as before', () => {
    const one = refusalOf(all({ 'volume-size': '5' }));
    expect(one).not.toBeInstanceOf(InputErrors);
    expect(one.message).toBe(refusalOf(() => parseAction({ 'volume-size': '5' })).message);
  });

  it('adds no error that only the stand-in of another caused (promotion stays promotion)', () => {
    const error = refusalOf(all({ images: '', 'snapshot-id': 'snap-nope' }));
    expect(error.input).toBe('snapshot-id');
    expect(error).not.toBeInstanceOf(InputErrors);
  });

  it('passes good inputs through unchanged', () => {
    expect(all({})().config).toEqual(parseAction({}));
  });
});
