import { describe, expect, it } from '@jest/globals';
import { InputError } from '../../../../src/core/errors.js';
import {
  ManifestParseError,
  rewriteManifest,
  type RewriteOptions,
  type RewriteResult,
} from '../../../../src/cluster-update/manifests/index.js';
import { eksctlSnippet } from '../../../../src/cluster-update/manifests/snippets.js';
import { NEW_SNAPSHOT, OLD_SNAPSHOT, diffLines, readFixture } from './fixture-cases.js';

const NEW = NEW_SNAPSHOT;
const OLD = OLD_SNAPSHOT;

function run(source: string, options: Omit<RewriteOptions, 'snapshotId'> = {}): RewriteResult {
  return rewriteManifest(source, { snapshotId: NEW, ...options });
}

const messages = (r: RewriteResult, kind: 'warnings' | 'notices' = 'warnings') =>
  r[kind].map((f) => `${f.line}: ${f.message}`);

/** A v1 EC2NodeClass with a Bottlerocket alias, an xvda mapping and `xvdb` as given. */
function nodeClass(xvdb: string, apiVersion = 'karpenter.k8s.aws/v1', extraSpec = ''): string {
  const kind = apiVersion.endsWith('v1alpha1') ? 'AWSNodeTemplate' : 'EC2NodeClass';
  return [
    `apiVersion: ${apiVersion}`,
    `kind: ${kind}`,
    'metadata:',
    '  name: cached',
    'spec:',
    '  amiFamily: Bottlerocket',
    extraSpec,
    '  blockDeviceMappings:',
    '    - deviceName: /dev/xvda',
    '      ebs:',
    '        volumeSize: 4Gi',
    xvdb,
  ]
    .filter((l) => l !== '')
    .join('\n')
    .concat('\n');
}

describe('eksctl ClusterConfig', () => {
  it('updates the seed article prefetch-mng group and leaves no-prefetch-mng alone', () => {
    const result = run(readFixture('eksctl-article.yaml'));
    expect(result.targets).toEqual([
      {
        kind: 'eksctl-managed-nodegroup',
        name: 'prefetch-mng',
        apiVersion: 'eksctl.io/v1alpha5',
        line: 28,
        previousSnapshotId: OLD,
        snapshotId: NEW,
        changed: true,
      },
    ]);
    expect(result.warnings).toEqual([]);
    // no-prefetch-mng is Bottlerocket with the implicit data volume: a notice says what to add.
    expect(result.missingDataVolumes).toEqual([
      {
        line: 12,
        kind: 'eksctl-managed-nodegroup',
        label: "eksctl managed node group 'no-prefetch-mng'",
        snippetKind: 'eksctl',
        dataGiB: 80,
        snippet: eksctlSnippet(NEW, 80),
      },
    ]);
    expect(messages(result, 'notices')).toEqual([
      `12: eksctl managed node group 'no-prefetch-mng' is Bottlerocket but has no additionalVolumes entry for /dev/xvdb, so the snapshot cannot be set on its data volume; add to the group:\n${eksctlSnippet(NEW, 80)}`,
    ]);
  });

  it('inserts volumeSize after the last key when a size is required and none is written', () => {
    const source = readFixture('eksctl-article.yaml');
    const result = run(source, { requiredSizeGiB: 120 });
    expect(diffLines(source, result.content)).toEqual({
      removed: [[29, `        snapshotID: ${OLD}`]],
      added: [
        [29, `        snapshotID: ${NEW}`],
        [30, '        volumeSize: 120'],
      ],
    });
    expect(result.targets[0]).toMatchObject({ size: '120', changed: true });
    expect(result.targets[0]?.previousSize).toBeUndefined();
  });

  it('raises a smaller volumeSize, keeps a larger one, and keeps quoting', () => {
    const source = [
      'apiVersion: eksctl.io/v1alpha5',
      'kind: ClusterConfig',
      'metadata: {name: c, region: us-east-1}',
      'nodeGroups:',
      '  - name: small',
      '    amiFamily: Bottlerocket',
      '    volumeName: /dev/xvda',
      '    additionalVolumes:',
      '      - volumeName: /dev/xvdb',
      "        volumeSize: '40'",
      '  - name: big',
      '    amiFamily: Bottlerocket',
      '    volumeName: /dev/xvda',
      '    additionalVolumes:',
      '      - volumeName: /dev/xvdb',
      '        volumeSize: 500',
      '',
    ].join('\n');
    const result = run(source, { requiredSizeGiB: 100 });
    expect(diffLines(source, result.content)).toEqual({
      removed: [[10, "        volumeSize: '40'"]],
      added: [
        [10, "        volumeSize: '100'"],
        [11, `        snapshotID: ${NEW}`],
        [18, `        snapshotID: ${NEW}`],
      ],
    });
    expect(result.targets.map((t) => [t.kind, t.name, t.previousSize, t.size])).toEqual([
      ['eksctl-nodegroup', 'small', '40', '100'],
      ['eksctl-nodegroup', 'big', '500', '500'],
    ]);
  });

  it('warns about a volumeSize that is not a whole number and leaves it', () => {
    const source = readFixture('eksctl-article.yaml').replace(
      `        snapshotID: ${OLD}\n`,
      `        snapshotID: ${OLD}\n        volumeSize: 80Gi\n`,
    );
    const result = run(source, { requiredSizeGiB: 100 });
    expect(result.content).toContain('volumeSize: 80Gi');
    expect(messages(result)).toEqual([
      "30: eksctl managed node group 'prefetch-mng': volumeSize '80Gi' is not a whole number of GiB; left unchanged",
    ]);
  });

  it('warns about launchTemplate groups and Bottlerocket groups mapping /dev/xvdb twice', () => {
    const result = run(readFixture('eksctl-nodegroups.yaml'), { requiredSizeGiB: 100 });
    expect(messages(result)).toEqual([
      "23: eksctl node group 'ng-double' is Bottlerocket without a volumeName: /dev/xvda override: eksctl then uses the group's own volume as /dev/xvdb and would map /dev/xvdb twice; set volumeName: /dev/xvda on the group or add an additionalVolumes entry for /dev/xvda",
      "33: eksctl managed node group 'mng-lt' uses its own launchTemplate: eksctl ignores its volume settings (additionalVolumes included), so the snapshot has to be set in that launch template",
    ]);
    expect(result.targets.map((t) => [t.line, t.kind, t.name, t.previousSnapshotId])).toEqual([
      [18, 'eksctl-nodegroup', 'ng-cached', null],
      [27, 'eksctl-nodegroup', 'ng-double', OLD],
      [39, 'eksctl-managed-nodegroup', 'mng-lt', null],
    ]);
  });

  it('leaves a non-Bottlerocket group alone with a warning, or with none named, updates a named one', () => {
    const source = readFixture('non-bottlerocket.yaml');
    const result = run(source);
    expect(result.content).toBe(source);
    expect(result.targets).toEqual([]);
    expect(messages(result)[0]).toBe(
      "8: eksctl managed node group 'al2023-mng' has amiFamily AmazonLinux2023, not Bottlerocket: its /dev/xvdb is not the container store, so it is left unchanged (name it in update-targets to update it anyway)",
    );
    expect(result.warnings[0]?.notBottlerocket).toBe(true);
    const forced = run(source, { targets: ['al2023-mng'] });
    expect(forced.targets.map((t) => t.name)).toEqual(['al2023-mng']);
    expect(messages(forced)).toContain(
      "8: eksctl managed node group 'al2023-mng' has amiFamily AmazonLinux2023, not Bottlerocket: updated because update-targets names it, but the container images cached on /dev/xvdb will not be used",
    );
    const noFamily = run(
      readFixture('eksctl-article.yaml').replace(
        '    privateNetworking: true\n    amiFamily: Bottlerocket\n    additionalVolumes',
        '    privateNetworking: true\n    additionalVolumes',
      ),
    );
    expect(noFamily.targets).toEqual([]);
    expect(messages(noFamily)).toEqual([
      "19: eksctl managed node group 'prefetch-mng' sets no amiFamily, so eksctl uses its default (AmazonLinux2023), not Bottlerocket: its /dev/xvdb is not the container store, so it is left unchanged (name it in update-targets to update it anyway)",
    ]);
  });

  it.each(['BottlerocketFips', 'bottlerocket', 'BOTTLEROCKETFIPS'])(
    'treats amiFamily %s as Bottlerocket, as eksctl does, and checks its /dev/xvda override',
    (family) => {
      const source = readFixture('eksctl-article.yaml').replaceAll(
        'amiFamily: Bottlerocket',
        `amiFamily: ${family}`,
      );
      const result = run(source);
      expect(result.targets.map((t) => t.name)).toEqual(['prefetch-mng']);
      expect(result.warnings).toEqual([]);
      expect(result.missingDataVolumes.map((m) => m.label)).toEqual([
        "eksctl managed node group 'no-prefetch-mng'",
      ]);
      const double = run(source.replace("      - volumeName: '/dev/xvda' # OS Volume\n", ''));
      expect(messages(double)).toEqual([
        "19: eksctl managed node group 'prefetch-mng' is Bottlerocket without a volumeName: /dev/xvda override: eksctl then uses the group's own volume as /dev/xvdb and would map /dev/xvdb twice; set volumeName: /dev/xvda on the group or add an additionalVolumes entry for /dev/xvda",
      ]);
    },
  );

  it('fits the implicit data volume snippet to what the group already sets', () => {
    const group = (extra: string) =>
      [
        'apiVersion: eksctl.io/v1alpha5',
        'kind: ClusterConfig',
        'nodeGroups:',
        '  - name: br',
        '    amiFamily: Bottlerocket',
        extra,
        '',
      ].join('\n');
    const sized = run(group('    volumeSize: 120'), { requiredSizeGiB: 50 }).missingDataVolumes[0];
    // The group's own 120 GiB volume was the data volume: the new one is no smaller.
    expect(sized?.dataGiB).toBe(120);
    expect(sized?.snippet).toBe(eksctlSnippet(NEW, 120, { volumeSize: '120' }));
    expect(sized?.snippet).toContain('replaces volumeSize: 120, which sized the data volume');
    const os = run(group('    volumeName: /dev/xvda\n    volumeSize: 4'), { requiredSizeGiB: 50 })
      .missingDataVolumes[0];
    expect(os?.snippet.split('\n')[0]).toBe('additionalVolumes:');
    expect(os?.dataGiB).toBe(80);
  });

  describe('volumeSize never gets smaller', () => {
    const entry = (size: string) =>
      readFixture('eksctl-article.yaml').replace(
        `        snapshotID: ${OLD}\n`,
        `        snapshotID: ${OLD}\n${size}`,
      );
    it.each([
      // [written, snapshot GiB, written after]
      ['', 50, undefined], // eksctl's default 80 GiB is already enough: nothing written
      ['', 80, undefined],
      ['', 81, '81'],
      ['        volumeSize: 30\n', 50, '50'],
      ['        volumeSize: 200\n', 50, '200'],
      ['        volumeSize: 50\n', 50, '50'],
    ])('written %j, snapshot %d GiB -> %s', (written, required, after) => {
      const result = run(entry(written), { requiredSizeGiB: required });
      expect(result.targets[0]?.size).toBe(after);
      const lines = result.content.split('\n');
      const sizes = lines.filter((l) => l.includes('volumeSize')).map((l) => l.trim());
      expect(sizes).toEqual(after === undefined ? [] : [`volumeSize: ${after}`]);
      expect(run(result.content, { requiredSizeGiB: required }).content).toBe(result.content);
    });
  });

  it('warns when a group has several /dev/xvdb entries and updates each', () => {
    const source = [
      'apiVersion: eksctl.io/v1alpha5',
      'kind: ClusterConfig',
      'managedNodeGroups:',
      '  - name: twice',
      '    amiFamily: Bottlerocket',
      '    volumeName: /dev/xvda',
      '    additionalVolumes:',
      '      - volumeName: /dev/xvdb',
      '      - volumeName: /dev/xvdb',
      '',
    ].join('\n');
    const result = run(source);
    expect(result.targets).toHaveLength(2);
    expect(messages(result)).toEqual([
      "4: eksctl managed node group 'twice' has 2 additionalVolumes entries for /dev/xvdb; eksctl maps a device once",
    ]);
  });

  it('does not write a volume initialization rate for eksctl, and says so', () => {
    const source = readFixture('eksctl-article.yaml');
    const result = run(source, { volumeInitializationRate: 200 });
    expect(result.content).not.toContain('volumeInitializationRate');
    expect(messages(result, 'notices')).toContain(
      '2: eksctl ClusterConfig has no field for an EBS volume initialization rate: not written for eksctl node groups',
    );
  });
});

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

  describe('ebs mapping shapes', () => {
    it('creates ebs when the /dev/xvdb mapping has none, at the detected indentation', () => {
      const source = nodeClass('    - deviceName: /dev/xvdb');
      const result = run(source);
      expect(result.content).toBe(`${source}      ebs:\n        snapshotID: ${NEW}\n`);
    });

    it('fills an empty ebs: after its comment', () => {
      const source = nodeClass('    - deviceName: /dev/xvdb\n      ebs: # filled in by CI');
      const result = run(source);
      expect(result.content).toBe(`${source}        snapshotID: ${NEW}\n`);
    });

    it('fills an empty ebs inside a flow mapping with a flow mapping (valid YAML)', () => {
      const source = nodeClass('    - {deviceName: /dev/xvdb, ebs: }');
      expect(run(source).content).toBe(source.replace('ebs: }', `ebs: {snapshotID: ${NEW}}}`));
    });

    it('replaces an explicit null ebs with a flow mapping', () => {
      const source = nodeClass('    - deviceName: /dev/xvdb\n      ebs: ~');
      expect(run(source).content).toBe(source.replace('ebs: ~', `ebs: {snapshotID: ${NEW}}`));
    });

    it('fills an empty snapshotID value and keeps its comment a comment', () => {
      const source = nodeClass(
        '    - deviceName: /dev/xvdb\n      ebs:\n        snapshotID: # set by CI\n        volumeSize: 20Gi',
      );
      const result = run(source);
      expect(result.content).toBe(
        source.replace('snapshotID: # set by CI', `snapshotID: ${NEW} # set by CI`),
      );
      expect(run(result.content).content).toBe(result.content);
    });

    it('inserts into an empty flow mapping and into one with a trailing comma', () => {
      const empty = nodeClass('    - {deviceName: /dev/xvdb, ebs: {}}');
      expect(run(empty).content).toBe(empty.replace('ebs: {}', `ebs: {snapshotID: ${NEW}}`));
      const comma = nodeClass('    - {deviceName: /dev/xvdb, ebs: {volumeType: gp3, }}');
      expect(run(comma).content).toBe(
        comma.replace('volumeType: gp3, }', `volumeType: gp3, snapshotID: ${NEW}, }`),
      );
    });

    it('keeps the key quoting of the mapping it inserts into', () => {
      const source = nodeClass(
        '    - "deviceName": "/dev/xvdb"\n      "ebs":\n        "volumeSize": "20Gi"',
      );
      expect(run(source).content).toBe(`${source}        "snapshotID": "${NEW}"\n`);
    });

    it('uses a 4-space indentation step when the file does', () => {
      const source = [
        'apiVersion: karpenter.k8s.aws/v1',
        'kind: EC2NodeClass',
        'metadata:',
        '    name: wide',
        'spec:',
        '    amiSelectorTerms:',
        '        -   alias: bottlerocket@latest',
        '    blockDeviceMappings:',
        '        -   deviceName: /dev/xvda',
        '        -   deviceName: /dev/xvdb',
        '',
      ].join('\n');
      expect(run(source).content).toBe(
        `${source}            ebs:\n                snapshotID: ${NEW}\n`,
      );
    });

    it('does not change a block scalar that ends the file without a newline', () => {
      const source = nodeClass(
        '    - deviceName: /dev/xvdb\n      ebs:\n        kmsKeyID: |\n          abc',
      ).slice(0, -1);
      const result = run(source);
      expect(result.content).toBe(
        source.replace('        kmsKeyID: |', `        snapshotID: ${NEW}\n        kmsKeyID: |`),
      );
    });

    it('inserts after the last key even when deviceName comes after ebs', () => {
      const source = nodeClass('    - ebs:\n        volumeType: gp3\n      deviceName: /dev/xvdb');
      expect(run(source).content).toBe(
        source.replace('gp3\n', `gp3\n        snapshotID: ${NEW}\n`),
      );
    });

    it('warns and skips a snapshotID written as a block scalar', () => {
      const source = nodeClass(
        `    - deviceName: /dev/xvdb\n      ebs:\n        snapshotID: |\n          ${OLD}`,
      );
      const result = run(source);
      expect(result.content).toBe(source);
      expect(result.targets).toEqual([]);
      expect(messages(result)).toEqual([
        "13: EC2NodeClass 'cached': snapshotID is written as a block scalar; left unchanged (write it as a plain or quoted value)",
      ]);
    });

    it('warns when ebs is not a mapping', () => {
      const source = nodeClass('    - deviceName: /dev/xvdb\n      ebs: [1, 2]');
      const result = run(source);
      expect(result.content).toBe(source);
      expect(messages(result)).toEqual([
        "12: EC2NodeClass 'cached': ebs is not a mapping; left unchanged",
      ]);
    });
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

describe('targets filter', () => {
  it('only rewrites the named node groups and node classes', () => {
    const source = readFixture('flow-anchors.yaml');
    const result = run(source, { targets: ['inline', 'gpu-cached'], requiredSizeGiB: 100 });
    expect(result.targets.map((t) => t.name)).toEqual(['gpu-cached', 'inline']);
    expect(result.content).toContain(`snapshotID: "${OLD}"}`); // cached-a/b untouched
    expect(messages(result, 'notices')).toEqual(
      expect.arrayContaining([
        "20: eksctl managed node group 'cached-a' is not listed in targets: left unchanged",
        "25: eksctl managed node group 'cached-b' is not listed in targets: left unchanged",
      ]),
    );
  });

  it('warns about a listed group that has no data volume entry, and changes nothing', () => {
    const source = readFixture('eksctl-article.yaml');
    const result = run(source, { targets: ['no-prefetch-mng'] });
    expect(result.content).toBe(source);
    expect(result.targets).toEqual([]);
    expect(messages(result)).toEqual([
      `12: eksctl managed node group 'no-prefetch-mng' is Bottlerocket but has no additionalVolumes entry for /dev/xvdb, so the snapshot cannot be set on its data volume (it is listed in targets); add to the group:\n${eksctlSnippet(NEW, 80)}`,
    ]);
  });

  it('matches Karpenter metadata.name', () => {
    const source = readFixture('multi-document.yaml');
    expect(run(source, { targets: ['cached'] }).targets).toHaveLength(1);
    const other = run(source, { targets: ['other'] });
    expect(other.content).toBe(source);
    expect(messages(other, 'notices')).toEqual([
      "44: EC2NodeClass 'cached' is not listed in targets: left unchanged",
    ]);
  });

  it('treats an empty list (or blank names) as no filter', () => {
    const source = readFixture('eksctl-article.yaml');
    expect(run(source, { targets: [] }).targets).toHaveLength(1);
    expect(run(source, { targets: [' ', ''] }).targets).toHaveLength(1);
  });
});

describe('anchors, aliases and merges', () => {
  it('edits a shared entry once when every user is a selected target', () => {
    const result = run(readFixture('flow-anchors.yaml'), { requiredSizeGiB: 100 });
    expect(messages(result, 'notices')).toEqual([
      "14: EC2NodeClass 'gpu-cached': snapshotID was the alias *snap, whose anchor (line 6) is also used elsewhere; replaced by the value, the anchor is unchanged",
      '24: anchor &cachedVolumes is used in 2 places, all data volumes being updated: edited once, where it is defined',
    ]);
    // The annotation holding the anchor keeps its old value.
    expect(result.content).toContain(`&snap "${OLD}"`);
  });

  it('refuses to edit an entry shared with a group outside targets', () => {
    const source = readFixture('flow-anchors.yaml');
    const result = run(source, { targets: ['cached-b'] });
    expect(result.content).toBe(source);
    expect(result.targets).toEqual([]);
    expect(messages(result)).toEqual([
      "24: eksctl managed node group 'cached-b': the text to change is shared through anchor &cachedVolumes, and the anchored value itself at line 24 is not the data volume of a selected target; left unchanged (write the value out for this target)",
    ]);
  });

  it('refuses to put the snapshot on an ebs mapping shared with /dev/xvda', () => {
    const source = nodeClass('    - deviceName: /dev/xvdb\n      ebs: *e').replace(
      '      ebs:\n        volumeSize: 4Gi',
      '      ebs: &e\n        volumeSize: 4Gi',
    );
    const result = run(source);
    expect(result.content).toBe(source);
    expect(messages(result)).toEqual([
      "10: EC2NodeClass 'cached': the text to change is shared through anchor &e, and the anchored value itself at line 10 is not the data volume of a selected target; left unchanged (write the value out for this target)",
    ]);
  });

  it('refuses to change a snapshotID anchor that another mapping also uses', () => {
    const source = nodeClass(
      `    - deviceName: /dev/xvdb\n      ebs: {snapshotID: &s ${OLD}}\n    - deviceName: /dev/xvdc\n      ebs: {snapshotID: *s}`,
    );
    const result = run(source);
    expect(result.content).toBe(source);
    expect(messages(result)[0]).toContain('the alias *s at line 14 is not the data volume');
  });

  it('overrides a value merged with << on the mapping itself', () => {
    const source = nodeClass(
      `    - deviceName: /dev/xvdb\n      ebs:\n        <<: *e\n        encrypted: true`,
    ).replace('      ebs:\n        volumeSize: 4Gi', '      ebs: &e\n        volumeSize: 4Gi');
    const result = run(source, { requiredSizeGiB: 100 });
    expect(result.content).toBe(
      source.replace(
        '        encrypted: true\n',
        `        encrypted: true\n        snapshotID: ${NEW}\n        volumeSize: 100Gi\n`,
      ),
    );
    expect(result.targets[0]).toMatchObject({ previousSize: '4Gi', size: '100Gi' });
    expect(run(result.content, { requiredSizeGiB: 100 }).content).toBe(result.content);
  });

  it('rejects an alias used before its anchor as a parse error', () => {
    const source = nodeClass(`    - deviceName: /dev/xvdb\n      ebs: {snapshotID: *later}`);
    expect(() => run(source)).toThrow(ManifestParseError);
    try {
      run(source);
    } catch (error) {
      expect(error).toMatchObject({ line: 12, column: 25, code: 'BAD_ALIAS' });
    }
  });
});

describe('documents and files', () => {
  it('leaves every document of another kind byte-for-byte alone', () => {
    const source = readFixture('multi-document.yaml');
    const result = run(source);
    const start = source.indexOf('apiVersion: karpenter.k8s.aws/v1\n');
    const end = source.indexOf('---\napiVersion: v1\nkind: ConfigMap');
    expect(result.content.slice(0, start)).toBe(source.slice(0, start));
    expect(result.content.endsWith(source.slice(end))).toBe(true);
    expect(result.targets.map((t) => [t.name, t.previousSize, t.size])).toEqual([
      ['cached', '100G', '100G'],
    ]);
  });

  it('preserves CRLF line endings, including on inserted lines', () => {
    const source = readFixture('crlf.yaml');
    const result = run(source, { requiredSizeGiB: 30 });
    expect(result.content.replace(/\r\n/g, '')).not.toContain('\n');
    expect(result.content).toContain(`        snapshotID: ${NEW}\r\n\r\n  # tags applied`);
  });

  it('preserves the absence of a final newline', () => {
    const source = readFixture('no-final-newline.yaml');
    const result = run(source);
    expect(result.content).toBe(`${source}\n        snapshotID: ${NEW}`);
  });

  it('skips a Helm template with a reason and never edits it', () => {
    const source = readFixture('helm-template.yaml');
    const result = run(source);
    expect(result).toEqual({
      content: source,
      targets: [],
      warnings: [],
      notices: [],
      missingDataVolumes: [],
      karpenterVersions: [],
      skipped:
        "contains a template marker '{{' at line 5 (Helm or Go template), so it is not YAML until rendered; not edited",
    });
  });

  it('does not take {{ in a comment for a template', () => {
    const source = `# rendered from {{ .Values }} once\n${readFixture('eksctl-article.yaml')}`;
    expect(run(source).skipped).toBeUndefined();
  });

  it('throws ManifestParseError with the line and the parser message for broken YAML', () => {
    expect(() => run(readFixture('broken.yaml'))).toThrow(ManifestParseError);
    try {
      run(readFixture('broken.yaml'));
    } catch (error) {
      expect(error).toBeInstanceOf(ManifestParseError);
      expect(error).toMatchObject({
        line: 12,
        column: 1,
        code: 'BAD_INDENT',
        message: 'All mapping items must start at the same column',
      });
    }
  });

  it('ignores empty files, comments only, scalars, lists and unknown kinds', () => {
    for (const source of [
      '',
      '# nothing\n',
      'just text\n',
      '- a\n- b\n',
      'kind: Foo\napiVersion: x/v1\n',
    ]) {
      expect(run(source)).toEqual({
        content: source,
        targets: [],
        warnings: [],
        notices: [],
        missingDataVolumes: [],
        karpenterVersions: [],
      });
    }
  });

  it('ignores an EC2NodeClass under another API group and a mismatched kind', () => {
    const other = nodeClass('    - deviceName: /dev/xvdb').replace(
      'karpenter.k8s.aws/v1',
      'example.com/v1',
    );
    expect(run(other).targets).toEqual([]);
    const mismatched = nodeClass('    - deviceName: /dev/xvdb').replace(
      'kind: EC2NodeClass',
      'kind: AWSNodeTemplate',
    );
    expect(run(mismatched).targets).toEqual([]);
  });
});

describe('options', () => {
  const source = readFixture('eksctl-article.yaml');
  it.each([
    [{ snapshotId: 'snap-123' }, 'snapshot-id'],
    [{ snapshotId: 'ami-0f1e2d3c4b5a69788' }, 'snapshot-id'],
    [{ snapshotId: NEW, requiredSizeGiB: 0 }, 'volume-size'],
    [{ snapshotId: NEW, requiredSizeGiB: 1.5 }, 'volume-size'],
    [{ snapshotId: NEW, volumeInitializationRate: 99 }, 'volume-initialization-rate'],
    [{ snapshotId: NEW, volumeInitializationRate: 301 }, 'volume-initialization-rate'],
  ] as Array<[RewriteOptions, string]>)('rejects %j (%s)', (options, input) => {
    expect(() => rewriteManifest(source, options)).toThrow(InputError);
    expect(() => rewriteManifest(source, options)).toThrow(`Input '${input}'`);
  });

  it('accepts an 8-digit snapshot ID', () => {
    expect(rewriteManifest(source, { snapshotId: 'snap-0123abcd' }).targets).toHaveLength(1);
  });
});
