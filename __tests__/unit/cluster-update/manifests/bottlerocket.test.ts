/**
 * Whether a node group or node class runs Bottlerocket (./bottlerocket.ts), decided the way
 * eksctl and Karpenter decide it.
 */
import { describe, expect, it } from '@jest/globals';
import {
  isEksctlBottlerocket,
  karpenterAmiVerdict,
  type KarpenterAmiFacts,
} from '../../../../src/cluster-update/manifests/bottlerocket.js';

describe('isEksctlBottlerocket', () => {
  // eksctl-io/eksctl pkg/apis/eksctl.io/v1alpha5 validation.go IsBottlerocketImage, after
  // normalizeAMIFamily matched the family with strings.EqualFold.
  it.each(['Bottlerocket', 'BottlerocketFips', 'bottlerocket', 'BOTTLEROCKET', 'bottleRocketFIPS'])(
    '%s is Bottlerocket',
    (family) => {
      expect(isEksctlBottlerocket(family)).toBe(true);
    },
  );

  it.each([
    ['no amiFamily (eksctl defaults to AmazonLinux2023)', undefined],
    ['AmazonLinux2023', 'AmazonLinux2023'],
    ['AmazonLinux2', 'AmazonLinux2'],
    ['Ubuntu2204', 'Ubuntu2204'],
    ['a near miss with a dash', 'Bottlerocket-Fips'],
    ['surrounding spaces (EqualFold does not trim)', ' Bottlerocket '],
    ['the empty string', ''],
  ])('%s is not', (_what, family) => {
    expect(isEksctlBottlerocket(family)).toBe(false);
  });
});

describe('karpenterAmiVerdict', () => {
  const facts = (over: Partial<KarpenterAmiFacts>): KarpenterAmiFacts => ({
    amiFamily: undefined,
    aliases: [],
    names: [],
    defaultsToAL2: false,
    ...over,
  });

  it('takes a bottlerocket@ alias as Bottlerocket, in any case and whatever amiFamily says', () => {
    // aws/karpenter-provider-aws pkg/apis/v1/ec2nodeclass.go amiFamilyFromAlias.
    expect(karpenterAmiVerdict(facts({ aliases: ['bottlerocket@latest'] }))).toEqual({
      bottlerocket: true,
    });
    expect(karpenterAmiVerdict(facts({ aliases: ['Bottlerocket@v1.30.0'] }))).toEqual({
      bottlerocket: true,
    });
    expect(
      karpenterAmiVerdict(facts({ aliases: ['bottlerocket@latest'], amiFamily: 'Custom' })),
    ).toEqual({ bottlerocket: true });
  });

  it('lets an alias of another family win over amiFamily Bottlerocket', () => {
    expect(
      karpenterAmiVerdict(facts({ aliases: ['al2023@latest'], amiFamily: 'Bottlerocket' })),
    ).toEqual({ bottlerocket: false, why: 'selects the AMI alias al2023@latest' });
  });

  it('does not take an alias that only contains "bottlerocket" for one', () => {
    expect(karpenterAmiVerdict(facts({ aliases: ['notbottlerocket@latest'] }))).toEqual({
      bottlerocket: false,
      why: 'selects the AMI alias notbottlerocket@latest',
    });
  });

  it('falls back to amiFamily: Bottlerocket yes, another family no', () => {
    expect(karpenterAmiVerdict(facts({ amiFamily: 'Bottlerocket' }))).toEqual({
      bottlerocket: true,
    });
    expect(karpenterAmiVerdict(facts({ amiFamily: 'AL2023' }))).toEqual({
      bottlerocket: false,
      why: 'has amiFamily AL2023',
    });
    // The CRD's enum spells it Bottlerocket: another spelling is another (invalid) family.
    expect(karpenterAmiVerdict(facts({ amiFamily: 'bottlerocket' }))).toEqual({
      bottlerocket: false,
      why: 'has amiFamily bottlerocket',
    });
  });

  it('tells amiFamily Custom by an AMI name containing "bottlerocket", in any case', () => {
    expect(
      karpenterAmiVerdict(
        facts({ amiFamily: 'Custom', names: ['my-ami', 'BottleRocket-aws-k8s-1.33-*'] }),
      ),
    ).toEqual({ bottlerocket: true });
    expect(karpenterAmiVerdict(facts({ amiFamily: 'Custom', names: ['golden-al2023-*'] }))).toEqual(
      {
        bottlerocket: 'unknown',
        why: 'has amiFamily Custom and no bottlerocket@ alias or AMI name with "bottlerocket"',
      },
    );
    expect(karpenterAmiVerdict(facts({ amiFamily: 'Custom' })).bottlerocket).toBe('unknown');
  });

  it('reads AMI names only under Custom', () => {
    expect(
      karpenterAmiVerdict(facts({ amiFamily: 'AL2', names: ['bottlerocket-aws-k8s-*'] })),
    ).toEqual({ bottlerocket: false, why: 'has amiFamily AL2' });
  });

  it('without amiFamily or alias: AL2 for a v1alpha1 AWSNodeTemplate, else unknown', () => {
    expect(karpenterAmiVerdict(facts({ defaultsToAL2: true }))).toEqual({
      bottlerocket: false,
      why: 'sets no amiFamily, so Karpenter uses AL2',
    });
    expect(karpenterAmiVerdict(facts({}))).toEqual({
      bottlerocket: 'unknown',
      why: 'sets neither amiFamily nor an AMI alias',
    });
    // A name alone does not tell without amiFamily Custom.
    expect(karpenterAmiVerdict(facts({ names: ['bottlerocket-*'] })).bottlerocket).toBe('unknown');
  });
});
