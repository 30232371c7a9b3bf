/**
 * The manifest fixtures, the options each golden file was produced with, and test helpers.
 * Golden files: `__fixtures__/manifests/<name>.expected.yaml`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import {
  rewriteManifest,
  type RewriteOptions,
  type RewriteResult,
} from '../../../../src/cluster-update/manifests/index.js';

export const FIXTURES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../__fixtures__/manifests',
);

/** The snapshot every golden file points at; the fixtures hold OLD_SNAPSHOT where they have one. */
export const NEW_SNAPSHOT = 'snap-0f1e2d3c4b5a69788';
export const OLD_SNAPSHOT = 'snap-0a1b2c3d4e5f67890';

export interface FixtureCase {
  name: string;
  options: Omit<RewriteOptions, 'snapshotId'>;
}

export const GOLDEN_CASES: FixtureCase[] = [
  { name: 'eksctl-article', options: {} },
  { name: 'eksctl-nodegroups', options: { requiredSizeGiB: 100 } },
  {
    name: 'karpenter-v1alpha1-article',
    options: { requiredSizeGiB: 100, volumeInitializationRate: 200 },
  },
  {
    name: 'karpenter-v1-ec2nodeclass',
    options: { requiredSizeGiB: 50, volumeInitializationRate: 150 },
  },
  { name: 'karpenter-v1beta1', options: { requiredSizeGiB: 80, volumeInitializationRate: 200 } },
  { name: 'multi-document', options: { requiredSizeGiB: 100 } },
  { name: 'crlf', options: { requiredSizeGiB: 30 } },
  { name: 'no-final-newline', options: {} },
  { name: 'flow-anchors', options: { requiredSizeGiB: 100 } },
  // Not Bottlerocket: rewritten only because update-targets names both.
  { name: 'non-bottlerocket', options: { targets: ['al2023-mng', 'al2023'] } },
];

export function readFixture(file: string): string {
  return readFileSync(path.join(FIXTURES, file), 'utf8');
}

export interface LineDiff {
  /** [line in the original (1-based), text] of every line that is gone. */
  removed: Array<[number, string]>;
  /** [line in the new text (1-based), text] of every line that is new. */
  added: Array<[number, string]>;
}

/** A line diff (longest common subsequence); lines keep a trailing `\r` if they had one. */
export function diffLines(before: string, after: string): LineDiff {
  const a = before.split('\n');
  const b = after.split('\n');
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const row = lcs[i] as number[];
      row[j] =
        a[i] === b[j]
          ? (lcs[i + 1]?.[j + 1] ?? 0) + 1
          : Math.max(lcs[i + 1]?.[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  const removed: Array<[number, string]> = [];
  const added: Array<[number, string]> = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < m && (i === n || (lcs[i]?.[j + 1] ?? 0) >= (lcs[i + 1]?.[j] ?? 0))) {
      added.push([j + 1, b[j] ?? '']);
      j++;
    } else {
      removed.push([i + 1, a[i] ?? '']);
      i++;
    }
  }
  return { removed, added };
}

/** The documents' data with the data volume fields this action writes removed. */
export function dataWithoutDataVolumeFields(text: string): unknown[] {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value === null || typeof value !== 'object') return value;
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) copy[k] = strip(v);
    if (copy.volumeName === '/dev/xvdb') {
      delete copy.snapshotID;
      delete copy.volumeSize;
    }
    if (copy.deviceName === '/dev/xvdb' && copy.ebs && typeof copy.ebs === 'object') {
      const ebs = copy.ebs as Record<string, unknown>;
      delete ebs.snapshotID;
      delete ebs.volumeSize;
      delete ebs.volumeInitializationRate;
    }
    return copy;
  };
  return parseAllDocuments(text).map((d) => strip(d.toJS()));
}

/** rewriteManifest with NEW_SNAPSHOT and the given options. */
export function run(
  source: string,
  options: Omit<RewriteOptions, 'snapshotId'> = {},
): RewriteResult {
  return rewriteManifest(source, { snapshotId: NEW_SNAPSHOT, ...options });
}

/** A result's warnings (or notices) as `line: message`. */
export const messages = (r: RewriteResult, kind: 'warnings' | 'notices' = 'warnings') =>
  r[kind].map((f) => `${f.line}: ${f.message}`);

/** A v1 EC2NodeClass with amiFamily Bottlerocket, an xvda mapping and `xvdb` as given. */
export function nodeClass(
  xvdb: string,
  apiVersion = 'karpenter.k8s.aws/v1',
  extraSpec = '',
): string {
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
