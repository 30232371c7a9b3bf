/**
 * Karpenter node classes (./karpenter.ts): v1 / v1beta1 EC2NodeClass and v1alpha1
 * AWSNodeTemplate, which are targets, what is written on the /dev/xvdb block device mapping, and
 * the warnings and notices users see. Behaviour follows aws/karpenter-provider-aws
 * (pkg/apis/v1/ec2nodeclass.go, pkg/providers/amifamily, pkg/providers/launchtemplate).
 */
import { describe, expect, it } from '@jest/globals';
import {
  NEW_SNAPSHOT,
  OLD_SNAPSHOT,
  diffLines,
  messages,
  nodeClass,
  readFixture,
  run,
} from './fixture-cases.js';

const NEW = NEW_SNAPSHOT;
const OLD = OLD_SNAPSHOT;

describe('Karpenter node classes', () => {
  it('updates the documented v1 Bottlerocket EC2NodeClass', () => {
    const result = run(readFixture('karpenter-v1-ec2nodeclass.yaml'), {
      requiredSizeGiB: 50,
      volumeInitializationRate: 150,
    });
    expect(result.targets).toEqual([
      {
        kind: 'karpenter-ec2nodeclass',
        name: 'bottlerocket-example',
        apiVersion: 'karpenter.k8s.aws/v1',
        line: 22,
        previousSnapshotId: null,
        snapshotId: NEW,
        previousSize: '20Gi',
        size: '50Gi',
        changed: true,
      },
    ]);
    expect(result.warnings).toEqual([]);
  });

  it('updates the seed article v1alpha1 AWSNodeTemplate and leaves the Provisioner alone', () => {
    const source = readFixture('karpenter-v1alpha1-article.yaml');
    const result = run(source, { requiredSizeGiB: 100 });
    expect(result.targets).toEqual([
      expect.objectContaining({
        kind: 'karpenter-awsnodetemplate',
        name: 'bottlerocket',
        apiVersion: 'karpenter.k8s.aws/v1alpha1',
        previousSnapshotId: OLD,
        previousSize: '80Gi',
        size: '100Gi',
      }),
    ]);
    const provisionerEnd = source.indexOf('---\n');
    expect(result.content.slice(0, provisionerEnd)).toBe(source.slice(0, provisionerEnd));
    // The article's trailing space after "karpenter.sh/capacity-type" survives.
    expect(result.content).toContain('- key: "karpenter.sh/capacity-type" \n');
  });

  describe('volumeSize', () => {
    const cases: Array<[string, string, number, string]> = [
      ['Gi below', '20Gi', 100, '100Gi'],
      ['Gi equal', '100Gi', 100, '100Gi'],
      // Karpenter requests ceil(bytes / 10^9) GiB: 80Gi is an 86 GiB volume.
      ['Gi rounding as Karpenter does', '80Gi', 86, '80Gi'],
      ['Gi rounding just below', '80Gi', 87, '87Gi'],
      ['G equal', '100G', 100, '100G'],
      ['G below', '93G', 100, '100Gi'],
      ['Ti above', '1Ti', 100, '1Ti'],
      ['T below', '1T', 2000, '2000Gi'],
      ['Mi below', '20480Mi', 100, '100Gi'],
      ['plain bytes below', '21474836480', 100, '100Gi'],
      ['double quoted', '"20Gi"', 100, '"100Gi"'],
      ['single quoted', "'20Gi'", 100, "'100Gi'"],
    ];
    it.each(cases)('%s: %s with %i GiB required -> %s', (_name, written, required, expected) => {
      const source = nodeClass(
        `    - deviceName: /dev/xvdb\n      ebs:\n        volumeSize: ${written}\n        volumeType: gp3`,
      );
      const result = run(source, { requiredSizeGiB: required });
      expect(result.content).toContain(`        volumeSize: ${expected}\n`);
      const again = run(result.content, { requiredSizeGiB: required });
      expect(again.content).toBe(result.content);
      expect(again.targets[0]?.changed).toBe(false);
    });

    it('leaves a missing volumeSize missing (EC2 uses the snapshot size)', () => {
      const source = nodeClass('    - deviceName: /dev/xvdb\n      ebs:\n        volumeType: gp3');
      const result = run(source, { requiredSizeGiB: 100 });
      expect(result.content).toBe(source.replace('gp3\n', `gp3\n        snapshotID: ${NEW}\n`));
      expect(result.targets[0]?.size).toBeUndefined();
    });

    it('warns about a volumeSize it cannot read', () => {
      const source = nodeClass('    - deviceName: /dev/xvdb\n      ebs:\n        volumeSize: huge');
      const result = run(source, { requiredSizeGiB: 100 });
      expect(result.content).toContain('volumeSize: huge');
      expect(messages(result)).toEqual([
        "11: EC2NodeClass 'cached': volumeSize 'huge' is not a quantity this action understands (like 80Gi); left unchanged",
      ]);
    });
  });

  describe('volumeInitializationRate', () => {
    it('inserts it on v1 and replaces a different value', () => {
      const inserted = run(
        nodeClass('    - deviceName: /dev/xvdb\n      ebs:\n        volumeSize: 20Gi'),
        {
          volumeInitializationRate: 200,
        },
      );
      expect(inserted.content).toContain(
        `        volumeSize: 20Gi\n        snapshotID: ${NEW}\n        volumeInitializationRate: 200\n`,
      );
      const replaced = run(inserted.content, { volumeInitializationRate: 300 });
      expect(diffLines(inserted.content, replaced.content)).toEqual({
        removed: [[15, '        volumeInitializationRate: 200']],
        added: [[15, '        volumeInitializationRate: 300']],
      });
      expect(replaced.targets[0]?.changed).toBe(true);
    });

    it.each(['karpenter.k8s.aws/v1beta1', 'karpenter.k8s.aws/v1alpha1'])(
      'is not written on %s, with a warning',
      (apiVersion) => {
        const source = nodeClass(
          '    - deviceName: /dev/xvdb\n      ebs:\n        volumeSize: 20Gi',
          apiVersion,
        );
        const result = run(source, { volumeInitializationRate: 200 });
        expect(result.content).not.toContain('volumeInitializationRate');
        expect(result.content).toContain(`snapshotID: ${NEW}`);
        const kind = apiVersion.endsWith('v1alpha1') ? 'AWSNodeTemplate' : 'EC2NodeClass';
        expect(messages(result)).toEqual([
          `1: ${kind} 'cached': volumeInitializationRate is not supported by ${apiVersion} (it needs karpenter.k8s.aws/v1); not written`,
        ]);
      },
    );
  });

  describe('checks', () => {
    it('leaves a non-Bottlerocket alias alone; named in targets, updates it and warns about RAID0 and /dev/xvda', () => {
      const source = readFixture('non-bottlerocket.yaml');
      const result = run(source);
      expect(result.content).toBe(source);
      expect(messages(result).slice(1)).toEqual([
        "20: EC2NodeClass 'al2023' selects the AMI alias al2023@latest, not Bottlerocket: its /dev/xvdb may not be the container store, so it is left unchanged (name it in update-targets to update it anyway; Karpenter would replace its nodes)",
      ]);
      const forced = run(source, { targets: ['al2023'] });
      expect(forced.targets.map((t) => t.name)).toEqual(['al2023']);
      expect(messages(forced)).toEqual([
        "20: EC2NodeClass 'al2023' selects the AMI alias al2023@latest, not Bottlerocket: updated because update-targets names it; the container images cached on /dev/xvdb are used only by Bottlerocket",
        "21: EC2NodeClass 'al2023' sets instanceStorePolicy: RAID0: on instance types with NVMe instance storage Bottlerocket mounts that array over /var/lib/containerd, hiding the images cached on /dev/xvdb",
        "29: EC2NodeClass 'al2023' has no blockDeviceMappings entry for /dev/xvda: a blockDeviceMappings list replaces Karpenter's Bottlerocket defaults, so the OS volume (/dev/xvda) must be listed too",
      ]);
    });

    it('leaves a non-Bottlerocket amiFamily alone', () => {
      const source = nodeClass('    - deviceName: /dev/xvdb').replace(
        'amiFamily: Bottlerocket',
        'amiFamily: AL2023',
      );
      const result = run(source);
      expect(result.content).toBe(source);
      expect(messages(result)).toEqual([
        "6: EC2NodeClass 'cached' has amiFamily AL2023, not Bottlerocket: its /dev/xvdb may not be the container store, so it is left unchanged (name it in update-targets to update it anyway; Karpenter would replace its nodes)",
      ]);
    });

    it('leaves a node class alone when neither amiFamily nor an alias tells', () => {
      const source = nodeClass('    - deviceName: /dev/xvdb').replace(
        '  amiFamily: Bottlerocket\n',
        '',
      );
      expect(messages(run(source))).toEqual([
        "1: EC2NodeClass 'cached' sets neither amiFamily nor an AMI alias, not known to be Bottlerocket: its /dev/xvdb may not be the container store, so it is left unchanged (name it in update-targets to update it anyway; Karpenter would replace its nodes)",
      ]);
      const alpha = nodeClass('    - deviceName: /dev/xvdb', 'karpenter.k8s.aws/v1alpha1').replace(
        '  amiFamily: Bottlerocket\n',
        '',
      );
      expect(messages(run(alpha))).toEqual([
        "1: AWSNodeTemplate 'cached' sets no amiFamily, so Karpenter uses AL2, not Bottlerocket: its /dev/xvdb may not be the container store, so it is left unchanged (name it in update-targets to update it anyway; Karpenter would replace its nodes)",
      ]);
    });

    it.each([
      ['amiFamily: Custom\n  amiSelectorTerms:\n    - alias: bottlerocket@v1.30.0'],
      ['amiFamily: Custom\n  amiSelectorTerms:\n    - name: bottlerocket-aws-k8s-1.33-x86_64-*'],
      ['amiSelectorTerms:\n    - alias: bottlerocket@latest'],
    ])('treats %j as Bottlerocket: the AMI decides, not the family label', (ami) => {
      const source = nodeClass('    - deviceName: /dev/xvdb').replace(
        'amiFamily: Bottlerocket',
        ami,
      );
      const result = run(source);
      expect(result.targets).toHaveLength(1);
      expect(result.warnings).toEqual([]);
    });

    it('leaves amiFamily Custom selecting by ID alone, and updates it when named', () => {
      const source = nodeClass('    - deviceName: /dev/xvdb').replace(
        'amiFamily: Bottlerocket',
        'amiFamily: Custom\n  amiSelectorTerms:\n    - id: ami-0123456789abcdef0',
      );
      expect(run(source).targets).toEqual([]);
      expect(messages(run(source))[0]).toContain(
        'has amiFamily Custom and no bottlerocket@ alias or AMI name with "bottlerocket", not known to be Bottlerocket',
      );
      expect(run(source, { targets: ['cached'] }).targets).toHaveLength(1);
    });

    it('names an AWSNodeTemplate without metadata.name by its line', () => {
      const source = nodeClass('    - deviceName: /dev/xvdb', 'karpenter.k8s.aws/v1alpha1')
        .replace('metadata:\n  name: cached\n', '')
        .replace('amiFamily: Bottlerocket', 'amiFamily: AL2');
      expect(messages(run(source))[0]).toMatch(
        /^4: AWSNodeTemplate without metadata.name \(line 1\) has amiFamily AL2/,
      );
    });

    it.each(['karpenter.k8s.aws/v1', 'karpenter.k8s.aws/v1beta1'])(
      'warns about a missing /dev/xvda mapping on %s',
      (apiVersion) => {
        const source = nodeClass('    - deviceName: /dev/xvdb', apiVersion).replace(
          '    - deviceName: /dev/xvda\n      ebs:\n        volumeSize: 4Gi\n',
          '',
        );
        expect(messages(run(source))).toEqual([
          "7: EC2NodeClass 'cached' has no blockDeviceMappings entry for /dev/xvda: a blockDeviceMappings list replaces Karpenter's Bottlerocket defaults, so the OS volume (/dev/xvda) must be listed too",
        ]);
      },
    );

    it('gives no warning for the documented Bottlerocket shapes', () => {
      expect(run(readFixture('karpenter-v1-ec2nodeclass.yaml')).warnings).toEqual([]);
      expect(run(readFixture('karpenter-v1beta1.yaml')).warnings).toEqual([]);
      expect(run(readFixture('multi-document.yaml')).warnings).toEqual([]);
    });
  });
});

describe('Karpenter targets', () => {
  it('matches Karpenter metadata.name', () => {
    const source = readFixture('multi-document.yaml');
    expect(run(source, { targets: ['cached'] }).targets).toHaveLength(1);
    const other = run(source, { targets: ['other'] });
    expect(other.content).toBe(source);
    expect(messages(other, 'notices')).toEqual([
      "44: EC2NodeClass 'cached' is not listed in targets: left unchanged",
    ]);
  });
});

describe('Karpenter AMI selection', () => {
  const withAmi = (ami: string, apiVersion?: string) =>
    nodeClass('    - deviceName: /dev/xvdb', apiVersion).replace('amiFamily: Bottlerocket', ami);

  it('updates a v1 EC2NodeClass selecting the bottlerocket@ alias, without amiFamily', () => {
    const result = run(withAmi('amiSelectorTerms:\n    - alias: bottlerocket@v1.42.0'));
    expect(result.targets).toEqual([
      {
        kind: 'karpenter-ec2nodeclass',
        name: 'cached',
        apiVersion: 'karpenter.k8s.aws/v1',
        line: 12,
        previousSnapshotId: null,
        snapshotId: NEW,
        changed: true,
      },
    ]);
    expect(result.warnings).toEqual([]);
  });

  it('lets an alias of another family win over amiFamily Bottlerocket, warning on the alias line', () => {
    const source = withAmi(
      'amiFamily: Bottlerocket\n  amiSelectorTerms:\n    - alias: al2023@latest',
    );
    const result = run(source);
    expect(result.content).toBe(source);
    expect(messages(result)).toEqual([
      "8: EC2NodeClass 'cached' selects the AMI alias al2023@latest, not Bottlerocket: its /dev/xvdb may not be the container store, so it is left unchanged (name it in update-targets to update it anyway; Karpenter would replace its nodes)",
    ]);
  });

  it('updates amiFamily Custom selecting an AMI by a name with "bottlerocket" (v1alpha1 aws::name too)', () => {
    const v1 = withAmi('amiFamily: Custom\n  amiSelectorTerms:\n    - name: my-Bottlerocket-build');
    expect(run(v1).targets.map((t) => t.name)).toEqual(['cached']);
    const alpha = withAmi(
      'amiFamily: Custom\n  amiSelector:\n    aws::name: bottlerocket-aws-k8s-1.29-*',
      'karpenter.k8s.aws/v1alpha1',
    );
    expect(run(alpha).targets.map((t) => t.kind)).toEqual(['karpenter-awsnodetemplate']);
  });

  it('leaves amiFamily Custom with a name without "bottlerocket" alone, as not known', () => {
    const source = withAmi('amiFamily: Custom\n  amiSelectorTerms:\n    - name: golden-al2023-*');
    const result = run(source);
    expect(result.content).toBe(source);
    expect(result.warnings).toEqual([
      {
        line: 6,
        message:
          'EC2NodeClass \'cached\' has amiFamily Custom and no bottlerocket@ alias or AMI name with "bottlerocket", not known to be Bottlerocket: its /dev/xvdb may not be the container store, so it is left unchanged (name it in update-targets to update it anyway; Karpenter would replace its nodes)',
        notBottlerocket: true,
      },
    ]);
  });

  it('updates a v1alpha1 AWSNodeTemplate without amiFamily (AL2) only when named, with a warning', () => {
    const source = withAmi('', 'karpenter.k8s.aws/v1alpha1').replace('  \n', '');
    expect(run(source).targets).toEqual([]);
    const named = run(source, { targets: ['cached'] });
    expect(named.targets.map((t) => t.kind)).toEqual(['karpenter-awsnodetemplate']);
    expect(messages(named)).toEqual([
      "1: AWSNodeTemplate 'cached' sets no amiFamily, so Karpenter uses AL2, not Bottlerocket: updated because update-targets names it; the container images cached on /dev/xvdb are used only by Bottlerocket",
    ]);
  });
});

describe('Karpenter node classes without a /dev/xvdb mapping', () => {
  const bare = [
    'apiVersion: karpenter.k8s.aws/v1',
    'kind: EC2NodeClass',
    'metadata:',
    '  name: default',
    'spec:',
    '  amiSelectorTerms:',
    '    - alias: bottlerocket@latest',
    '',
  ].join('\n');

  it("says Karpenter's defaults apply when there is no blockDeviceMappings, with the snippet", () => {
    const result = run(bare, { requiredSizeGiB: 50 });
    expect(result.content).toBe(bare);
    expect(result.targets).toEqual([]);
    const [missing] = result.missingDataVolumes;
    expect(missing).toMatchObject({
      line: 1,
      kind: 'karpenter-ec2nodeclass',
      label: "EC2NodeClass 'default'",
      snippetKind: 'karpenter',
      dataGiB: 50,
    });
    expect(messages(result, 'notices')).toEqual([
      `1: EC2NodeClass 'default' runs Bottlerocket but it has no blockDeviceMappings, so Karpenter's defaults apply (/dev/xvdb 20Gi, no snapshot); set spec.blockDeviceMappings to both mappings (a list replaces Karpenter's defaults):\n${missing?.snippet ?? ''}`,
    ]);
    expect(missing?.snippet).toContain(NEW);
  });

  it("never sizes the snippet below Karpenter's 20Gi default", () => {
    expect(run(bare, { requiredSizeGiB: 8 }).missingDataVolumes[0]?.dataGiB).toBe(20);
    expect(run(bare).missingDataVolumes[0]?.dataGiB).toBe(20);
  });

  it('says the list has no /dev/xvdb entry, and warns instead when the class is named', () => {
    const source = `${bare}  blockDeviceMappings:\n    - deviceName: /dev/xvda\n`;
    expect(messages(run(source), 'notices')[0]).toMatch(
      /^1: EC2NodeClass 'default' runs Bottlerocket but its blockDeviceMappings has no \/dev\/xvdb entry; set/,
    );
    const named = run(source, { targets: ['default'] });
    expect(named.notices).toEqual([]);
    expect(messages(named)[0]).toMatch(
      /^1: EC2NodeClass 'default' runs Bottlerocket but its blockDeviceMappings has no \/dev\/xvdb entry \(it is listed in targets\); set/,
    );
  });

  it('says nothing about a node class that is not Bottlerocket, unless it is named', () => {
    const al = bare.replace('bottlerocket@latest', 'al2023@latest');
    expect(run(al)).toMatchObject({ warnings: [], notices: [], missingDataVolumes: [] });
    expect(messages(run(al, { targets: ['default'] }))).toEqual([
      "1: EC2NodeClass 'default' is listed in targets but has no spec.blockDeviceMappings entry for /dev/xvdb; add one (and one for /dev/xvda) so the snapshot can be set on it",
    ]);
  });
});

describe('Karpenter checks on a target', () => {
  it('warns about a missing /dev/xvda mapping on a v1alpha1 AWSNodeTemplate too', () => {
    const source = nodeClass('    - deviceName: /dev/xvdb', 'karpenter.k8s.aws/v1alpha1').replace(
      '    - deviceName: /dev/xvda\n      ebs:\n        volumeSize: 4Gi\n',
      '',
    );
    const result = run(source);
    expect(result.targets).toHaveLength(1);
    expect(messages(result)).toEqual([
      "7: AWSNodeTemplate 'cached' has no blockDeviceMappings entry for /dev/xvda: a blockDeviceMappings list replaces Karpenter's Bottlerocket defaults, so the OS volume (/dev/xvda) must be listed too",
    ]);
  });

  it('warns about instanceStorePolicy RAID0 on a Bottlerocket class and still updates it', () => {
    const source = nodeClass(
      '    - deviceName: /dev/xvdb',
      undefined,
      '  instanceStorePolicy: RAID0',
    );
    const result = run(source);
    expect(result.targets).toHaveLength(1);
    expect(messages(result)).toEqual([
      "7: EC2NodeClass 'cached' sets instanceStorePolicy: RAID0: on instance types with NVMe instance storage Bottlerocket mounts that array over /var/lib/containerd, hiding the images cached on /dev/xvdb",
    ]);
    const none = nodeClass('    - deviceName: /dev/xvdb', undefined, '  instanceStorePolicy: NONE');
    expect(run(none).warnings).toEqual([]);
  });

  it('warns about several /dev/xvdb mappings and updates each', () => {
    const source = nodeClass('    - deviceName: /dev/xvdb\n    - deviceName: /dev/xvdb');
    const result = run(source);
    expect(result.targets.map((t) => t.line)).toEqual([11, 12]);
    expect(messages(result)).toEqual([
      "7: EC2NodeClass 'cached' has 2 blockDeviceMappings entries for /dev/xvdb",
    ]);
  });
});

describe('Karpenter volumeInitializationRate and the Karpenter version', () => {
  const source = nodeClass('    - deviceName: /dev/xvdb\n      ebs:\n        volumeSize: 20Gi');

  it('withholds the rate, with a warning naming the hint, for a Karpenter older than v1.5.0', () => {
    const result = run(source, {
      volumeInitializationRate: 200,
      karpenterVersions: [
        {
          line: 3,
          what: "HelmRelease 'karpenter' (chart karpenter 1.4.0)",
          supportsInitializationRate: false,
          file: 'flux/karpenter.yaml',
        },
      ],
    });
    expect(result.content).not.toContain('volumeInitializationRate');
    expect(result.content).toContain(`snapshotID: ${NEW}`);
    expect(messages(result)).toEqual([
      "1: EC2NodeClass 'cached': volumeInitializationRate not written: HelmRelease 'karpenter' (chart karpenter 1.4.0) at flux/karpenter.yaml:3 is a Karpenter older than v1.5.0, whose EC2NodeClass has no such field (the API server would reject the node class)",
    ]);
  });

  it('writes it quietly when a hint says v1.5.0 or later, with a notice when nothing tells', () => {
    const newer = run(source, {
      volumeInitializationRate: 200,
      karpenterVersions: [{ line: 1, what: 'chart 1.5.0', supportsInitializationRate: true }],
    });
    expect(newer.content).toContain('volumeInitializationRate: 200');
    expect(newer.notices).toEqual([]);
    const unknown = run(source, { volumeInitializationRate: 200 });
    expect(unknown.content).toContain('volumeInitializationRate: 200');
    expect(messages(unknown, 'notices')).toEqual([
      "1: EC2NodeClass 'cached': volumeInitializationRate written; it needs Karpenter v1.5.0 or later (older versions reject the node class as having an unknown field)",
    ]);
  });
});
