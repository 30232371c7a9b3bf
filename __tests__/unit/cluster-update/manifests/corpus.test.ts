/**
 * The rewriter over real public eksctl and Karpenter files (`__fixtures__/manifests/corpus/`,
 * each with a `.source.json` naming repository, commit and path) and variants of them that real
 * users have: checked against the real schemas (./schemas.ts) before and after the rewrite.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parseDocument, stringify } from 'yaml';
import {
  ebsGiBFromQuantity,
  rewriteManifest,
  type RewriteOptions,
  type RewriteResult,
} from '../../../../src/cluster-update/manifests/index.js';
import { karpenterVersionHints } from '../../../../src/cluster-update/manifests/karpenter-version.js';
import { FIXTURES, NEW_SNAPSHOT, dataWithoutDataVolumeFields } from './fixture-cases.js';
import { karpenterCrdYamlData, strictStructural, validatorsFor } from './schemas.js';

const CORPUS = path.join(FIXTURES, 'corpus');
/** The action's default snapshot size. */
const SIZE = 50;
const OPTIONS: RewriteOptions = { snapshotId: NEW_SNAPSHOT, requiredSizeGiB: SIZE };

interface Source {
  repository: string;
  commit: string;
  ref: string;
  path: string;
  lines?: string;
  license: string;
}

const corpusFiles = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const read = (name: string) => readFileSync(path.join(CORPUS, name), 'utf8');
const sourceOf = (name: string) =>
  JSON.parse(read(name.replace(/\.yaml$/, '.source.json'))) as Source;

type Outcome =
  /** Rewritten: these targets. */
  | { updated: string[] }
  /** Bottlerocket, implicit data volume: these get a snippet. */
  | { missing: string[] }
  /** A /dev/xvdb mapping that is not Bottlerocket: left alone with a warning. */
  | { notBottlerocket: string[] }
  /** Nothing about data volumes. */
  | 'nothing'
  /** A Helm template: skipped. */
  | 'skipped';

/** What each real file gives with the default 50 GiB snapshot, and the warnings it gets. */
const EXPECTED: Record<string, { outcome: Outcome; warnings?: RegExp[] }> = {
  'blueprints-bottlerocket-ec2nodeclass-template.yaml': { outcome: 'skipped' },
  'blueprints-karpenter-mng.yaml': { outcome: { missing: ["EC2NodeClass 'default'"] } },
  'blueprints-karpenter.yaml': { outcome: { missing: ["EC2NodeClass 'default'"] } },
  'bottlerocket-sample-eksctl-ssh.yaml': {
    outcome: { missing: ["eksctl node group 'ng-bottlerocket'"] },
  },
  'bottlerocket-sample-eksctl.yaml': {
    outcome: { missing: ["eksctl node group 'ng-bottlerocket'"] },
  },
  'data-on-eks-ec2nodeclass.yaml': { outcome: 'nothing' },
  'data-on-eks-preload-images-doc.yaml': {
    outcome: { updated: ['default'] },
    warnings: [/^7: EC2NodeClass 'default' has no blockDeviceMappings entry for \/dev\/xvda/],
  },
  'eksctl-01-simple-cluster.yaml': { outcome: 'nothing' },
  'eksctl-05-advanced-nodegroups.yaml': { outcome: 'nothing' },
  'eksctl-10-encrypted-volumes.yaml': { outcome: 'nothing' },
  'eksctl-15-managed-nodes.yaml': { outcome: 'nothing' },
  'eksctl-20-bottlerocket.yaml': {
    outcome: { missing: ["eksctl node group 'ng1-public'", "eksctl node group 'ng2-public-ssh'"] },
  },
  'eksctl-29-cluster-with-karpenter.yaml': { outcome: 'nothing' },
  'karpenter-v1-bottlerocket.yaml': { outcome: { updated: ['bottlerocket'] } },
  'karpenter-v1-br-custom-userdata.yaml': { outcome: { missing: ["EC2NodeClass 'bottlerocket'"] } },
  'karpenter-v1-custom-family-with-alias.yaml': {
    outcome: { missing: ["EC2NodeClass 'custom-family'"] },
  },
  'karpenter-v1-custom-family.yaml': { outcome: 'nothing' },
  'karpenter-v1-general-purpose.yaml': { outcome: 'nothing' },
  'karpenter-v1-instance-store-ephemeral-storage.yaml': { outcome: 'nothing' },
  'karpenter-v1-multiple-ebs.yaml': {
    outcome: { notBottlerocket: ['multiple-ebs'] },
    warnings: [
      /^49: EC2NodeClass 'multiple-ebs' selects the AMI alias al2023@latest, not Bottlerocket/,
    ],
  },
  'karpenter-v1alpha1-bottlerocket.yaml': { outcome: { updated: ['my-provider'] } },
  'karpenter-v1alpha1-br-custom-userdata.yaml': {
    outcome: { missing: ["AWSNodeTemplate 'default'"] },
  },
  'karpenter-v1beta1-bottlerocket.yaml': { outcome: { updated: ['bottlerocket'] } },
  'karpenter-v1beta1-br-custom-userdata.yaml': {
    outcome: { missing: ["EC2NodeClass 'bottlerocket'"] },
  },
  'karpenter-v1beta1-multiple-ebs.yaml': {
    outcome: { notBottlerocket: ['multiple-ebs'] },
    warnings: [/^41: EC2NodeClass 'multiple-ebs' has amiFamily AL2, not Bottlerocket/],
  },
};

type Json = Record<string, unknown>;

/** [validator name, document index, errors] for every document with a schema. */
function validate(text: string): Array<[string, number, string[]]> {
  return parseAllDocuments(text).flatMap((doc, index) => {
    const data = doc.toJS() as Json | null;
    if (!data || typeof data.apiVersion !== 'string' || typeof data.kind !== 'string') return [];
    return validatorsFor(data.apiVersion, data.kind).map((v): [string, number, string[]] => [
      v.name,
      index,
      v.check(data),
    ]);
  });
}

/** Every schema a document met before, it meets after. */
function expectValidityKept(before: string, after: string): void {
  const was = validate(before);
  const now = validate(after);
  expect(now.map(([name, index]) => [name, index])).toEqual(
    was.map(([name, index]) => [name, index]),
  );
  was.forEach(([name, index, errors], i) => {
    if (errors.length === 0) expect([name, index, now[i]?.[2]]).toEqual([name, index, []]);
  });
}

/** The GiB each /dev/xvdb data volume gets (eksctl's 80 GiB default when unset). */
function dataVolumeSizes(text: string): number[] {
  const sizes: number[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (value === null || typeof value !== 'object') return;
    const node = value as Json;
    if (node.volumeName === '/dev/xvdb') sizes.push(Number(node.volumeSize ?? 80));
    const ebs = node.ebs as Json | undefined;
    if (node.deviceName === '/dev/xvdb' && ebs?.volumeSize !== undefined) {
      sizes.push(ebsGiBFromQuantity(ebs.volumeSize as string) ?? NaN);
    }
    Object.values(node).forEach(walk);
  };
  parseAllDocuments(text).forEach((d) => walk(d.toJS()));
  return sizes;
}

function outcomeOf(result: RewriteResult): Outcome {
  if (result.skipped !== undefined) return 'skipped';
  if (result.targets.length > 0) return { updated: result.targets.map((t) => t.name) };
  if (result.missingDataVolumes.length > 0) {
    return { missing: result.missingDataVolumes.map((m) => m.label) };
  }
  const notBr = result.warnings.filter((w) => w.notBottlerocket);
  if (notBr.length > 0) {
    return { notBottlerocket: notBr.map((w) => /'([^']*)'/.exec(w.message)?.[1] ?? '') };
  }
  return 'nothing';
}

describe('real-world corpus', () => {
  it('has an expectation and a source for every file, and nothing else', () => {
    expect(corpusFiles).toEqual(Object.keys(EXPECTED).sort());
    for (const name of corpusFiles) {
      const source = sourceOf(name);
      expect(source.repository).toMatch(/^[\w-]+\/[\w.-]+$/);
      expect(source.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(source.path).not.toBe('');
      expect(source.license).not.toBe('');
    }
  });

  it('checks every Kubernetes and eksctl document in it against a real schema', () => {
    const checked = corpusFiles.flatMap((name) => validate(read(name)));
    const names = new Set(checked.map(([name]) => name));
    expect([...names].sort()).toEqual([
      'eksctl HEAD ClusterConfig v1alpha5',
      'karpenter HEAD EC2NodeClass v1',
      'karpenter v0.31.4 AWSNodeTemplate v1alpha1',
      'karpenter v0.37.8 EC2NodeClass v1beta1',
      'karpenter v1.0.14 EC2NodeClass v1',
      'karpenter v1.4.4 EC2NodeClass v1',
      'karpenter v1.5.0 EC2NodeClass v1',
    ]);
  });

  describe.each(corpusFiles)('%s', (name) => {
    const source = read(name);
    const expected = EXPECTED[name] ?? { outcome: 'nothing' };
    const result = rewriteManifest(source, OPTIONS);

    it('gives the expected outcome and warnings', () => {
      expect(outcomeOf(result)).toEqual(expected.outcome);
      const warnings = result.warnings.map((w) => `${w.line}: ${w.message}`);
      expect(warnings).toHaveLength(expected.warnings?.length ?? 0);
      (expected.warnings ?? []).forEach((pattern, i) => expect(warnings[i]).toMatch(pattern));
    });

    it('keeps every schema the file met, changes only data volume fields, and is idempotent', () => {
      expectValidityKept(source, result.content);
      if (result.skipped !== undefined) return;
      expect(dataWithoutDataVolumeFields(result.content)).toEqual(
        dataWithoutDataVolumeFields(source),
      );
      expect(rewriteManifest(result.content, OPTIONS).content).toBe(result.content);
    });

    it('makes no data volume smaller', () => {
      const before = dataVolumeSizes(source);
      const after = dataVolumeSizes(result.content);
      expect(after).toHaveLength(before.length);
      after.forEach((size, i) => expect(size).toBeGreaterThanOrEqual(before[i] ?? 0));
    });

    it('gives a snippet that makes the file a target when added', () => {
      for (const missing of result.missingDataVolumes) {
        expect(missing.snippet).toContain(`snapshotID: ${NEW_SNAPSHOT}`);
        expect(missing.dataGiB).toBeGreaterThanOrEqual(SIZE);
      }
    });
  });
});

/** Edits a corpus file the way users' real files differ from it; fails if the text is not there. */
function variant(name: string, from: string, to: string): string {
  const text = read(name);
  if (!text.includes(from)) throw new Error(`${name} has no ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

const EKSCTL_DATA_VOLUME = [
  '    volumeName: /dev/xvda',
  '    volumeSize: 4',
  '    additionalVolumes:',
  '      - volumeName: /dev/xvdb',
  '',
].join('\n');

const KARPENTER_MAPPINGS = [
  '  blockDeviceMappings:',
  '    - deviceName: /dev/xvda',
  '      ebs:',
  '        volumeSize: 4Gi',
  '        volumeType: gp3',
  '    - deviceName: /dev/xvdb',
  '      ebs:',
  '        volumeSize: 20Gi',
  '        volumeType: gp3',
  '',
].join('\n');

describe('variants of the corpus', () => {
  it("1. eksctl: an entry without volumeSize keeps eksctl's 80 GiB; a larger snapshot raises it", () => {
    const source = variant(
      'eksctl-20-bottlerocket.yaml',
      '    amiFamily: Bottlerocket\n    labels:',
      `    amiFamily: Bottlerocket\n${EKSCTL_DATA_VOLUME}    labels:`,
    );
    const result = rewriteManifest(source, OPTIONS);
    expect(result.targets.map((t) => [t.name, t.size])).toEqual([['ng1-public', undefined]]);
    expect(dataVolumeSizes(result.content)).toEqual([80]);
    expectValidityKept(source, result.content);
    const bigger = rewriteManifest(source, { ...OPTIONS, requiredSizeGiB: 120 });
    expect(dataVolumeSizes(bigger.content)).toEqual([120]);
    expectValidityKept(source, bigger.content);
  });

  it('2. eksctl amiFamily BottlerocketFips is Bottlerocket: rewritten, checked, no false warning', () => {
    const source = variant(
      'eksctl-20-bottlerocket.yaml',
      '    amiFamily: Bottlerocket\n    labels:',
      `    amiFamily: BottlerocketFips\n${EKSCTL_DATA_VOLUME}    labels:`,
    );
    const result = rewriteManifest(source, OPTIONS);
    expect(result.targets.map((t) => t.name)).toEqual(['ng1-public']);
    expect(result.warnings).toEqual([]);
    expectValidityKept(source, result.content);
    const double = source.replace('    volumeName: /dev/xvda\n    volumeSize: 4\n', '');
    expect(rewriteManifest(double, OPTIONS).warnings.map((w) => w.message)).toEqual([
      expect.stringContaining('would map /dev/xvdb twice'),
    ]);
  });

  it('3. Karpenter amiFamily Custom with a bottlerocket@ alias is Bottlerocket', () => {
    const source = variant(
      'karpenter-v1-custom-family-with-alias.yaml',
      '  userData: |',
      `${KARPENTER_MAPPINGS}  userData: |`,
    );
    const result = rewriteManifest(source, OPTIONS);
    expect(result.targets.map((t) => [t.name, t.size])).toEqual([['custom-family', '50Gi']]);
    expect(result.warnings).toEqual([]);
    expectValidityKept(source, result.content);
  });

  describe('4. volume-initialization-rate and the Karpenter version', () => {
    const source = read('karpenter-v1-bottlerocket.yaml');
    const withRate = { ...OPTIONS, volumeInitializationRate: 200 };
    const crdHint = (ref: string) =>
      karpenterVersionHints(parseDocument(stringify(karpenterCrdYamlData(ref))), 1);

    it('is rejected by the v1.0 and v1.4 CRDs and accepted from v1.5.0, so it is announced', () => {
      const result = rewriteManifest(source, withRate);
      expect(result.content).toContain('volumeInitializationRate: 200');
      const verdicts = validate(result.content).map(([name, , errors]) => [name, errors]);
      expect(verdicts).toEqual([
        [
          'karpenter v1.0.14 EC2NodeClass v1',
          [expect.stringContaining("'volumeInitializationRate'")],
        ],
        [
          'karpenter v1.4.4 EC2NodeClass v1',
          [expect.stringContaining("'volumeInitializationRate'")],
        ],
        ['karpenter v1.5.0 EC2NodeClass v1', []],
        ['karpenter HEAD EC2NodeClass v1', []],
      ]);
      expect(result.notices.map((n) => n.message)).toContain(
        "EC2NodeClass 'bottlerocket': volumeInitializationRate written; it needs Karpenter v1.5.0 or later (older versions reject the node class as having an unknown field)",
      );
    });

    it('is withheld, with a warning, when the repository holds the v1.4 CRD', () => {
      const hints = crdHint('v1.4.4');
      expect(hints).toEqual([expect.objectContaining({ supportsInitializationRate: false })]);
      const result = rewriteManifest(source, {
        ...withRate,
        karpenterVersions: hints.map((h) => ({ ...h, file: 'crds/ec2nodeclasses.yaml' })),
      });
      expect(result.content).not.toContain('volumeInitializationRate');
      expect(result.warnings.map((w) => w.message)).toEqual([
        "EC2NodeClass 'bottlerocket': volumeInitializationRate not written: the EC2NodeClass CRD (no v1 ebs.volumeInitializationRate in it) at crds/ec2nodeclasses.yaml:1 is a Karpenter older than v1.5.0, whose EC2NodeClass has no such field (the API server would reject the node class)",
      ]);
      expectValidityKept(source, result.content);
      expect(validate(result.content).every(([, , errors]) => errors.length === 0)).toBe(true);
    });

    it('is written without a notice when the repository holds the v1.5 or HEAD CRD', () => {
      for (const ref of ['v1.5.0', 'HEAD']) {
        const result = rewriteManifest(source, { ...withRate, karpenterVersions: crdHint(ref) });
        expect(result.content).toContain('volumeInitializationRate: 200');
        expect(result.notices).toEqual([]);
        expect(result.warnings).toEqual([]);
      }
    });

    it('reads a CRD in the same file', () => {
      const crd = stringify(karpenterCrdYamlData('v1.4.4'));
      const result = rewriteManifest(`${source}---\n${crd}`, withRate);
      expect(result.content).not.toContain('volumeInitializationRate');
      expect(result.karpenterVersions).toHaveLength(1);
    });
  });

  it('5. an AL2023 node class with a second EBS volume is left alone; update-targets forces it', () => {
    const source = read('karpenter-v1-multiple-ebs.yaml');
    expect(rewriteManifest(source, OPTIONS).content).toBe(source);
    const forced = rewriteManifest(source, { ...OPTIONS, targets: ['multiple-ebs'] });
    expect(forced.targets.map((t) => t.name)).toEqual(['multiple-ebs']);
    expect(forced.warnings.map((w) => w.message)).toEqual([
      expect.stringContaining('updated because update-targets names it'),
    ]);
    expectValidityKept(source, forced.content);
  });

  it('5. an AmazonLinux2 eksctl group with a /dev/xvdb volume is left alone', () => {
    const source = variant(
      'eksctl-05-advanced-nodegroups.yaml',
      '    amiFamily: AmazonLinux2\n',
      '    amiFamily: AmazonLinux2\n    additionalVolumes:\n      - volumeName: /dev/xvdb\n        volumeSize: 100\n',
    );
    expectValidityKept(source, source);
    const result = rewriteManifest(source, OPTIONS);
    expect(result.content).toBe(source);
    expect(result.warnings.filter((w) => w.notBottlerocket)).toHaveLength(1);
  });

  it('6. the implicit data volume: adding the snippet makes each file a valid target', () => {
    for (const name of [
      'eksctl-20-bottlerocket.yaml',
      'bottlerocket-sample-eksctl.yaml',
      'karpenter-v1-br-custom-userdata.yaml',
      'blueprints-karpenter.yaml',
    ]) {
      const source = read(name);
      const first = rewriteManifest(source, OPTIONS).missingDataVolumes[0];
      expect(first).toBeDefined();
      const doc = parseAllDocuments(source);
      const lines = source.split('\n');
      // Insert the snippet where the message says: in the group, or in the node class's spec.
      const at =
        first?.snippetKind === 'eksctl' ? (first.line ?? 1) : specLine(lines, first?.line ?? 1);
      const indent = first?.snippetKind === 'eksctl' ? '    ' : '  ';
      const snippet = (first?.snippet ?? '').split('\n').map((l) => indent + l);
      lines.splice(at, 0, ...snippet);
      const edited = lines.join('\n');
      expect(doc.length).toBe(parseAllDocuments(edited).length);
      expectValidityKept(source, edited);
      const result = rewriteManifest(edited, OPTIONS);
      expect(result.targets.length).toBeGreaterThan(0);
      expect(result.warnings).toEqual([]);
      expect(result.content).toBe(edited);
    }
  });

  it('7. an AWSNodeTemplate without metadata.name is named by its line', () => {
    const source = variant(
      'karpenter-v1alpha1-bottlerocket.yaml',
      'kind: AWSNodeTemplate\nmetadata:\n  name: my-provider\n',
      'kind: AWSNodeTemplate\n',
    );
    const result = rewriteManifest(source, OPTIONS);
    expect(result.targets.map((t) => t.name)).toEqual(['']);
    const dropped = source.replace(/^ {2}amiFamily: Bottlerocket\n/m, '');
    expect(rewriteManifest(dropped, OPTIONS).warnings[0]?.message).toMatch(
      /^AWSNodeTemplate without metadata.name \(line \d+\) sets no amiFamily/,
    );
  });
});

/** The line (1-based) after a Karpenter document's `spec:` key, searching from `from`. */
function specLine(lines: string[], from: number): number {
  const index = lines.findIndex((l, i) => i >= from - 1 && l === 'spec:');
  return index + 1;
}

describe('schema model', () => {
  it('rejects a field the CRD does not declare, except under metadata', () => {
    const [v14] = validatorsFor('karpenter.k8s.aws/v1', 'EC2NodeClass');
    const nodeClass = parseAllDocuments(read('karpenter-v1-bottlerocket.yaml'))[1]?.toJS() as Json;
    expect(v14?.check(nodeClass)).toEqual([]);
    const typo = structuredClone(nodeClass);
    (typo.spec as Json).blockDeviceMapping = [];
    expect(v14?.check(typo)).toEqual([expect.stringContaining("'blockDeviceMapping'")]);
    const labelled = structuredClone(nodeClass);
    (labelled.metadata as Json).labels = { team: 'a' };
    expect(v14?.check(labelled)).toEqual([]);
  });

  it('leaves objects that keep unknown fields open', () => {
    const schema = strictStructural({
      type: 'object',
      properties: {
        metadata: { type: 'object', properties: { name: { type: 'string' } } },
        open: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: {} },
        closed: { type: 'object', properties: {} },
        map: { type: 'object', additionalProperties: { type: 'string' } },
      },
    }) as { properties: Record<string, Json> };
    expect(schema.properties.metadata?.additionalProperties).toBeUndefined();
    expect(schema.properties.open?.additionalProperties).toBeUndefined();
    expect(schema.properties.closed?.additionalProperties).toBe(false);
    expect(schema.properties.map?.additionalProperties).toEqual({ type: 'string' });
  });

  it('rejects an eksctl field eksctl does not know', () => {
    const [eksctl] = validatorsFor('eksctl.io/v1alpha5', 'ClusterConfig');
    const config = parseDocument(read('eksctl-20-bottlerocket.yaml')).toJS() as Json;
    expect(eksctl?.check(config)).toEqual([]);
    const groups = config.nodeGroups as Json[];
    (groups[0] as Json).additionalVolumes = [{ volumeName: '/dev/xvdb', snapshotId: 'snap-1' }];
    expect(eksctl?.check(config)).toEqual([expect.stringContaining("'snapshotId'")]);
  });
});
