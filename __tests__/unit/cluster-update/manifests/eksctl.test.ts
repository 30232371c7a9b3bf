/**
 * eksctl ClusterConfig node groups (./eksctl.ts): which groups are targets, what is written on
 * their /dev/xvdb additionalVolumes entry, and the warnings and notices users see. Behaviour
 * follows eksctl-io/eksctl pkg/apis/eksctl.io/v1alpha5 (defaults.go, validation.go, types.go).
 */
import { describe, expect, it } from '@jest/globals';
import { eksctlSnippet } from '../../../../src/cluster-update/manifests/snippets.js';
import {
  NEW_SNAPSHOT,
  OLD_SNAPSHOT,
  diffLines,
  messages,
  readFixture,
  run,
} from './fixture-cases.js';

const NEW = NEW_SNAPSHOT;
const OLD = OLD_SNAPSHOT;

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

describe('eksctl targets', () => {
  it('warns about a listed group that has no data volume entry, and changes nothing', () => {
    const source = readFixture('eksctl-article.yaml');
    const result = run(source, { targets: ['no-prefetch-mng'] });
    expect(result.content).toBe(source);
    expect(result.targets).toEqual([]);
    expect(messages(result)).toEqual([
      `12: eksctl managed node group 'no-prefetch-mng' is Bottlerocket but has no additionalVolumes entry for /dev/xvdb, so the snapshot cannot be set on its data volume (it is listed in targets); add to the group:\n${eksctlSnippet(NEW, 80)}`,
    ]);
  });
});

/** A ClusterConfig with the given node group lines (each group starts with `  - name: ...`). */
function cluster(list: 'nodeGroups' | 'managedNodeGroups', ...groups: string[][]): string {
  return [
    'apiVersion: eksctl.io/v1alpha5',
    'kind: ClusterConfig',
    'metadata:',
    '  name: c',
    '  region: us-east-1',
    `${list}:`,
    ...groups.flat(),
    '',
  ].join('\n');
}

/** A Bottlerocket group with an OS volume override and a /dev/xvdb entry (`entry` lines added). */
const cachedGroup = (name: string, family = 'Bottlerocket', ...entry: string[]) => [
  `  - name: ${name}`,
  `    amiFamily: ${family}`,
  '    volumeName: /dev/xvda',
  '    additionalVolumes:',
  '      - volumeName: /dev/xvdb',
  ...entry,
];

describe('eksctl Bottlerocket detection', () => {
  it.each(['Bottlerocket', 'bottlerocket', 'BottleRocket', 'bottlerocketfips'])(
    'updates a group with amiFamily %s without a not-Bottlerocket warning',
    (family) => {
      const result = run(cluster('nodeGroups', cachedGroup('ng', family)));
      expect(result.targets.map((t) => [t.kind, t.name])).toEqual([['eksctl-nodegroup', 'ng']]);
      expect(result.warnings).toEqual([]);
    },
  );

  it.each(['AmazonLinux2', 'Ubuntu2204', 'WindowsServer2022FullContainer'])(
    'leaves a /dev/xvdb entry of amiFamily %s alone, flagged notBottlerocket, on the amiFamily line',
    (family) => {
      const source = cluster('nodeGroups', cachedGroup('ng', family));
      const result = run(source);
      expect(result.content).toBe(source);
      expect(result.warnings).toEqual([
        {
          line: 8,
          message: `eksctl node group 'ng' has amiFamily ${family}, not Bottlerocket: its /dev/xvdb is not the container store, so it is left unchanged (name it in update-targets to update it anyway)`,
          notBottlerocket: true,
        },
      ]);
    },
  );

  it('names a group without a name by its place in the list', () => {
    const source = cluster('managedNodeGroups', cachedGroup('x', 'AmazonLinux2023')).replace(
      '  - name: x\n    amiFamily',
      '  - amiFamily',
    );
    expect(messages(run(source))[0]).toMatch(
      /^7: eksctl managed node group 'managedNodeGroups\[0\]' has amiFamily AmazonLinux2023/,
    );
  });
});

describe('eksctl groups without a /dev/xvdb entry', () => {
  it('says nothing about a group that is not Bottlerocket and has no data volume entry', () => {
    const source = cluster('nodeGroups', ['  - name: al', '    amiFamily: AmazonLinux2023']);
    const result = run(source, { requiredSizeGiB: 100 });
    expect(result).toMatchObject({ content: source, targets: [], warnings: [], notices: [] });
    expect(result.missingDataVolumes).toEqual([]);
  });

  it('warns about a named group that is not Bottlerocket and has no data volume entry', () => {
    const source = cluster('nodeGroups', ['  - name: al', '    amiFamily: AmazonLinux2023']);
    expect(messages(run(source, { targets: ['al'] }))).toEqual([
      "7: eksctl node group 'al' is listed in targets but has no additionalVolumes entry with volumeName /dev/xvdb; add one (and volumeName /dev/xvda on the group for the OS volume) so the snapshot can be set on it",
    ]);
  });

  it('does not offer a snippet for a Bottlerocket group with its own launch template', () => {
    const source = cluster('managedNodeGroups', [
      '  - name: lt',
      '    amiFamily: Bottlerocket',
      '    launchTemplate:',
      '      id: lt-0123456789abcdef0',
    ]);
    const result = run(source);
    expect(result.missingDataVolumes).toEqual([]);
    expect(result.notices).toEqual([]);
  });

  it('sizes the snippet at the snapshot when it needs more than eksctl default 80 GiB', () => {
    const source = cluster('nodeGroups', ['  - name: br', '    amiFamily: Bottlerocket']);
    const [missing] = run(source, { requiredSizeGiB: 200 }).missingDataVolumes;
    expect(missing).toMatchObject({ line: 7, kind: 'eksctl-nodegroup', dataGiB: 200 });
    expect(missing?.snippet).toBe(eksctlSnippet(NEW, 200));
  });
});

describe('eksctl named targets', () => {
  const source = cluster(
    'managedNodeGroups',
    cachedGroup('a', 'Bottlerocket', `        snapshotID: ${OLD}`),
    cachedGroup('b', 'Bottlerocket', `        snapshotID: ${OLD}`),
  );

  it('updates only the named group and says the other was left alone', () => {
    const result = run(source, { targets: ['b'] });
    expect(result.targets.map((t) => t.name)).toEqual(['b']);
    expect(diffLines(source, result.content)).toEqual({
      removed: [[18, `        snapshotID: ${OLD}`]],
      added: [[18, `        snapshotID: ${NEW}`]],
    });
    expect(messages(result, 'notices')).toEqual([
      "7: eksctl managed node group 'a' is not listed in targets: left unchanged",
    ]);
  });

  it('matches names exactly: a name in neither list changes nothing and warns about nothing', () => {
    const result = run(source, { targets: ['A'] });
    expect(result.content).toBe(source);
    expect(result.targets).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it('finds a named group in nodeGroups and managedNodeGroups alike', () => {
    const both = `${source}nodeGroups:\n${cachedGroup('c').join('\n')}\n`;
    const result = run(both, { targets: ['a', 'c'] });
    expect(result.targets.map((t) => [t.kind, t.name])).toEqual([
      ['eksctl-managed-nodegroup', 'a'],
      ['eksctl-nodegroup', 'c'],
    ]);
  });
});

describe('eksctl /dev/xvda override', () => {
  const noOverride = (extra: string[] = []) =>
    cluster('nodeGroups', [
      '  - name: ng',
      '    amiFamily: Bottlerocket',
      '    additionalVolumes:',
      ...extra,
      '      - volumeName: /dev/xvdb',
    ]);

  it('warns, on the group line, when a Bottlerocket group names neither way /dev/xvda', () => {
    const result = run(noOverride());
    // Still updated: the warning says what eksctl would do with it.
    expect(result.targets).toHaveLength(1);
    expect(messages(result)).toEqual([
      "7: eksctl node group 'ng' is Bottlerocket without a volumeName: /dev/xvda override: eksctl then uses the group's own volume as /dev/xvdb and would map /dev/xvdb twice; set volumeName: /dev/xvda on the group or add an additionalVolumes entry for /dev/xvda",
    ]);
  });

  it('accepts an additionalVolumes entry for /dev/xvda instead of volumeName on the group', () => {
    expect(run(noOverride(['      - volumeName: /dev/xvda'])).warnings).toEqual([]);
  });

  it('does not give the warning to a named group that is not Bottlerocket', () => {
    const source = noOverride().replace('amiFamily: Bottlerocket', 'amiFamily: AmazonLinux2023');
    const warnings = messages(run(source, { targets: ['ng'] }));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('updated because update-targets names it');
  });
});

describe('eksctl volumeSize below the snapshot', () => {
  it('raises it, reports both sizes, and counts a size-only change as a change', () => {
    const source = cluster(
      'nodeGroups',
      cachedGroup('ng', 'Bottlerocket', `        snapshotID: ${NEW}`, '        volumeSize: 20'),
    );
    const result = run(source, { requiredSizeGiB: 64 });
    expect(result.targets).toEqual([
      {
        kind: 'eksctl-nodegroup',
        name: 'ng',
        apiVersion: 'eksctl.io/v1alpha5',
        line: 11,
        previousSnapshotId: NEW,
        snapshotId: NEW,
        previousSize: '20',
        size: '64',
        changed: true,
      },
    ]);
    expect(diffLines(source, result.content)).toEqual({
      removed: [[13, '        volumeSize: 20']],
      added: [[13, '        volumeSize: 64']],
    });
  });

  it('leaves volumeSize alone when no snapshot size is given', () => {
    const source = cluster(
      'nodeGroups',
      cachedGroup('ng', 'Bottlerocket', '        volumeSize: 1'),
    );
    const result = run(source);
    expect(result.content).toContain('volumeSize: 1\n');
    expect(result.targets[0]).toMatchObject({ previousSize: '1', size: '1' });
  });
});
