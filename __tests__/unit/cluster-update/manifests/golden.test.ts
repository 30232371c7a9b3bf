import { describe, expect, it } from '@jest/globals';
import { rewriteManifest } from '../../../../src/cluster-update/manifests/index.js';
import {
  GOLDEN_CASES,
  NEW_SNAPSHOT,
  OLD_SNAPSHOT,
  dataWithoutDataVolumeFields,
  diffLines,
  readFixture,
  type LineDiff,
} from './fixture-cases.js';

const NEW = NEW_SNAPSHOT;
const OLD = OLD_SNAPSHOT;

/** The exact lines each fixture loses and gains (1-based: original / new line numbers). */
const EXPECTED_DIFFS: Record<string, LineDiff> = {
  'eksctl-article': {
    removed: [[29, `        snapshotID: ${OLD}`]],
    added: [[29, `        snapshotID: ${NEW}`]],
  },
  'eksctl-nodegroups': {
    removed: [
      [19, '        volumeSize: 50'],
      [28, `        snapshotID: ${OLD}`],
      [40, '        volumeSize: 80'],
    ],
    added: [
      [19, '        volumeSize: 100'],
      [22, `        snapshotID: ${NEW}`],
      [29, `        snapshotID: ${NEW}`],
      [41, '        volumeSize: 100'],
      [42, `        snapshotID: ${NEW}`],
    ],
  },
  'karpenter-v1alpha1-article': {
    removed: [
      [46, '        volumeSize: 80Gi'],
      [48, `        snapshotID: ${OLD}`],
    ],
    added: [
      [46, '        volumeSize: 100Gi'],
      [48, `        snapshotID: ${NEW}`],
    ],
  },
  'karpenter-v1-ec2nodeclass': {
    removed: [[25, '        volumeSize: 20Gi']],
    added: [
      [25, '        volumeSize: 50Gi'],
      [28, `        snapshotID: ${NEW}`],
      [29, '        volumeInitializationRate: 150'],
    ],
  },
  'karpenter-v1beta1': {
    removed: [[29, `        snapshotID: '${OLD}'`]],
    added: [[29, `        snapshotID: '${NEW}'`]],
  },
  'multi-document': {
    removed: [],
    added: [[68, `        snapshotID: ${NEW}`]],
  },
  crlf: {
    removed: [[22, '        volumeSize: 20Gi\r']],
    added: [
      [22, '        volumeSize: 30Gi\r'],
      [24, `        snapshotID: ${NEW}\r`],
    ],
  },
  'no-final-newline': {
    removed: [],
    added: [[23, `        snapshotID: ${NEW}`]],
  },
  'flow-anchors': {
    removed: [
      [
        14,
        '    - {"deviceName": "/dev/xvdb", "ebs": {"volumeSize": "20Gi", "volumeType": "gp3", "snapshotID": *snap}}',
      ],
      [
        24,
        `      - {volumeName: "/dev/xvdb", volumeSize: 80, volumeType: "gp3", snapshotID: "${OLD}"}`,
      ],
      [
        29,
        '  - {name: "inline", amiFamily: "Bottlerocket", volumeName: "/dev/xvda", additionalVolumes: [{volumeName: "/dev/xvdb"}]}',
      ],
    ],
    added: [
      [
        14,
        `    - {"deviceName": "/dev/xvdb", "ebs": {"volumeSize": "100Gi", "volumeType": "gp3", "snapshotID": "${NEW}"}}`,
      ],
      [
        24,
        `      - {volumeName: "/dev/xvdb", volumeSize: 100, volumeType: "gp3", snapshotID: "${NEW}"}`,
      ],
      [
        29,
        `  - {name: "inline", amiFamily: "Bottlerocket", volumeName: "/dev/xvda", additionalVolumes: [{volumeName: "/dev/xvdb", snapshotID: "${NEW}", volumeSize: 100}]}`,
      ],
    ],
  },
  'non-bottlerocket': {
    removed: [],
    added: [
      [13, `        snapshotID: ${NEW}`],
      [35, `        snapshotID: ${NEW}`],
    ],
  },
};

describe('rewriteManifest golden files', () => {
  it('has an expected diff for every golden case', () => {
    expect(Object.keys(EXPECTED_DIFFS).sort()).toEqual(GOLDEN_CASES.map((c) => c.name).sort());
  });

  describe.each(GOLDEN_CASES)('$name', ({ name, options }) => {
    const source = readFixture(`${name}.yaml`);
    const result = rewriteManifest(source, { snapshotId: NEW, ...options });

    it('matches the .expected.yaml file byte for byte', () => {
      expect(result.content).toBe(readFixture(`${name}.expected.yaml`));
    });

    it('parses to the same data apart from the data volume fields', () => {
      expect(dataWithoutDataVolumeFields(result.content)).toEqual(
        dataWithoutDataVolumeFields(source),
      );
    });

    it('changes exactly the expected lines', () => {
      expect(diffLines(source, result.content)).toEqual(EXPECTED_DIFFS[name]);
    });

    it('reports every target as changed on the first run', () => {
      expect(result.targets.length).toBeGreaterThan(0);
      expect(result.targets.every((t) => t.changed && t.snapshotId === NEW)).toBe(true);
    });

    it('is idempotent: a second run returns the identical string and changes nothing', () => {
      const again = rewriteManifest(result.content, { snapshotId: NEW, ...options });
      expect(again.content).toBe(result.content);
      expect(again.targets.map((t) => t.changed)).toEqual(result.targets.map(() => false));
      expect(again.targets.map((t) => t.previousSnapshotId)).toEqual(result.targets.map(() => NEW));
    });

    it('keeps the line ending style and the presence of a final newline', () => {
      expect(result.content.includes('\r\n')).toBe(source.includes('\r\n'));
      expect(/(^|[^\r])\n/.test(result.content)).toBe(/(^|[^\r])\n/.test(source));
      expect(result.content.endsWith('\n')).toBe(source.endsWith('\n'));
    });
  });
});
