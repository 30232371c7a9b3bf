import { describe, expect, it } from '@jest/globals';
import {
  builderUserData,
  launchCandidates,
  runInstancesInput,
} from '../../../src/build/builder-instance.js';
import { parseInputs } from '../../../src/action/inputs/index.js';

function config(inputs: Record<string, string>) {
  const all: Record<string, string> = {
    images: 'busybox',
    'aws-region': 'us-west-2',
    'instance-profile': 'builder',
    ...inputs,
  };
  return parseInputs((name) => all[name] ?? '').config;
}

describe('runInstancesInput', () => {
  it('puts subnet and groups on a network interface when a public IP choice is made', () => {
    const c = config({
      'subnet-id': 'subnet-0123456789abcdef0',
      'security-group-ids': 'sg-0123456789abcdef0',
      'associate-public-ip-address': 'false',
    });
    const [candidate] = launchCandidates(c);
    const input = runInstancesInput(
      c,
      candidate!,
      'ami-0123456789abcdef0',
      { team: 'ml' },
      'token',
    );
    expect(input.SubnetId).toBeUndefined();
    expect(input.SecurityGroupIds).toBeUndefined();
    expect(input.NetworkInterfaces).toEqual([
      {
        DeviceIndex: 0,
        AssociatePublicIpAddress: false,
        DeleteOnTermination: true,
        SubnetId: 'subnet-0123456789abcdef0',
        Groups: ['sg-0123456789abcdef0'],
      },
    ]);
    expect(input.TagSpecifications?.map((t) => t.ResourceType)).toEqual([
      'instance',
      'volume',
      'network-interface',
    ]);
    expect(input.ClientToken).toBe('token');
  });

  it('uses plain subnet and groups otherwise, and an encrypted io2 data volume when asked', () => {
    const c = config({
      'subnet-id': 'subnet-0123456789abcdef0',
      'volume-type': 'io2',
      'volume-iops': '16000',
      'kms-key-id': 'alias/ebs',
      'volume-size': '100',
    });
    const input = runInstancesInput(c, launchCandidates(c)[0]!, 'ami-0123456789abcdef0', {}, 't');
    expect(input.SubnetId).toBe('subnet-0123456789abcdef0');
    expect(input.NetworkInterfaces).toBeUndefined();
    expect(input.BlockDeviceMappings).toEqual([
      {
        DeviceName: '/dev/xvdb',
        Ebs: {
          VolumeSize: 100,
          VolumeType: 'io2',
          DeleteOnTermination: true,
          Iops: 16000,
          Encrypted: true,
          KmsKeyId: 'alias/ebs',
        },
      },
    ]);
  });

  it('orders fallbacks by type, then subnet', () => {
    const c = config({
      'instance-type': 'm6i.xlarge,m7g.xlarge',
      'subnet-id': 'subnet-0123456789abcdef0,subnet-0fedcba9876543210',
    });
    expect(launchCandidates(c).map((x) => `${x.instanceType}@${x.subnetId}`)).toEqual([
      'm6i.xlarge@subnet-0123456789abcdef0',
      'm6i.xlarge@subnet-0fedcba9876543210',
      'm7g.xlarge@subnet-0123456789abcdef0',
      'm7g.xlarge@subnet-0fedcba9876543210',
    ]);
  });
});

describe('builderUserData', () => {
  it('enables the admin container, and sets the snapshotter only when it is not the default', () => {
    expect(builderUserData('overlayfs')).toBe(
      '# Written by bottlerocket-ebs-snapshot for a short-lived image builder.\n[settings.host-containers.admin]\nenabled = true\n',
    );
    expect(builderUserData('soci')).toContain(
      '[settings.container-runtime]\nsnapshotter = "soci"\n',
    );
  });
});
